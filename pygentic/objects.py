"""API objects (protobuf messages) from stored rows: the one place that knows both shapes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any, TypeVar

from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from pygentic.codec import from_json, py_to_value, to_json
from pygentic.errors import ApiError, ErrorKind
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.storage.tables import (
    AssistantRow,
    FileRow,
    MessageRow,
    RunRow,
    RunStepRow,
    ThreadRow,
    VectorStoreFileBatchRow,
    VectorStoreFileRow,
    VectorStoreRow,
)

MsgT = TypeVar("MsgT", bound=Message)
VALUE = "google.protobuf.Value"
log = logging.getLogger("pygentic.objects")


def ensure_storable(message: MsgT) -> MsgT:
    """``message`` unchanged if it survives every form it will take: protobuf bytes (as gRPC sends it and
    as it is read back) and JSON (as the gateway sends it). Operations call this on the object they are
    about to commit, inside the transaction, so a value that could be stored but never read again is refused
    (INVALID_ARGUMENT) and nothing is written."""
    try:
        type(message).FromString(message.SerializeToString())
        if not _always_json(message.DESCRIPTOR):
            json.dumps(to_json(message), allow_nan=False)
    except (ValueError, RecursionError, TypeError) as exc:  # DecodeError is a ValueError
        log.info("refused an object that does not round-trip", extra={"reason": f"{type(exc).__name__}"})
        raise ApiError(
            ErrorKind.INVALID_ARGUMENT,
            "The request cannot be stored: a value in it is nested too deeply or is not valid JSON.",
        ) from exc
    return message


_FREE_FORM = {"google.protobuf.Value", "google.protobuf.Struct", "google.protobuf.ListValue"}
_ALWAYS_JSON: dict[str, bool] = {}


def _always_json(descriptor: Any, seen: frozenset[str] = frozenset()) -> bool:
    """Whether every message of this type converts to strict JSON once it survives protobuf's round
    trip: it holds no float or double field (NaN and infinities are not JSON), no free-form
    ``Value``/``Struct``/``ListValue`` and is not recursive (either could nest beyond what JSON
    encoding takes). Strings, integers, booleans, enums and bytes always convert."""
    name = descriptor.full_name
    known = _ALWAYS_JSON.get(name)
    if known is not None:
        return known
    safe = name not in seen and name not in _FREE_FORM
    for field in descriptor.fields if safe else ():
        if field.type in (field.TYPE_FLOAT, field.TYPE_DOUBLE):
            safe = False
        elif field.message_type is not None:
            safe = _always_json(field.message_type, seen | {name})
        if not safe:
            break
    if not seen:  # a verdict inside a cycle depends on where the walk began
        _ALWAYS_JSON[name] = safe
    return safe


def text_part(value: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A message's stored text content part (the OpenAI shape)."""
    return {"type": "text", "text": {"value": value, "annotations": list(annotations or [])}}


def image_file_part(file_id: str) -> dict[str, Any]:
    """A message's stored image content part."""
    return {"type": "image_file", "image_file": {"file_id": file_id}}


def _fill(message: MsgT, row: Any, names: tuple[str, ...]) -> MsgT:
    """Copy the row's nullable columns into ``message``, leaving unset (JSON null) what is None.

    Scalars are copied, JSON columns parsed into the field's message type (or a ``Value``).
    """
    for name, kind in _kinds(message.DESCRIPTOR, names):
        value = getattr(row, name)
        if value is None:
            continue
        if kind is None:
            setattr(message, name, value)
        elif kind is _VALUE_KIND:
            py_to_value(getattr(message, name), value)
        else:
            getattr(message, name).CopyFrom(from_json(value, kind))
    return message


_VALUE_KIND = object()
_KINDS: dict[tuple[str, tuple[str, ...]], list[tuple[str, Any]]] = {}


def _kinds(descriptor: Any, names: tuple[str, ...]) -> list[tuple[str, Any]]:
    """Each field of ``names`` with how :func:`_fill` sets it: None (a scalar), a ``Value``, or the
    message class to parse; worked out once per message type."""
    key = (descriptor.full_name, names)
    kinds = _KINDS.get(key)
    if kinds is None:
        kinds = []
        for name in names:
            field = descriptor.fields_by_name[name]
            if field.message_type is None:
                kinds.append((name, None))
            elif field.message_type.full_name == VALUE:
                kinds.append((name, _VALUE_KIND))
            else:
                kinds.append((name, GetMessageClass(field.message_type)))
        _KINDS[key] = kinds
    return kinds


def assistant_to_proto(row: AssistantRow) -> res.Assistant:
    """The stored assistant as the API object."""
    message = res.Assistant(
        id=row.id,
        object="assistant",
        created_at=row.created_at,
        model=row.model,
        tools=[from_json(t, res.Tool) for t in row.tools],
        metadata=row.meta,
    )
    return _fill(
        message,
        row,
        ("name", "description", "instructions", "temperature", "top_p", "tool_resources", "response_format"),
    )


def thread_to_proto(row: ThreadRow) -> res.Thread:
    """The stored thread as the API object."""
    message = res.Thread(id=row.id, object="thread", created_at=row.created_at, metadata=row.meta)
    return _fill(message, row, ("tool_resources",))


