"""Conversions between protobuf messages and the OpenAI JSON shapes stored in JSON columns."""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf import json_format, struct_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

MsgT = TypeVar("MsgT", bound=Message)


def to_json(message: Message) -> dict[str, Any]:
    """The message as a JSON-compatible dict with the proto (= OpenAI) field names."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def from_json(data: Any, cls: type[MsgT]) -> MsgT:
    """Parse a stored JSON dict into a ``cls`` message (unknown keys from newer versions are ignored).

    For a type whose JSON form is its constructor's keywords (:func:`_plain`) the constructor builds it,
    ten times faster than ``ParseDict``; whatever the constructor refuses (an unknown key, a number
    written as a string) goes to ``ParseDict``, which decides as before."""
    if isinstance(data, dict) and _plain(cls.DESCRIPTOR):
        try:
            return cls(**data)
        except (ValueError, TypeError):
            pass
    return json_format.ParseDict(data, cls(), ignore_unknown_fields=True)


_SIMPLE = {
    FieldDescriptor.TYPE_STRING,
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_DOUBLE,
    FieldDescriptor.TYPE_FLOAT,
}
_PLAIN: dict[str, bool] = {}


def _plain(descriptor: Any, seen: frozenset[str] = frozenset()) -> bool:
    """Whether the constructor takes exactly what ``ParseDict`` takes for this type, or refuses it:
    strings, numbers and such messages only (and maps and lists of messages). Booleans, enums, bytes and
    well-known types (``Value``, ``Struct``, timestamps) have JSON forms of their own; a recursive type
    is left to ``ParseDict`` too."""
    name = descriptor.full_name
    known = _PLAIN.get(name)
    if known is not None:
        return known
    plain = name not in seen and not name.startswith("google.protobuf.")
    for field in descriptor.fields if plain else ():
        if field.message_type is not None:
            plain = _plain(field.message_type, seen | {name})
        else:  # a list of strings would also take one string, as its characters
            plain = field.type in _SIMPLE and not field.is_repeated
        if not plain:
            break
    if not seen:  # a verdict inside a cycle depends on where the walk began
        _PLAIN[name] = plain
    return plain


def optional(message: Message, field: str) -> Any:
    """An optional (presence-tracking) field's value, or None when it was not given."""
    return getattr(message, field) if message.HasField(field) else None


def value_to_py(message: Message, field: str) -> Any:
    """The Python value of a ``google.protobuf.Value`` field, or None when the field is unset."""
    if not message.HasField(field):
        return None
    return json_format.MessageToDict(getattr(message, field))


def py_to_value(target: struct_pb2.Value, value: Any) -> None:
    """Store a JSON-compatible Python value into a ``google.protobuf.Value`` field."""
    if isinstance(value, str):  # the common case (a tool_choice, a response format's name) directly
        target.string_value = value
    else:
        json_format.ParseDict(value, target)
