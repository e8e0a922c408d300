"""Tool calls from text (local and generate_text models) and from streamed fragments (OpenAI-compatible)."""

from __future__ import annotations

import json

import pytest

from pygentic.connectors.llm import ToolCallDelta
from pygentic.connectors.tool_text import may_be_tool_call, parse_tool_calls
from pygentic.runtime.toolcalls import ToolCallAssembler

NAMES = {"get_weather", "add"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>',
            [("get_weather", {"city": "Oslo"})],
        ),
        (
            '<tool_call>{"name": "add", "arguments": {"a": 1}}</tool_call>\n<tool_call>{"name": "add", '
            '"arguments": {"a": 2}}</tool_call>',
            [("add", {"a": 1}), ("add", {"a": 2})],
        ),
        ('<tool_call>{"name": "add", "arguments": {"a": 3}}', [("add", {"a": 3})]),  # unterminated at the end
        (
            '```json\n{"name": "get_weather", "parameters": {"city": "Rome"}}\n```',
            [("get_weather", {"city": "Rome"})],
        ),
        (
            '{"name": "get_weather", "arguments": "{\\"city\\": \\"Lima\\"}"}',
            [("get_weather", {"city": "Lima"})],
        ),
        (
            '[{"name": "add", "arguments": {}}, {"function": {"name": "add", "arguments": {"b": 2}}}]',
            [("add", {}), ("add", {"b": 2})],
        ),
        ("The weather is nice today.", []),
        ('{"name": "unknown_tool", "arguments": {}}', []),
        ('{"answer": 42}', []),
    ],
)
def test_parse_tool_calls(text: str, expected: list[tuple[str, dict]]) -> None:
    calls = parse_tool_calls(text, NAMES)
    assert [(name, json.loads(arguments)) for name, arguments in calls] == expected


def test_text_that_may_still_become_a_call_is_held_back() -> None:
    assert (
        may_be_tool_call("")
        and may_be_tool_call("  <tool")
        and may_be_tool_call("{")
        and may_be_tool_call("``")
    )
    assert not may_be_tool_call("Hello") and not may_be_tool_call("<b>")


def test_assembler_keeps_ids_and_tolerates_repeats() -> None:
    assembler = ToolCallAssembler()
    first, new, name, args = assembler.add(
        ToolCallDelta(index=0, id="call_a", name="get_weather", arguments="")
    )
    assert new and first.id == "call_a" and name == "get_weather" and first.position == 0
    _, new, name, args = assembler.add(
        ToolCallDelta(index=0, id="call_a", name="get_weather", arguments='{"ci')
    )
    assert not new and name == "" and args == '{"ci'
    assembler.add(ToolCallDelta(index=0, arguments='ty": "Oslo"}'))
    second, new, _, _ = assembler.add(ToolCallDelta(index=1, id="7f3a", name="add", arguments="{}"))
    assert new and second.id == "call_7f3a" and second.position == 1  # upstream id kept, call_-prefixed
    third, new, _, _ = assembler.add(ToolCallDelta(index=1, id="other", name="add", arguments="{}"))
    assert new and third.position == 2  # same index, another id: a server that numbers every call 1
    fourth, new, _, _ = assembler.add(ToolCallDelta(index=5, name="get_weather", arguments="{}"))
    assert new and fourth.id.startswith("call_") and len(fourth.id) > 10  # no upstream id: one is made
    assert (first.name, first.arguments) == ("get_weather", '{"city": "Oslo"}')
