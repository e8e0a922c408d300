"""The shape of a JSON request body checked against its protobuf message, with OpenAI's error wording.

Before a body becomes a request message, every key must be a field of the message it is in and every
value of the JSON type the field holds. A failure names the public field path (``messages[0].content``,
``metadata.key``) and says what was expected in the words OpenAI's API uses (``Invalid type for
'metadata.color': expected a string, but got an object instead.``), never a protobuf type name. What the
values mean (ranges, enumerations, lengths) is the operations' business, behind both front doors.
"""

from __future__ import annotations

import math
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from pygentic.errors import ApiError, ErrorKind, invalid
from pygentic.operations.json_values import shorten

_STRING = (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)
FLOAT_TYPES = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)
# The integer field types and the values each holds (also the bounds the OpenAPI schema states).
INT_RANGES: dict[int, tuple[int, int]] = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
ANY_JSON = "google.protobuf.Value"
JSON_OBJECT = "google.protobuf.Struct"
JSON_ARRAY = "google.protobuf.ListValue"


# Python's JSON types as OpenAI names them, bool before int (a bool is an int in Python).
_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
    (dict, "an object"),
)


def json_type(value: Any) -> str:
    """How OpenAI names a JSON value's type: "a string", "an integer", "an object", ..."""
    if value is None:
        return "null"
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), "an unknown type")


def _param(path: str) -> str:
    return shorten(path, 200).strip("'\"")


def unknown_parameter(path: str) -> ApiError:
    param = _param(path)
    return ApiError(ErrorKind.INVALID_ARGUMENT, f"Unknown parameter: '{param}'.", param=param)


def wrong_type(path: str, expected: str, value: Any) -> ApiError:
    param = _param(path)
    return ApiError(
        ErrorKind.INVALID_ARGUMENT,
        f"Invalid type for '{param}': expected {expected}, but got {json_type(value)} instead.",
        param=param,
    )


def check_shape(body: Any, descriptor: Descriptor, path: str = "") -> Any:
    """``body`` as ``descriptor``'s message takes it, or INVALID_ARGUMENT naming the first bad field.

    ``null`` means "not given" for a message's own fields (they are left out of the result); inside a
    JSON-valued field (a schema, a metadata-free ``Value``) it is kept as the JSON it is. Integral numbers
    for integer fields become ``int``.
    """
    if not isinstance(body, dict):
        raise wrong_type(path or "body", "an object", body)
    out: dict[str, Any] = {}
    for key, value in body.items():
        where = f"{path}.{key}" if path else str(key)
        field = descriptor.fields_by_name.get(key) if isinstance(key, str) else None
        if field is None:
            raise unknown_parameter(where)
        if value is None:
            continue
        out[key] = _field_value(field, value, where)
    return out


def _field_value(field: FieldDescriptor, value: Any, where: str) -> Any:
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        if not isinstance(value, dict):
            raise wrong_type(where, "an object", value)
        entry = message.fields_by_name["value"]
        return {k: _single(entry, v, f"{where}.{k}") for k, v in value.items()}
    if field.is_repeated:
        if not isinstance(value, list):
            raise wrong_type(where, "an array", value)
        return [_single(field, item, f"{where}[{i}]") for i, item in enumerate(value)]
    return _single(field, value, where)


def _single(field: FieldDescriptor, value: Any, where: str) -> Any:
    """One value of ``field``'s type (an element, for a repeated field)."""
    message = field.message_type
    if message is not None:
        name = message.full_name
        if name == ANY_JSON:
            return value
        if name == JSON_OBJECT:
            if not isinstance(value, dict):
                raise wrong_type(where, "an object", value)
            return value
        if name == JSON_ARRAY:
            if not isinstance(value, list):
                raise wrong_type(where, "an array", value)
            return value
        if value is None:
            raise wrong_type(where, "an object", value)
        return check_shape(value, message, where)
    kind = field.type
    if kind in _STRING:
        if not isinstance(value, str):
            raise wrong_type(where, "a string", value)
        return value
    if kind == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise wrong_type(where, "a boolean", value)
        return value
    if kind in FLOAT_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong_type(where, "a number", value)
        if not math.isfinite(value):
            raise invalid(_param(where), "numbers must be finite (NaN and Infinity are not valid JSON).")
        return value
    if kind in INT_RANGES:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong_type(where, "an integer", value)
        low, high = INT_RANGES[kind]
        if value > high:
            raise invalid(
                _param(where),
                f"integer above maximum value. Expected a value <= {high}, but got {value} instead.",
            )
        if value < low:
            raise invalid(
                _param(where),
                f"integer below minimum value. Expected a value >= {low}, but got {value} instead.",
            )
        return value
    if kind == FieldDescriptor.TYPE_ENUM:
        names = [v.name for v in field.enum_type.values]
        if not isinstance(value, str) or value not in names:
            supported = ", ".join(f"'{n}'" for n in names)
            message = f"{shorten(value)} is not supported. Supported values are: {supported}."
            raise invalid(_param(where), message)
        return value
    return value
