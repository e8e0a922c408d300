"""The OpenAPI document: request and response schemas derived from the protobuf messages.

The gateway's JSON *is* the protobuf messages in OpenAI's shape (:mod:`pygentic.gateway.wire`), so their
schemas come from the same descriptors: a response object has every key (``null`` for what is unset), a
"union" object (a tool, a content part, step details, ...) only its variant; a request body takes the
request message's fields (``null`` meaning "not given") and nothing else. Every operation declares what it
really answers: 200 with the object, 400 / 404 / 413 / 500 with the OpenAI error envelope, never FastAPI's
422 (the gateway answers 400).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from pygentic.gateway.json_shape import FLOAT_TYPES, INT_RANGES
from pygentic.gateway.wire import FLAT_UNIONS, OMITTED_KEYS, UNIONS, WELL_KNOWN

REF = "#/components/schemas/"
ERROR = "ErrorResponse"
# Request fields that take one of a few strings (the operations check them; the schema tells clients).
INPUT_ENUMS = {
    "pygentic.v1.Tool.type": ["code_interpreter", "file_search", "function"],
    "pygentic.v1.AttachmentTool.type": ["code_interpreter", "file_search"],
    "pygentic.v1.MessageInput.role": ["user", "assistant"],
    "pygentic.v1.CreateMessageRequest.role": ["user", "assistant"],
    "pygentic.v1.TruncationStrategy.type": ["auto", "last_messages"],
    "pygentic.v1.CreateAssistantRequest.reasoning_effort": ["low", "medium", "high"],
    "pygentic.v1.UpdateAssistantRequest.reasoning_effort": ["low", "medium", "high"],
    "pygentic.v1.CreateRunRequest.reasoning_effort": ["low", "medium", "high"],
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
ERROR_STATUSES = {
    400: "Invalid request (a field is named in `param`), or the object's state does not allow it.",
    404: "No object with that id.",
    413: "The request body is larger than `[server] max_request_bytes`.",
    500: "An unexpected server error; the message carries a reference to the server's log.",
}


def _scalar(field: FieldDescriptor, *, request: bool) -> dict[str, Any]:
    if field.type in INT_RANGES:
        low, high = INT_RANGES[field.type]
        return {"type": "integer", "minimum": low, "maximum": high} if request else {"type": "integer"}
    if field.type in FLOAT_TYPES:
        return {"type": "number"}
    if field.type == FieldDescriptor.TYPE_BOOL:
        return {"type": "boolean"}
    if field.type == FieldDescriptor.TYPE_ENUM:
        return {"type": "integer"}
    return {"type": "string"}


def _well_known(descriptor: Descriptor) -> dict[str, Any]:
    if descriptor.full_name == "google.protobuf.Struct":
        return {"type": "object"}
    if descriptor.full_name == "google.protobuf.ListValue":
        return {"type": "array"}
    return {}  # google.protobuf.Value: any JSON


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if not schema:
        return schema  # already admits null
    if "$ref" in schema or "type" not in schema or isinstance(schema["type"], list):
        return {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


# ----------------------------------------------------------------------------- responses


class ResponseSchemas:
    """Component schemas of response objects, registered by name as routes declare them."""

    def __init__(self) -> None:
        self.roots: dict[str, Descriptor] = {}

    def ref(self, cls: type[Message]) -> dict[str, str]:
        self.roots[cls.DESCRIPTOR.name] = cls.DESCRIPTOR
        return {"$ref": REF + cls.DESCRIPTOR.name}

    def components(self) -> dict[str, Any]:
        out: dict[str, Any] = {ERROR: ERROR_SCHEMA}
        pending = list(self.roots.values())
        while pending:
            descriptor = pending.pop()
            if descriptor.name in out:
                continue
            out[descriptor.name] = _object_schema(descriptor, pending)
        return out


def _object_schema(descriptor: Descriptor, pending: list[Descriptor]) -> dict[str, Any]:
    """The JSON the gateway sends for one message (as ``wire.to_openai`` writes it)."""
    common = UNIONS.get(descriptor.full_name)
    omitted = set(OMITTED_KEYS.get(descriptor.full_name, ()))
    flat = FLAT_UNIONS.get(descriptor.full_name)
    if flat is not None:  # a key is always there only when every type carries it
        carried = [set(fields) for fields in flat.values()]
        omitted = {f.name for f in descriptor.fields} - set.intersection(*carried)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in descriptor.fields:
        value_type = field.message_type
        if value_type is not None and value_type.GetOptions().map_entry:
            item = value_type.fields_by_name["value"]
            schema: dict[str, Any] = {"type": "object", "additionalProperties": _field_value(item, pending)}
            always = True
        elif field.is_repeated:
            schema = {"type": "array", "items": _field_value(field, pending)}
            always = True
        elif value_type is not None or field.has_presence:
            schema = _field_value(field, pending)
            always = common is None  # objects carry null when unset; unions leave the key out
            if always:
                schema = _nullable(schema)
        else:
            schema = _field_value(field, pending)
            always = True
        properties[field.name] = schema
        in_union = common is None or field.name in common
        if always and in_union and field.name not in omitted:
            required.append(field.name)
    return {"type": "object", "properties": properties, "required": required}


def _field_value(field: FieldDescriptor, pending: list[Descriptor]) -> dict[str, Any]:
    if field.message_type is None:
        return _scalar(field, request=False)
    if field.message_type.full_name in WELL_KNOWN:
        return _well_known(field.message_type)
    pending.append(field.message_type)
    return {"$ref": REF + field.message_type.name}


schemas = ResponseSchemas()


def responses(cls: type[Message], *, body: bool = False, stream: bool = False) -> dict[int | str, Any]:
    """An operation's answers: 200 with ``cls`` (also as server-sent events when ``stream``), and the
    error envelope for 400, 404, 500 (and 413 when it takes a body)."""
    content: dict[str, Any] = {"application/json": {"schema": schemas.ref(cls)}}
    if stream:
        # In OpenAPI 3.1 the schema of text/event-stream describes one event (as schemathesis and 3.2's
        # itemSchema read it): an event name, and data holding the object's JSON (or "[DONE]" at the end).
        content["text/event-stream"] = {
            "schema": {
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": {"type": "string"},
                    "data": {"type": "string", "contentMediaType": "application/json"},
                },
            },
            "description": "With `stream: true`: the run's events (`event:` and `data:` lines), ending with "
            "`event: done` and `data: [DONE]`.",
        }
    ok = {"description": f"The {cls.DESCRIPTOR.name} object.", "content": content}
    return {200: ok, **errors(*(s for s in ERROR_STATUSES if s != 413 or body))}


def binary_responses() -> dict[int | str, Any]:
    """A download's answers: 200 with the bytes, the error envelope for 400, 404 and 500."""
    ok = {
        "description": "The file's bytes.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
    return {200: ok, **errors(400, 404, 500)}


def errors(*statuses: int) -> dict[int | str, Any]:
    """The error envelope for each of ``statuses``."""
    envelope = {"application/json": {"schema": {"$ref": REF + ERROR}}}
    return {status: {"description": ERROR_STATUSES[status], "content": envelope} for status in statuses}


# ----------------------------------------------------------------------------- request bodies


def request_body(
    cls: type[Message],
    *,
    required: Iterable[str] = (),
    path: Iterable[str] = (),
    stream: bool = False,
) -> dict[str, Any]:
    """``openapi_extra`` declaring ``cls`` as the JSON body: its fields but the ``path`` parameters (and
    ``update_mask``, which the gateway derives), ``stream`` where the route takes it."""
    schema = _input_schema(cls.DESCRIPTOR, exclude={*path, "update_mask"}, required=tuple(required))
    if stream:
        schema["properties"]["stream"] = {"type": ["boolean", "null"]}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}


def _input_schema(
    descriptor: Descriptor,
    *,
    exclude: set[str] = frozenset(),
    required: tuple[str, ...] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for field in descriptor.fields:
        if field.name in exclude:
            continue
        value_type = field.message_type
        if value_type is not None and value_type.GetOptions().map_entry:
            item = value_type.fields_by_name["value"]
            schema: dict[str, Any] = {"type": "object", "additionalProperties": _input_value(item)}
        elif field.is_repeated:
            schema = {"type": "array", "items": _input_value(field)}
        else:
            schema = _input_value(field)
        properties[field.name] = schema if field.name in required else _nullable(schema)
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


def _input_value(field: FieldDescriptor) -> dict[str, Any]:
    if field.message_type is None:
        choices = INPUT_ENUMS.get(field.full_name)
        return {"type": "string", "enum": choices} if choices else _scalar(field, request=True)
    if field.message_type.full_name in WELL_KNOWN:
        return _well_known(field.message_type)
    return _input_schema(field.message_type)


# ----------------------------------------------------------------------------- the document


def install(app: FastAPI) -> None:
    """Serve the document built from the routes, with the component schemas and without 422s."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        components.update(schemas.components())
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
