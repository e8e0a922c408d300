"""The chat messages a run sends upstream: instructions, the thread with its earlier runs' tool calls,
this run's own turns, truncation.

Messages are chat-completions messages. A user message with images has a list of content parts
(``text``, ``image_url`` as stored, and ``image_file`` placeholders that :mod:`pygentic.runtime.images`
turns into ``image_url`` parts before the request leaves); a message of text alone is a plain string.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pygentic.storage.tables import MessageRow, RunRow, RunStepRow

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
# What an image costs the model, as OpenAI counts it: 85 tokens at low detail, and for "high"/"auto" the
# 85 plus 170 per 512-pixel tile; four tiles (a 1024x1024 image) is the estimate without the image's size.
IMAGE_TOKENS_LOW = 85
IMAGE_TOKENS = 85 + 4 * 170


def _image_tokens(part: dict[str, Any]) -> int:
    image = part.get("image_url") or part.get("image_file") or {}
    return IMAGE_TOKENS_LOW if image.get("detail") == "low" else IMAGE_TOKENS


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """A model-independent estimate: about four characters per token, a few per message, and OpenAI's
    cost of an image part."""
    total = 0
    for m in messages:
        content = m.get("content") or ""
        images = 0
        if isinstance(content, list):
            text = "".join(p.get("text", "") for p in content if p.get("type") == "text")
            images = sum(_image_tokens(p) for p in content if p.get("type") in ("image_url", "image_file"))
        elif isinstance(content, str):
            text = content
        else:
            text = json.dumps(content)
        for call in m.get("tool_calls") or []:
            text += call["function"]["name"] + call["function"]["arguments"]
        total += TOKENS_PER_MESSAGE + images + (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
    return total


def estimate_text_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def message_text(row: MessageRow) -> str:
    """The text of a stored message, images as a short mention (how an assistant's own images read)."""
    parts = []
    for part in row.content:
        if part.get("type") == "text":
            parts.append(part["text"]["value"])
        elif part.get("type") == "image_url":
            parts.append(f"[image: {part['image_url'].get('url', '')}]")
        elif part.get("type") == "image_file":
            parts.append(f"[image file: {part['image_file'].get('file_id', '')}]")
    return "\n".join(parts)


def message_content(row: MessageRow) -> str | list[dict[str, Any]]:
    """What the model is given of a stored message.

    Only user messages carry image parts in chat completions; an assistant's images (a code interpreter
    chart) read as a mention. Text alone stays a string, as every chat server takes it.
    """
    has_images = any(p.get("type") in ("image_url", "image_file") for p in row.content)
    if row.role != "user" or not has_images:
        return message_text(row)
    parts: list[dict[str, Any]] = []
    for part in row.content:
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": part["text"]["value"]})
        elif kind == "image_url":
            image = part["image_url"]
            parts.append(
                {"type": "image_url", "image_url": {k: image[k] for k in ("url", "detail") if k in image}}
            )
        elif kind == "image_file":
            image = part["image_file"]
            parts.append(
                {
                    "type": "image_file",
                    "image_file": {k: image[k] for k in ("file_id", "detail") if k in image},
                }
            )
    return parts


@dataclass
class Turn:
    """Messages that stay together through truncation: one thread message, or an assistant message with
    tool calls followed by their outputs (a chat server refuses a ``tool`` message without its call).
    ``counts`` is how many thread messages it is for ``last_messages`` (tool history counts none)."""

    messages: list[dict[str, Any]]
    counts: int = 1
    created_at: int = 0


@dataclass
class Conversation:
    """The parts of a prompt: the system text, the thread's history (earlier messages and earlier runs'
    tool calls) and this run's turns."""

    system: str
    history: list[Turn]
    run_turns: list[dict[str, Any]] = field(default_factory=list)

    def messages(self) -> list[dict[str, Any]]:
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + [m for turn in self.history for m in turn.messages] + self.run_turns


def _tool_turn(step: RunStepRow) -> list[dict[str, Any]] | None:
    """A completed tool_calls step as the model saw it: its calls, then their outputs (None when a call
    has no output: a run that expired or was cancelled while waiting)."""
    # A function call as recorded; a built-in tool's call as the model made it (its `_model` view).
    calls = [
        (c["id"], c["function"] if c.get("type") == "function" else c.get("_model"))
        for c in step.step_details.get("tool_calls", [])
    ]
    if not calls or any(view is None or view.get("output") is None for _, view in calls):
        return None
    turn: list[dict[str, Any]] = [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": view["name"], "arguments": view["arguments"]},
                }
                for call_id, view in calls
            ],
        }
    ]
    turn.extend(
        {"role": "tool", "tool_call_id": call_id, "content": view["output"]} for call_id, view in calls
    )
    return turn


