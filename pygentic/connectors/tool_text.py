"""Tool calls for models without a native tool-call format: offered in the prompt, parsed from text.

Recognized forms: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (one or more), a fenced
JSON block, and a bare JSON object or list with ``name`` and ``arguments`` (or ``parameters``).
"""

from __future__ import annotations

import json
import re
from typing import Any

TAG_RE = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
FENCE_RE = re.compile(r"```(?:json|tool_call)?\s*(.*?)```", re.S)
OPENINGS = ("<tool_call>", "{", "[", "```")


def tools_prompt(tools: list[dict[str, Any]]) -> str:
    """The system-prompt text that offers ``tools`` (OpenAI function tools) to the model."""
    lines = [
        "You can call these functions. To call one, answer with only",
        '<tool_call>{"name": "<function name>", "arguments": {<arguments as JSON>}}</tool_call>',
        "and nothing else. Otherwise answer normally.",
        "Functions:",
    ]
    for tool in tools:
        f = tool["function"]
        lines.append(
            json.dumps(
                {
                    "name": f["name"],
                    "description": f.get("description", ""),
                    "parameters": f.get("parameters", {}),
                }
            )
        )
    return "\n".join(lines)


def may_be_tool_call(text: str) -> bool:
    """Could text starting like this still turn out to be a tool call (so it must not be streamed yet)?"""
    head = text.lstrip()
    if not head:
        return True
    return any(head.startswith(o) or o.startswith(head) for o in OPENINGS)


def _as_call(obj: Any, names: set[str]) -> tuple[str, str] | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or (names and name not in names):
        return None
    arguments = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            json.loads(arguments)
        except ValueError:
            arguments = json.dumps({"input": arguments})
        return name, arguments
    return name, json.dumps(arguments)


def _calls_in(raw: str, names: set[str]) -> list[tuple[str, str]]:
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    items = data if isinstance(data, list) else [data]
    calls = [_as_call(item, names) for item in items]
    return [c for c in calls if c is not None] if all(c is not None for c in calls) else []


def parse_tool_calls(text: str, names: set[str]) -> list[tuple[str, str]]:
    """The ``(name, arguments JSON)`` calls in ``text``; empty when it is an ordinary answer."""
    tagged = TAG_RE.findall(text)
    if tagged:
        return [c for raw in tagged for c in _calls_in(raw, names)]
    for raw in FENCE_RE.findall(text):
        calls = _calls_in(raw.strip(), names)
        if calls:
            return calls
    return _calls_in(text.strip(), names)
