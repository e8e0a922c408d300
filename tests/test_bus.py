"""The event bus: fan-out, slow subscribers cut off, no leftovers."""

from __future__ import annotations

import asyncio

from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import runs_pb2
from pygentic.runtime.bus import EventBus
from pygentic.runtime.coalesce import DEFAULT_COALESCE_AFTER_S
from pygentic.runtime.pg_bus import PostgresEventBus


def event(i: int) -> runs_pb2.RunEvent:
    return runs_pb2.RunEvent(event=f"e{i}")


async def test_fan_out_and_end() -> None:
    bus = EventBus()
    a, b = bus.subscribe("run_1"), bus.subscribe("run_1")
    other = bus.subscribe("run_2")
    for i in range(3):
        bus.publish("run_1", event(i))
    bus.end("run_1")
    assert [e.event async for e in a.events()] == ["e0", "e1", "e2"]
    assert [e.event async for e in b.events()] == ["e0", "e1", "e2"]
    assert not other.buffer and not other.closed
    for s in (a, b, other):
        bus.unsubscribe(s)
    assert bus.subscriber_count() == 0


async def test_a_slow_subscriber_is_cut_off_without_holding_events() -> None:
    bus = EventBus(max_buffer=5)
    async with bus.subscribe("run_1") as slow:
        fast = bus.subscribe("run_1")
        for i in range(20):
            bus.publish("run_1", event(i))
            if fast.buffer:
                fast.take()  # the fast one keeps up
        assert slow.overflowed and slow.closed and len(slow.buffer) == 5
        assert not fast.overflowed
        bus.publish("run_1", event(99))
        assert len(slow.buffer) == 5  # nothing more is held for it
    assert bus.subscriber_count("run_1") == 1
    bus.unsubscribe(fast)
    assert bus.subscriber_count() == 0


def text_delta(message_id: str, text: str, index: int = 0) -> runs_pb2.RunEvent:
    part = res.MessageDeltaContent(index=index, type="text", text=res.Text(value=text))
    return runs_pb2.RunEvent(
        event="thread.message.delta",
        message_delta=res.MessageDelta(
            id=message_id, object="thread.message.delta", delta=res.MessageDeltaBody(content=[part])
        ),
    )


def described(e: runs_pb2.RunEvent) -> tuple[str, ...]:
    if e.event != "thread.message.delta":
        return (e.event,)
    part = e.message_delta.delta.content[0]
    return (e.event, e.message_delta.id, str(part.index), part.text.value)


async def test_a_lagging_subscriber_gets_waiting_text_deltas_merged() -> None:
    bus = EventBus()
    annotated = text_delta("msg_a", "[1]")
    annotated.message_delta.delta.content[0].text.annotations.add(type="file_citation", text="[1]")
    published = [
        text_delta("msg_a", "Hel"),
        text_delta("msg_a", "lo "),
        text_delta("msg_a", "world"),
        annotated,  # carries an annotation: sent as it is
        text_delta("msg_a", "!"),
        text_delta("msg_a", "image next", index=1),  # another content part
        event(1),
        text_delta("msg_b", "x"),
        text_delta("msg_c", "y"),  # another message
    ]
    async with bus.subscribe("run_1") as lagging:
        for e in published:
            bus.publish("run_1", e)
        bus.end("run_1")
        await asyncio.sleep(DEFAULT_COALESCE_AFTER_S * 2)  # the subscriber is behind
        got = [described(e) async for e in lagging.events()]
    assert got == [
        ("thread.message.delta", "msg_a", "0", "Hello world"),
        ("thread.message.delta", "msg_a", "0", "[1]"),
        ("thread.message.delta", "msg_a", "0", "!"),
        ("thread.message.delta", "msg_a", "1", "image next"),
        ("e1",),
        ("thread.message.delta", "msg_b", "0", "x"),
        ("thread.message.delta", "msg_c", "0", "y"),
    ]
    assert published[0].message_delta.delta.content[0].text.value == "Hel"  # shared events untouched


async def test_a_subscriber_that_keeps_up_gets_every_delta_unmerged() -> None:
    bus = EventBus()
    async with bus.subscribe("run_1") as reader:
        stream = reader.events().__aiter__()
        for text in ("a", "b", "c"):
            bus.publish("run_1", text_delta("msg_a", text))
            assert described(await stream.__anext__())[-1] == text  # nothing is held back
        for text in ("d", "e", "f"):  # a burst taken at once, before any of it waited coalesce_after
            bus.publish("run_1", text_delta("msg_a", text))
        bus.end("run_1")
        assert [described(e)[-1] async for e in stream] == ["d", "e", "f"]


async def test_the_shared_bus_delivers_bursts_in_order_duplicates_and_large_events_included(
    pg_database: str,
) -> None:
    # Bursts go out as one statement of many notifications: PostgreSQL folds identical notifications of
    # one transaction, so identical events must still arrive once each, in order; so must a large event.
    sender = PostgresEventBus(pg_database, "sender")
    receiver = PostgresEventBus(pg_database, "receiver")
    await sender.start()
    await receiver.start()
    try:
        big = text_delta("msg_a", "x" * 20_000)
        published = [text_delta("msg_a", "same") for _ in range(50)] + [big]
        published += [text_delta("msg_a", f"t{i}") for i in range(300)]
        async with receiver.subscribe("run_1") as subscription:
            for e in published:
                sender.publish("run_1", e)
            sender.end("run_1")
            got = [e async for e in subscription.events()]  # ends when the "end" arrives
        texts = "".join(e.message_delta.delta.content[0].text.value for e in got)
        assert texts == "".join(e.message_delta.delta.content[0].text.value for e in published)
        assert len(got) <= len(published)  # merged only when the reader lags (it may here)
    finally:
        await sender.close()
        await receiver.close()


async def test_coalescing_can_be_turned_off() -> None:
    bus = EventBus(coalesce_after=0.0)
    async with bus.subscribe("run_1") as lagging:
        for text in ("a", "b", "c"):
            bus.publish("run_1", text_delta("msg_a", text))
        bus.end("run_1")
        await asyncio.sleep(0.1)
        assert [described(e)[-1] async for e in lagging.events()] == ["a", "b", "c"]
