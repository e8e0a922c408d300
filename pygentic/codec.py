"""Conversions between protobuf messages and the OpenAI JSON shapes stored in JSON columns."""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf import json_format, struct_pb2
from google.protobuf.message import Message

MsgT = TypeVar("MsgT", bound=Message)


def to_json(message: Message) -> dict[str, Any]:
    """The message as a JSON-compatible dict with the proto (= OpenAI) field names."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def from_json(data: Any, cls: type[MsgT]) -> MsgT:
    """Parse a stored JSON dict into a ``cls`` message (unknown keys from newer versions are ignored)."""
    return json_format.ParseDict(data, cls(), ignore_unknown_fields=True)


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
    json_format.ParseDict(value, target)
