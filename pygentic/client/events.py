"""Typed run events: each ``pygentic.v1.RunEvent`` of a stream as the dataclass of what it carries, so
callers ``match`` on the kind instead of testing a string and a oneof."""

from __future__ import annotations

from dataclasses import dataclass

from pygentic.proto.v1 import resources_pb2, runs_pb2


@dataclass(frozen=True)
class RunEvent:
    """One event of a run's stream. ``name`` is the event as OpenAI's SSE names it
    (``thread.run.created``, ``thread.message.delta``, ...); ``raw`` the message as it arrived."""

    name: str
    raw: runs_pb2.RunEvent


@dataclass(frozen=True)
class ThreadEvent(RunEvent):
    """``thread.created`` (a run started on a new thread)."""

    thread: resources_pb2.Thread


@dataclass(frozen=True)
class RunStatusEvent(RunEvent):
    """``thread.run.*``: the run as it is now (created, queued, in_progress, requires_action, completed,
    failed, cancelled, expired, incomplete...)."""

    run: resources_pb2.Run


@dataclass(frozen=True)
class StepEvent(RunEvent):
    """``thread.run.step.*`` other than deltas: a step as it is now."""

    step: resources_pb2.RunStep


@dataclass(frozen=True)
class StepDeltaEvent(RunEvent):
    """``thread.run.step.delta``: a fragment of a step's details (a tool call's arguments as they stream)."""

    delta: resources_pb2.RunStepDelta


@dataclass(frozen=True)
class MessageEvent(RunEvent):
    """``thread.message.*`` other than deltas: a message as it is now."""

    message: resources_pb2.Message


@dataclass(frozen=True)
class TextDeltaEvent(RunEvent):
    """``thread.message.delta``: ``delta`` is the text this event adds, ``text`` the message's text so
    far, ``message_id`` the message it belongs to."""

    message_id: str
    delta: str
    text: str
    raw_delta: resources_pb2.MessageDelta


@dataclass(frozen=True)
class ErrorEvent(RunEvent):
    """``error``: the server could not go on with the stream."""

    message: str


@dataclass(frozen=True)
class DoneEvent(RunEvent):
    """``done``: the stream's last event."""


def delta_text(delta: resources_pb2.MessageDelta) -> str:
    """The text a message delta adds (its text parts, in order)."""
    return "".join(part.text.value for part in delta.delta.content if part.HasField("text"))


def typed(event: runs_pb2.RunEvent, text_so_far: dict[str, str]) -> RunEvent:
    """``event`` as its typed dataclass; ``text_so_far`` (message id -> text) is updated by text deltas."""
    kind = event.WhichOneof("data")
    name = event.event
    if kind == "message_delta":
        delta = delta_text(event.message_delta)
        message_id = event.message_delta.id
        text = text_so_far.get(message_id, "") + delta
        text_so_far[message_id] = text
        return TextDeltaEvent(name, event, message_id, delta, text, event.message_delta)
    if kind == "run":
        return RunStatusEvent(name, event, event.run)
    if kind == "run_step":
        return StepEvent(name, event, event.run_step)
    if kind == "run_step_delta":
        return StepDeltaEvent(name, event, event.run_step_delta)
    if kind == "message":
        return MessageEvent(name, event, event.message)
    if kind == "thread":
        return ThreadEvent(name, event, event.thread)
    if kind == "error" or name == "error":
        return ErrorEvent(name, event, event.error.message)
    if name == "done":
        return DoneEvent(name, event)
    return RunEvent(name, event)
