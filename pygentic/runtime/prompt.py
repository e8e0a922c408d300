"""The chat messages a run sends upstream: instructions, the thread, this run's own turns, truncation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pygentic.storage.tables import MessageRow, RunRow, RunStepRow

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """A model-independent estimate: about four characters per token plus a few per message."""
    total = 0
    for m in messages:
        text = m.get("content") or ""
        if not isinstance(text, str):
            text = json.dumps(text)
        for call in m.get("tool_calls") or []:
            text += call["function"]["name"] + call["function"]["arguments"]
        total += TOKENS_PER_MESSAGE + (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
    return total


def estimate_text_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def message_text(row: MessageRow) -> str:
    """The text of a stored message (image parts become a short placeholder)."""
    parts = []
    for part in row.content:
        if part.get("type") == "text":
            parts.append(part["text"]["value"])
        elif part.get("type") == "image_url":
            parts.append(f"[image: {part['image_url'].get('url', '')}]")
        elif part.get("type") == "image_file":
            parts.append(f"[image file: {part['image_file'].get('file_id', '')}]")
    return "\n".join(parts)


@dataclass
class Conversation:
    """The parts of a prompt: the system text, the thread's earlier messages and this run's turns."""

    system: str
    history: list[dict[str, Any]]
    run_turns: list[dict[str, Any]]

    def messages(self) -> list[dict[str, Any]]:
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + self.history + self.run_turns


def build_conversation(
    run: RunRow, thread_messages: list[MessageRow], run_steps: list[RunStepRow]
) -> Conversation:
    """Assemble the prompt of ``run``'s next turn.

    ``thread_messages`` are the thread's messages in order; those this run wrote are rebuilt, in order, from
    its ``run_steps`` (a message_creation step is an assistant message, a tool_calls step an assistant
    message with tool calls followed by their outputs).
    """
    by_id = {m.id: m for m in thread_messages}
    history = [{"role": m.role, "content": message_text(m)} for m in thread_messages if m.run_id != run.id]
    turns: list[dict[str, Any]] = []
    for step in run_steps:
        details = step.step_details
        if step.type == "message_creation":
            message = by_id.get(details.get("message_creation", {}).get("message_id", ""))
            if message is not None:
                turns.append({"role": "assistant", "content": message_text(message)})
        elif step.type == "tool_calls":
            # A function call as recorded; a built-in tool's call as the model made it (its `_model` view).
            calls = [
                (c["id"], c["function"] if c.get("type") == "function" else c.get("_model"))
                for c in details.get("tool_calls", [])
            ]
            if not calls or any(view is None or view.get("output") is None for _, view in calls):
                continue
            turns.append(
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
            )
            for call_id, view in calls:
                turns.append({"role": "tool", "tool_call_id": call_id, "content": view["output"]})
    return Conversation(system=run.instructions or "", history=history, run_turns=turns)


def truncate(conversation: Conversation, strategy: dict[str, Any] | None, budget: int | None) -> Conversation:
    """Apply the run's truncation strategy.

    ``last_messages``: keep the thread's last N messages. ``auto`` (the default): drop the oldest thread
    messages while the prompt exceeds ``budget`` tokens (the most recent message always stays).
    """
    history = list(conversation.history)
    kind = (strategy or {}).get("type", "auto")
    if kind == "last_messages":
        keep = (strategy or {}).get("last_messages")
        if keep is not None:
            history = history[-keep:] if keep > 0 else []
    trimmed = Conversation(conversation.system, history, conversation.run_turns)
    if budget is not None:
        while len(trimmed.history) > 1 and estimate_tokens(trimmed.messages()) > budget:
            trimmed.history.pop(0)
    return trimmed
