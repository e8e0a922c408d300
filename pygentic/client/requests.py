"""Requests built from keyword arguments shaped as in OpenAI's JSON (``tools=[{"type": "function", ...}]``,
``content="text"`` or a list of parts), so the client takes what users already write for the REST API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

RequestT = TypeVar("RequestT", bound=Message)


def build(request: type[RequestT], fields: Mapping[str, Any]) -> RequestT:
    """``request`` with ``fields`` (OpenAI JSON names and shapes; None values left out). An unknown field or
    a value of the wrong shape is a TypeError naming it, before anything is sent."""
    given = {name: value for name, value in fields.items() if value is not None}
    try:
        return json_format.ParseDict(given, request())
    except json_format.ParseError as exc:
        raise TypeError(f"{request.DESCRIPTOR.name}: {exc}") from None
