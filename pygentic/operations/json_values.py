"""Checks on the free-form JSON a request carries (tool schemas, response formats, content, tool choice).

Every ``google.protobuf.Value`` / ``Struct`` in a request must hold JSON that can be stored and sent back:
finite numbers (NaN and Infinity are not JSON) and a bounded nesting depth (protobuf refuses to decode
messages nested about 100 levels deep, so an unbounded value would be stored but never readable again).
Both front doors call :func:`check_request_values` on every request message before any operation runs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.message import Message

from pygentic.errors import invalid

# Levels of objects and arrays inside one JSON-valued field. A JSON level costs up to three protobuf levels
# (Struct, map entry, Value); 28 keeps every stored object (and the event carrying it) inside protobuf's
# limit of 100, and admits the 10 levels of nesting OpenAI's strict schemas allow.
MAX_JSON_DEPTH = 28
MAX_SCHEMA_BYTES = 100_000

_STRUCT = struct_pb2.Struct.DESCRIPTOR.full_name
_VALUE = struct_pb2.Value.DESCRIPTOR.full_name
_LIST = struct_pb2.ListValue.DESCRIPTOR.full_name
_JSON_TYPES = (_STRUCT, _VALUE, _LIST)


def check_request_values(message: Message, prefix: str = "") -> None:
    """Every JSON value inside ``message`` (recursively) is finite and at most :data:`MAX_JSON_DEPTH` deep.

    Raises INVALID_ARGUMENT naming the field, e.g. ``tools[0].function.parameters.properties.x``.
    """
    stack: list[tuple[Message, str]] = [(message, prefix)]
    while stack:
        current, path = stack.pop()
        for field, value in current.ListFields():
            where = f"{path}.{field.name}" if path else field.name
            if field.message_type is None:
                continue
            if field.message_type.GetOptions().map_entry:
                entry_value = field.message_type.fields_by_name["value"]
                if entry_value.message_type is not None:
                    for key, item in value.items():
                        stack.append((item, f"{where}.{key}"))
                continue
            items = list(enumerate(value)) if field.is_repeated else [(None, value)]
            for index, item in items:
                item_path = where if index is None else f"{where}[{index}]"
                if field.message_type.full_name in _JSON_TYPES:
                    _check_proto_json(item, item_path)
                else:
                    stack.append((item, item_path))


def _check_proto_json(root: Message, param: str) -> None:
    """Walk a Struct / Value / ListValue without recursion (its depth is what is being checked)."""
    stack: list[tuple[Any, int, str]] = [(root, 0, param)]
    while stack:
        node, depth, where = stack.pop()
        name = node.DESCRIPTOR.full_name
        if name == _VALUE:
            kind = node.WhichOneof("kind")
            if kind == "number_value":
                if not math.isfinite(node.number_value):
                    raise invalid(where, "numbers must be finite (NaN and Infinity are not valid JSON).")
            elif kind == "struct_value":
                stack.append((node.struct_value, depth, where))
            elif kind == "list_value":
                stack.append((node.list_value, depth, where))
            continue
        depth += 1
        if depth > MAX_JSON_DEPTH:
            raise invalid(param, f"is nested more than {MAX_JSON_DEPTH} levels deep.")
        if name == _STRUCT:
            for key, value in node.fields.items():
                stack.append((value, depth, f"{where}.{key}"))
        else:
            for i, value in enumerate(node.values):
                stack.append((value, depth, f"{where}[{i}]"))


def check_json(value: Any, param: str) -> None:
    """The same rules for a plain Python JSON value (finite numbers, bounded depth), without recursion."""
    stack: list[tuple[Any, int, str]] = [(value, 0, param)]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, float):
            if not math.isfinite(node):
                raise invalid(where, "numbers must be finite (NaN and Infinity are not valid JSON).")
        elif isinstance(node, dict | list):
            if depth + 1 > MAX_JSON_DEPTH:
                raise invalid(param, f"is nested more than {MAX_JSON_DEPTH} levels deep.")
            if isinstance(node, dict):
                stack.extend((v, depth + 1, f"{where}.{k}") for k, v in node.items())
            else:
                stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(node))


def check_json_schema(schema: Any, param: str) -> None:
    """``schema`` is a JSON Schema object (checked against its draft's meta-schema) of bounded size."""
    from jsonschema import exceptions, validators

    if not isinstance(schema, dict):
        raise invalid(param, "must be a JSON Schema object.")
    check_json(schema, param)
    size = len(json.dumps(schema, separators=(",", ":")))
    if size > MAX_SCHEMA_BYTES:
        raise invalid(param, f"must be at most {MAX_SCHEMA_BYTES} bytes of JSON, got {size}.")
    try:
        validators.validator_for(schema).check_schema(schema)
    except exceptions.SchemaError as exc:
        location = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in exc.path)
        raise invalid(f"{param}{location}", f"is not a valid JSON Schema: {shorten(exc.message)}") from exc
    except Exception as exc:  # a $schema URL it cannot resolve, a pattern it cannot compile, ...
        raise invalid(param, f"is not a valid JSON Schema: {shorten(str(exc))}") from exc


def shorten(text: Any, limit: int = 80) -> str:
    """``text`` (any value, as a string) cut to ``limit`` characters, for echoing inside error messages."""
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