def message_to_proto(row: MessageRow) -> res.Message:
    """The stored message as the API object."""
    message = res.Message(
        id=row.id,
        object="thread.message",
        created_at=row.created_at,
        thread_id=row.thread_id,
        status=row.status,
        role=row.role,
        content=[from_json(c, res.MessageContent) for c in row.content],
        attachments=[from_json(a, res.Attachment) for a in row.attachments],
        metadata=row.meta,
    )
    return _fill(
        message, row, ("completed_at", "incomplete_at", "assistant_id", "run_id", "incomplete_details")
    )


def run_to_proto(row: RunRow) -> res.Run:
    """The stored run as the API object."""
    message = res.Run(
        id=row.id,
        object="thread.run",
        created_at=row.created_at,
        thread_id=row.thread_id,
        assistant_id=row.assistant_id,
        status=row.status,
        model=row.model,
        instructions=row.instructions,
        tools=[from_json(t, res.Tool) for t in row.tools],
        metadata=row.meta,
        parallel_tool_calls=row.parallel_tool_calls,
    )
    return _fill(
        message,
        row,
        (
            "expires_at",
            "started_at",
            "cancelled_at",
            "failed_at",
            "completed_at",
            "temperature",
            "top_p",
            "max_prompt_tokens",
            "max_completion_tokens",
            "required_action",
            "last_error",
            "incomplete_details",
            "usage",
            "truncation_strategy",
            "tool_choice",
            "response_format",
        ),
    )


def queued_view(row: RunRow) -> res.Run:
    """A run that started in its creation's transaction, as it was when queued (status ``queued``, not
    started): what its ``created`` and ``queued`` events and the create call's answer show, as at OpenAI."""
    message = run_to_proto(row)
    message.status = "queued"
    message.ClearField("started_at")
    return message


#: The ``include[]`` value that adds the text of file_search results to run steps.
FILE_SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"


def step_to_proto(row: RunStepRow, include: Iterable[str] = ()) -> res.RunStep:
    """The stored run step as the API object; file_search results carry their text only when
    ``include`` has :data:`FILE_SEARCH_CONTENT`, as at OpenAI."""
    message = res.RunStep(
        id=row.id,
        object="thread.run.step",
        created_at=row.created_at,
        assistant_id=row.assistant_id,
        thread_id=row.thread_id,
        run_id=row.run_id,
        type=row.type,
        status=row.status,
        step_details=from_json(row.step_details, res.StepDetails),
        metadata=row.meta,
    )
    if FILE_SEARCH_CONTENT not in include:
        for call in message.step_details.tool_calls:
            for result in call.file_search.results:
                del result.content[:]
    ended = ("expired_at", "cancelled_at", "failed_at", "completed_at", "last_error")
    # The usage of the model turn that made the step, null while the step is in progress (as at OpenAI).
    return _fill(message, row, ended if row.status == "in_progress" else (*ended, "usage"))


def file_to_proto(row: FileRow) -> res.File:
    """The stored file's description as the API object."""
    message = res.File(
        id=row.id,
        object="file",
        bytes=row.bytes,
        created_at=row.created_at,
        filename=row.filename,
        purpose=row.purpose,
        status=row.status,
    )
    return _fill(message, row, ("expires_at",))


FILE_STATUSES = ("in_progress", "completed", "failed", "cancelled")


def vector_store_to_proto(
    row: VectorStoreRow, counts: dict[str, int], usage_bytes: int, t: int
) -> res.VectorStore:
    """The stored vector store as the API object; ``counts`` are its files by status (derived, exact)."""
    if row.expires_at is not None and row.expires_at <= t:
        status = "expired"
    else:
        status = "in_progress" if counts.get("in_progress") else "completed"
    message = res.VectorStore(
        id=row.id,
        object="vector_store",
        created_at=row.created_at,
        name=row.name,
        usage_bytes=usage_bytes,
        file_counts=_file_counts(counts),
        status=status,
        metadata=row.meta,
    )
    return _fill(message, row, ("expires_after", "expires_at", "last_active_at"))


def vector_store_file_to_proto(row: VectorStoreFileRow) -> res.VectorStoreFile:
    """The stored vector store file as the API object."""
    message = res.VectorStoreFile(
        id=row.id,
        object="vector_store.file",
        created_at=row.created_at,
        vector_store_id=row.vector_store_id,
        status=row.status,
        usage_bytes=row.usage_bytes,
    )
    if row.attributes is not None:
        message.attributes.update(row.attributes)
    return _fill(message, row, ("last_error", "chunking_strategy"))


def _file_counts(counts: dict[str, int]) -> res.VectorStoreFileCounts:
    file_counts = res.VectorStoreFileCounts(**{s: counts.get(s, 0) for s in FILE_STATUSES})
    file_counts.total = sum(counts.get(s, 0) for s in FILE_STATUSES)
    return file_counts


def vector_store_file_batch_to_proto(
    row: VectorStoreFileBatchRow, counts: dict[str, int]
) -> res.VectorStoreFileBatch:
    """The stored batch as the API object; ``counts`` are its files by status."""
    if counts.get("in_progress"):
        status = "in_progress"
    elif row.cancelled_at is not None:
        status = "cancelled"
    elif counts.get("completed") or not counts.get("failed"):
        status = "completed"
    else:
        status = "failed"
    return res.VectorStoreFileBatch(
        id=row.id,
        object="vector_store.files_batch",
        created_at=row.created_at,
        vector_store_id=row.vector_store_id,
        status=status,
        file_counts=_file_counts(counts),
    )
