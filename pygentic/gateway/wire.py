"""Protobuf messages <-> the OpenAI JSON wire format.

Objects go out with every key present: ``null`` for an unset optional field or message, integers for 64-bit
timestamps. "Union" messages discriminated by ``type`` (a tool, a content part, step details, a tool call)
carry only the variant their ``type`` names, as OpenAI sends them. Deltas carry only what changed.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from pygentic.errors import invalid
from pygentic.gateway.json_shape import check_shape

WELL_KNOWN = ("google.protobuf.Value", "google.protobuf.Struct", "google.protobuf.ListValue")
_INT64 = (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT64)

# Union messages: the fields always present; any other field appears only when its name is the `type`.
UNIONS: dict[str, frozenset[str]] = {
    "pygentic.v1.Tool": frozenset({"type"}),
    "pygentic.v1.MessageContent": frozenset({"type"}),
    "pygentic.v1.MessageDeltaContent": frozenset({"type", "index"}),
    "pygentic.v1.StepDetails": frozenset({"type"}),
    "pygentic.v1.ToolCall": frozenset({"type", "id", "index"}),
    "pygentic.v1.Annotation": frozenset({"type", "text", "start_index", "end_index", "index"}),
    "pygentic.v1.CodeInterpreterOutput": frozenset({"type", "index"}),
}
ALWAYS_IN_DELTAS = frozenset({"index"})

# Keys OpenAI leaves out rather than sending null or []: a chat message's tool_calls when the model called
# none, a tool call's keys it does not use (index outside a chunk; id and type after a call's first
# fragment) and what a chunk's delta does not add.
OMITTED_KEYS: dict[str, frozenset[str]] = {
    "pygentic.v1.ChatCompletionMessage": frozenset({"tool_calls"}),
    "pygentic.v1.ChatToolCall": frozenset({"index", "id", "type"}),
    "pygentic.v1.ChatFunctionCall": frozenset({"name", "arguments"}),
    "pygentic.v1.ChatDelta": frozenset({"role", "content", "refusal", "tool_calls"}),
}

# Flat unions (the Responses API's style): the fields each ``type`` carries, all at the top level; fields of
# other types are left out. An unset optional field of the type is ``null``.
_RESPONSE_EVENT = ("type", "sequence_number")
_IN_ITEM = (*_RESPONSE_EVENT, "item_id", "output_index")
FLAT_UNIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "pygentic.v1.ResponseItem": {
        "message": ("type", "id", "status", "role", "content"),
        "function_call": ("type", "id", "status", "call_id", "name", "arguments"),
        "function_call_output": ("type", "id", "status", "call_id", "output"),
        "file_search_call": ("type", "id", "status", "queries", "results"),
        "code_interpreter_call": ("type", "id", "status", "code", "container_id", "outputs"),
    },
    "pygentic.v1.ResponseContent": {
        "output_text": ("type", "text", "annotations", "logprobs"),
        "input_text": ("type", "text"),
        "input_image": ("type", "image_url", "file_id", "detail"),
        "refusal": ("type", "refusal"),
    },
    "pygentic.v1.ResponseTool": {
        "function": ("type", "name", "description", "parameters", "strict"),
        "file_search": ("type", "vector_store_ids", "max_num_results", "ranking_options"),
        "code_interpreter": ("type", "container"),
    },
    "pygentic.v1.ResponseEvent": {
        **dict.fromkeys(
            (
                "response.created",
                "response.in_progress",
                "response.completed",
                "response.failed",
                "response.incomplete",
            ),
            (*_RESPONSE_EVENT, "response"),
        ),
        **dict.fromkeys(
            ("response.output_item.added", "response.output_item.done"),
            (*_RESPONSE_EVENT, "output_index", "item"),
        ),
        **dict.fromkeys(
            ("response.content_part.added", "response.content_part.done"),
            (*_IN_ITEM, "content_index", "part"),
        ),
        "response.output_text.delta": (*_IN_ITEM, "content_index", "delta", "logprobs"),
        "response.output_text.done": (*_IN_ITEM, "content_index", "text", "logprobs"),
        "response.function_call_arguments.delta": (*_IN_ITEM, "delta"),
        "response.function_call_arguments.done": (*_IN_ITEM, "arguments"),
        **dict.fromkeys(
            (
                "response.file_search_call.in_progress",
                "response.file_search_call.searching",
                "response.file_search_call.completed",
                "response.code_interpreter_call.in_progress",
                "response.code_interpreter_call.interpreting",
                "response.code_interpreter_call.completed",
            ),
            _IN_ITEM,
        ),
        "response.code_interpreter_call_code.delta": (*_IN_ITEM, "delta"),
        "response.code_interpreter_call_code.done": (*_IN_ITEM, "code"),
        "error": (*_RESPONSE_EVENT, "code", "message", "param"),
    },
}


def to_openai(message: Message, *, delta: bool = False) -> dict[str, Any]:
    """``message`` as OpenAI JSON; ``delta=True`` leaves out unset and zero-valued fields."""
    out: dict[str, Any] = {}
    full_name = message.DESCRIPTOR.full_name
    common = UNIONS.get(full_name)
    kind = getattr(message, "type", None) if common is not None else None
    flat = FLAT_UNIONS.get(full_name)
    carried = flat.get(getattr(message, "type", ""), ()) if flat is not None else None
    omitted = OMITTED_KEYS.get(full_name, frozenset())
    for field in message.DESCRIPTOR.fields:
        name = field.name
        if common is not None and name not in common and name != kind:
            continue
        if carried is not None and name not in carried:
            continue
        if name in omitted and (
            not getattr(message, name) if field.is_repeated else not message.HasField(name)
        ):
            continue
        value = getattr(message, name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            if delta and not value:
                continue
            out[name] = dict(value)
        elif field.is_repeated:
            if delta and not value:
                continue
            if field.message_type is not None:
                out[name] = [_message_value(item, delta) for item in value]
            else:
                out[name] = list(value)
        elif field.message_type is not None:
            if not message.HasField(name):
                if not delta and common is None:
                    out[name] = None
                continue
            out[name] = _message_value(value, delta)
        elif field.has_presence:
            if not message.HasField(name):
                if not delta and common is None:
                    out[name] = None
                continue
            out[name] = _scalar(field, value)
        else:
            if delta and name not in ALWAYS_IN_DELTAS and value == field.default_value:
                continue
            out[name] = _scalar(field, value)
    return out


def _is_set(message: Message, field: FieldDescriptor) -> bool:
    """A repeated field with items, or a field with presence that was given."""
    return bool(getattr(message, field.name)) if field.is_repeated else message.HasField(field.name)


def _message_value(value: Message, delta: bool) -> Any:
    if value.DESCRIPTOR.full_name in WELL_KNOWN:
        return json_format.MessageToDict(value)
    return to_openai(value, delta=delta)


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    if field.type in _INT64:
        return int(value)
    return value


def parse_request(body: dict[str, Any], message: Message) -> Message:
    """Fill ``message`` from a JSON body whose keys are the proto field names (= OpenAI's).

    ``null`` values mean "not given". An unknown key or a value of the wrong JSON type, at any depth, is
    INVALID_ARGUMENT naming the field path in OpenAI's words (:mod:`pygentic.gateway.json_shape`).
    """
    clean = check_shape(body, message.DESCRIPTOR)
    try:
        json_format.ParseDict(clean, message)
    except RecursionError as exc:
        raise invalid(_first_key(clean), "is nested too deeply.") from exc
    except (json_format.ParseError, ValueError, TypeError) as exc:
        # The shape check leaves nothing ParseDict refuses that a client could send; keep the answer a
        # 400 that names the field, without protobuf's wording, should one slip through.
        raise invalid(_first_key(clean), "is not a valid value.") from exc
    return message


def _first_key(body: dict[str, Any]) -> str:
    return next(iter(body), "body")


def sse_data(data: Any) -> bytes:
    """One server-sent event of a ``data:`` line alone (chat completions' streams)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


def sse_event(name: str, data: Any) -> bytes:
    """One server-sent event: ``event:`` and ``data:`` lines (never an ``id:`` field)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"event: {name}\ndata: {payload}\n\n".encode()