def _run_history(steps: Iterable[RunStepRow], by_id: dict[str, MessageRow]) -> list[Turn]:
    """An earlier run's turns rebuilt from its steps, in order: its messages and its tool calls."""
    turns = []
    for step in steps:
        if step.type == "message_creation":
            message = by_id.get(step.step_details.get("message_creation", {}).get("message_id", ""))
            if message is not None:
                content = message_content(message)
                turns.append(Turn([{"role": message.role, "content": content}], 1, message.created_at))
        elif step.type == "tool_calls":
            messages = _tool_turn(step)
            if messages is not None:
                turns.append(Turn(messages, 0, step.created_at))
    return turns


def build_conversation(
    run: RunRow, thread_messages: list[MessageRow], thread_steps: list[RunStepRow]
) -> Conversation:
    """Assemble the prompt of ``run``'s next turn.

    ``thread_messages`` are the thread's messages in order and ``thread_steps`` the steps of its runs in
    order. A run's messages are rebuilt from its steps, so its tool calls and their outputs sit where the
    model made them: a message_creation step is its message, a tool_calls step an assistant message with
    tool calls followed by their outputs. Earlier runs go in the history where their first message is (by
    time when none of their messages is left); ``run``'s own steps are its turns.
    """
    by_id = {m.id: m for m in thread_messages}
    steps_of: dict[str, list[RunStepRow]] = defaultdict(list)
    for step in thread_steps:
        steps_of[step.run_id].append(step)
    history: list[Turn] = []
    placed = {run.id}
    for m in thread_messages:
        if m.run_id in placed:
            continue
        if m.run_id is not None and m.run_id in steps_of:
            placed.add(m.run_id)
            history.extend(_run_history(steps_of[m.run_id], by_id))
        else:
            history.append(Turn([{"role": m.role, "content": message_content(m)}], 1, m.created_at))
    for run_id, steps in steps_of.items():  # runs none of whose messages is left: their tool calls
        if run_id in placed:
            continue
        for turn in _run_history(steps, by_id):
            at = next((i for i, t in enumerate(history) if t.created_at > turn.created_at), len(history))
            history.insert(at, turn)
    turns = [m for turn in _run_history(steps_of.get(run.id, ()), by_id) for m in turn.messages]
    return Conversation(system=run.instructions or "", history=history, run_turns=turns)


def truncate(conversation: Conversation, strategy: dict[str, Any] | None, budget: int | None) -> Conversation:
    """Apply the run's truncation strategy.

    ``last_messages``: keep the thread's last N messages (and the tool calls made among them). ``auto``
    (the default): drop the oldest turns while the prompt exceeds ``budget`` tokens (the most recent turn
    always stays). Tool history is never cut away from its call.
    """
    history = list(conversation.history)
    kind = (strategy or {}).get("type", "auto")
    if kind == "last_messages":
        keep = (strategy or {}).get("last_messages")
        if keep is not None:
            history = _last_messages(history, keep)
    trimmed = Conversation(conversation.system, history, conversation.run_turns)
    if budget is not None:
        while len(trimmed.history) > 1 and estimate_tokens(trimmed.messages()) > budget:
            trimmed.history.pop(0)
    return trimmed


def _last_messages(history: list[Turn], keep: int) -> list[Turn]:
    """The turns from the ``keep``-th last thread message on, with the tool calls that led to it (none
    when ``keep`` is 0)."""
    if keep <= 0:
        return []
    seen = 0
    for i in range(len(history) - 1, -1, -1):
        seen += history[i].counts
        if seen >= keep:
            while i > 0 and history[i - 1].counts == 0:
                i -= 1
            return history[i:]
    return history
