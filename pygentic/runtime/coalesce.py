"""Merging text deltas a subscriber has not read yet.

A client slower than the model (a phone, a busy proxy, a loaded server) finds several
``thread.message.delta`` events waiting for it. Sending each costs a gRPC message or an SSE event; the
client only appends their text. When the next event has waited ``[runs] coalesce_after`` seconds or
more (the client is behind; default :data:`DEFAULT_COALESCE_AFTER_S`) and the deltas right behind it
each carry one plain text part of the same message and the same content index, they are sent as one
delta with the joined text. Nothing is held back to wait for more: an event goes out as soon as the
client takes it, and a client that keeps up gets every delta as it was published.
"""

from __future__ import annotations

import collections

from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import runs_pb2

MESSAGE_DELTA = "thread.message.delta"
MAX_MERGED_CHARS = 16_384  # keep a merged event small enough to flush promptly
DEFAULT_COALESCE_AFTER_S = 0.05  # an event waiting this long means the client is behind


def _text_part(event: runs_pb2.RunEvent) -> res.MessageDeltaContent | None:
    """The event's single plain text part (no annotations, no role), if that is all it carries."""
    if event.event != MESSAGE_DELTA:
        return None
    delta = event.message_delta.delta
    if len(delta.content) != 1 or delta.HasField("role"):
        return None
    part = delta.content[0]
    if part.type != "text" or part.text.annotations or part.HasField("refusal"):
        return None
    return part


def take_coalesced(buffer: collections.deque[runs_pb2.RunEvent]) -> tuple[runs_pb2.RunEvent, int]:
    """Pop the next event from ``buffer`` joined with the mergeable text deltas right behind it; the
    event and how many were popped. The events in the buffer are shared with other subscribers: a merge
    builds a new event."""
    first = buffer.popleft()
    part = _text_part(first)
    if part is None or not buffer:
        return first, 1
    texts = [part.text.value]
    size = len(texts[0])
    message_id = first.message_delta.id
    while buffer and size < MAX_MERGED_CHARS:
        following = _text_part(buffer[0])
        if following is None or following.index != part.index or buffer[0].message_delta.id != message_id:
            break
        buffer.popleft()
        texts.append(following.text.value)
        size += len(following.text.value)
    if len(texts) == 1:
        return first, 1
    merged = res.MessageDeltaContent(index=part.index, type="text", text=res.Text(value="".join(texts)))
    event = runs_pb2.RunEvent(
        event=MESSAGE_DELTA,
        message_delta=res.MessageDelta(
            id=message_id,
            object=first.message_delta.object,
            delta=res.MessageDeltaBody(content=[merged]),
        ),
    )
    return event, len(texts)
