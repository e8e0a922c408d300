"""API objects (protobuf messages) from stored rows: the one place that knows both shapes."""

from __future__ import annotations

from pygentic.codec import from_json, py_to_value
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.storage.tables import AssistantRow, MessageRow, RunRow, RunStepRow, ThreadRow


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
    for name in ("name", "description", "instructions", "temperature", "top_p"):
        value = getattr(row, name)
        if value is not None:
            setattr(message, name, value)
    if row.tool_resources is not None:
        message.tool_resources.CopyFrom(from_json(row.tool_resources, res.ToolResources))
    if row.response_format is not None:
        py_to_value(message.response_format, row.response_format)
    return message


def thread_to_proto(row: ThreadRow) -> res.Thread:
    """The stored thread as the API object."""
    message = res.Thread(id=row.id, object="thread", created_at=row.created_at, metadata=row.meta)
    if row.tool_resources is not None:
        message.tool_resources.CopyFrom(from_json(row.tool_resources, res.ToolResources))
    return message


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
    for name in ("completed_at", "incomplete_at", "assistant_id", "run_id"):
        value = getattr(row, name)
        if value is not None:
            setattr(message, name, value)
    if row.incomplete_details is not None:
        message.incomplete_details.CopyFrom(from_json(row.incomplete_details, res.IncompleteDetails))
    return message


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
    for name in (
        "expires_at",
        "started_at",
        "cancelled_at",
        "failed_at",
        "completed_at",
        "temperature",
        "top_p",
        "max_prompt_tokens",
        "max_completion_tokens",
    ):
        value = getattr(row, name)
        if value is not None:
            setattr(message, name, value)
    for name, cls in (
        ("required_action", res.RequiredAction),
        ("last_error", res.LastError),
        ("incomplete_details", res.IncompleteDetails),
        ("usage", res.Usage),
        ("truncation_strategy", res.TruncationStrategy),
    ):
        value = getattr(row, name)
        if value is not None:
            getattr(message, name).CopyFrom(from_json(value, cls))
    for name in ("tool_choice", "response_format"):
        value = getattr(row, name)
        if value is not None:
            py_to_value(getattr(message, name), value)
    return message


def step_to_proto(row: RunStepRow) -> res.RunStep:
    """The stored run step as the API object."""
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
    for name in ("expired_at", "cancelled_at", "failed_at", "completed_at"):
        value = getattr(row, name)
        if value is not None:
            setattr(message, name, value)
    if row.last_error is not None:
        message.last_error.CopyFrom(from_json(row.last_error, res.LastError))
    if row.usage is not None:
        message.usage.CopyFrom(from_json(row.usage, res.Usage))
    return message
