"""A response as the Responses API shows it, read from the run that answers it, and the run's streamed
events as the response's (``response.output_item.added``, ``response.output_text.delta``, ...)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from sqlmodel import col, select

from pygentic.codec import from_json, py_to_value
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import responses_pb2 as pb
from pygentic.proto.v1 import runs_pb2
from pygentic.storage import repositories as repos
from pygentic.storage.tables import MessageRow, ResponseRow, RunRow, RunStepRow

# The run's status -> the response's, for the response that holds the run's latest steps.
STATUS = {
    "queued": "queued",
    "in_progress": "in_progress",
    "cancelling": "in_progress",
    "requires_action": "completed",  # its output ends with the function calls the caller must answer
    "completed": "completed",
    "incomplete": "incomplete",
    "failed": "failed",
    "expired": "failed",
    "cancelled": "cancelled",
}
FINAL_EVENT = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}


def output_item_id(prefix: str, call_id: str) -> str:
    """An output item's id from its call's (``call_x`` -> ``fc_x``, ``fs_x``, ``ci_x``)."""
    return prefix + call_id.removeprefix("call_")


def call_item_id(call_id: str) -> str:
    """A function call item's id (``fc_...``)."""
    return output_item_id("fc_", call_id)


def container_id(thread_id: str) -> str:
    """The code interpreter's "container": the thread's work directory."""
    return "cntr_" + thread_id.removeprefix("thread_")


Rows = tuple[ResponseRow, RunRow | None, list[RunStepRow], dict[str, MessageRow], bool]


async def response_rows(session: Any, response_id: str) -> Rows | None:
    """What a response's view is made of: its row, its run, the run's steps that are its output, their
    messages, and whether a later response continued the run (this one then ended with its calls)."""
    row = await repos.responses.get(session, response_id)
    if row is None:
        return None
    run = await repos.runs.get(session, row.run_id) if row.run_id else None
    later = (
        await session.exec(
            select(ResponseRow.first_step)
            .where(ResponseRow.run_id == row.run_id, ResponseRow.first_step > row.first_step)
            .order_by(col(ResponseRow.first_step))
            .limit(1)
        )
    ).first()
    steps = list(
        (
            await session.exec(
                select(RunStepRow)
                .where(RunStepRow.run_id == row.run_id)
                .order_by(col(RunStepRow.created_at), col(RunStepRow.seq))
            )
        ).all()
    )[row.first_step : later]
    message_ids = [s.step_details.get("message_creation", {}).get("message_id") for s in steps]
    wanted = [m for m in message_ids if m]
    messages: dict[str, MessageRow] = {}
    if wanted:
        found = await session.exec(select(MessageRow).where(col(MessageRow.id).in_(wanted)))
        messages = {m.id: m for m in found.all()}
    return row, run, steps, messages, later is not None


def output_text(text: str, marks: Iterable[dict[str, Any]], filenames: dict[str, str]) -> pb.ResponseContent:
    """A message's text as an output_text part: file_search's citation markers (``【0:1†faq.md】``) taken
    out of the text and given as ``file_citation`` annotations at the place they were, as the Responses
    API writes them. (A written file's path is not annotated: the Responses API would name it a
    container_file_citation, and Pygentic has no containers.)"""
    part = pb.ResponseContent(type="output_text")
    kept = ""
    at = 0  # how far into ``text`` kept has come
    for mark in sorted(marks, key=lambda m: m.get("start_index", 0)):
        start, end = int(mark.get("start_index", 0)), int(mark.get("end_index", 0))
        if mark.get("type") != "file_citation" or start < at or end > len(text):
            continue
        kept += text[at:start]
        at = end
        file_id = (mark.get("file_citation") or {}).get("file_id", "")
        citation = {"type": "file_citation", "file_id": file_id, "filename": filenames.get(file_id, "")}
        py_to_value(part.annotations.add(), {**citation, "index": len(kept)})
    part.text = kept + text[at:]
    return part


def message_item(
    message: MessageRow, status: str | None = None, filenames: dict[str, str] | None = None
) -> pb.ResponseItem:
    """An assistant message as an output item (its text parts as output_text)."""
    item = pb.ResponseItem(type="message", id=message.id, status=status or _message_status(message.status))
    item.role = "assistant"
    for part in message.content:
        if part.get("type") == "text":
            text = part.get("text") or {}
            item.content.append(
                output_text(text.get("value", ""), text.get("annotations") or (), filenames or {})
            )
    return item


def _message_status(status: str) -> str:
    return "incomplete" if status == "incomplete" else "completed" if status == "completed" else "in_progress"


def builtin_item(
    call: dict[str, Any], thread_id: str, include: Iterable[str] = (), status: str = "completed"
) -> pb.ResponseItem | None:
    """A built-in tool's call (a step's file_search or code_interpreter entry) as an output item; the
    results and outputs only when ``include`` asks for them, as at OpenAI."""
    kind = call.get("type")
    if kind == "file_search":
        item = pb.ResponseItem(type="file_search_call", id=output_item_id("fs_", call["id"]), status=status)
        try:
            arguments = json.loads((call.get("_model") or {}).get("arguments") or "{}")
        except ValueError:
            arguments = {}
        if isinstance(arguments, dict) and isinstance(arguments.get("query"), str):
            item.queries.append(arguments["query"])
        if "file_search_call.results" in include:
            for hit in (call.get("file_search") or {}).get("results") or ():
                text = "".join(part.get("text", "") for part in hit.get("content") or ())
                found = {
                    "file_id": hit.get("file_id"),
                    "filename": hit.get("file_name"),
                    "score": hit.get("score"),
                }
                py_to_value(item.results.add(), {**found, "text": text, "attributes": {}})
        return item
    if kind == "code_interpreter":
        details = call.get("code_interpreter") or {}
        item = pb.ResponseItem(
            type="code_interpreter_call",
            id=output_item_id("ci_", call["id"]),
            status=status,
            code=details.get("input", ""),
            container_id=container_id(thread_id),
        )
        if "code_interpreter_call.outputs" in include:
            for output in details.get("outputs") or ():
                if output.get("type") == "logs":
                    py_to_value(item.outputs.add(), {"type": "logs", "logs": output.get("logs", "")})
                elif output.get("type") == "image":
                    file_id = (output.get("image") or {}).get("file_id", "")
                    py_to_value(item.outputs.add(), {"type": "image", "url": f"/v1/files/{file_id}/content"})
        return item
    return None


def call_item(call: dict[str, Any], status: str = "completed") -> pb.ResponseItem:
    function = call.get("function") or {}
    return pb.ResponseItem(
        type="function_call",
        id=call_item_id(call["id"]),
        status=status,
        call_id=call["id"],
        name=function.get("name", ""),
        arguments=function.get("arguments", ""),
    )


def project(
    row: ResponseRow,
    run: RunRow | None,
    steps: list[RunStepRow],
    messages: dict[str, MessageRow],
    continued: bool,
    include: Iterable[str] = (),
) -> pb.Response:
    """The response as it is now."""
    out = pb.Response(
        id=row.id,
        object="response",
        created_at=row.created_at,
        model=row.model,
        parallel_tool_calls=row.parallel_tool_calls,
        background=row.background,
        truncation=row.truncation,
        store=row.store,
        metadata=row.meta,
    )
    for name in ("instructions", "previous_response_id", "temperature", "top_p", "max_output_tokens", "user"):
        value = getattr(row, name)
        if value is not None:
            setattr(out, name, value)
    if row.conversation_id:
        out.conversation.id = row.conversation_id
    py_to_value(out.tool_choice, row.tool_choice if row.tool_choice is not None else "auto")
    for tool in row.tools:
        out.tools.append(from_json(tool, pb.ResponseTool))
    py_to_value(out.text.format, (row.text or {}).get("format") or {"type": "text"})
    run_status = run.status if run is not None else "failed"
    status = "completed" if continued else STATUS.get(run_status, "failed")
    out.status = status
    prompt = completion = 0
    filenames = {
        hit.get("file_id", ""): hit.get("file_name", "")
        for step in steps
        for call in step.step_details.get("tool_calls") or ()
        for hit in (call.get("file_search") or {}).get("results") or ()
    }
    for step in steps:
        details = step.step_details
        if step.type == "message_creation":
            message = messages.get(details.get("message_creation", {}).get("message_id", ""))
            if message is not None:
                out.output.append(message_item(message, filenames=filenames))
        else:
            for call in details.get("tool_calls") or ():
                if call.get("type") == "function":
                    out.output.append(call_item(call))
                    continue
                called = "completed" if step.status == "completed" else "in_progress"
                built = builtin_item(call, row.thread_id, include, called)
                if built is not None:
                    out.output.append(built)
        if step.usage:
            prompt += int(step.usage.get("prompt_tokens") or 0)
            completion += int(step.usage.get("completion_tokens") or 0)
    if status in ("completed", "incomplete", "failed") and steps:
        out.usage.CopyFrom(
            pb.ResponseUsage(
                input_tokens=prompt,
                output_tokens=completion,
                total_tokens=prompt + completion,
                input_tokens_details=pb.ResponseInputTokensDetails(),
                output_tokens_details=pb.ResponseOutputTokensDetails(),
            )
        )
    if status == "failed":
        error = (run.last_error if run is not None else None) or {}
        out.error.code = "server_error" if run_status != "expired" else "expired"
        out.error.message = error.get("message") or "The response failed."
    if status == "incomplete" and run is not None:
        reason = (run.incomplete_details or {}).get("reason")
        out.incomplete_details.reason = (
            "max_output_tokens" if reason == "max_completion_tokens" else reason or ""
        )
    if status in ("completed", "incomplete") and run is not None:
        out.completed_at = run.completed_at or (steps[-1].completed_at if steps else None) or row.created_at
    return out


class ResponseEvents:
    """Turns one run's events into a response's stream: ``opening`` events, then per run event the
    response events it means, then ``closing`` with the response as it ended. Every event carries the
    next ``sequence_number``."""

    def __init__(self, response: pb.Response, thread_id: str = "") -> None:
        self.response = response
        self.thread_id = thread_id
        self.builtins: dict[str, tuple[int, str, str]] = {}  # call id -> output index, item id, kind
        self.builtin_ids: dict[tuple[str, int], str] = {}  # (step, index) -> call id
        self.builtin_code: dict[str, str] = {}
        self.sequence = 0
        self.outputs = 0
        self.message_at: dict[str, int] = {}
        self.texts: dict[str, str] = {}
        self.calls: dict[
            tuple[str, int], tuple[int, str, str, str]
        ] = {}  # (step, index) -> at, id, name, args
        self.call_order: list[tuple[str, int]] = []
        self.done_calls: set[tuple[str, int]] = set()

    def _event(self, kind: str, **fields: Any) -> pb.ResponseEvent:
        event = pb.ResponseEvent(type=kind, sequence_number=self.sequence)
        self.sequence += 1
        for name, value in fields.items():
            target = getattr(event, name)
            if hasattr(target, "CopyFrom"):
                target.CopyFrom(value)
            else:
                setattr(event, name, value)
        return event

    def opening(self) -> Iterator[pb.ResponseEvent]:
        live = pb.Response()
        live.CopyFrom(self.response)
        live.status = "in_progress"
        yield self._event("response.created", response=live)
        yield self._event("response.in_progress", response=live)

    def on_run_event(self, event: runs_pb2.RunEvent) -> Iterator[pb.ResponseEvent]:
        name = event.event
        if name == "thread.message.created":
            yield from self._message_started(event.message)
        elif name == "thread.message.delta":
            yield from self._text(event.message_delta)
        elif name in ("thread.message.completed", "thread.message.incomplete"):
            yield from self._message_done(event.message)
        elif name == "thread.run.step.delta":
            yield from self._call_fragments(event.run_step_delta)
        elif name in ("thread.run.step.completed", "thread.run.requires_action"):
            if event.HasField("run_step"):
                yield from self._builtins_done(event.run_step)
            yield from self._calls_done()

    def _message_started(self, message: res.Message) -> Iterator[pb.ResponseEvent]:
        if message.role != "assistant" or message.id in self.message_at:
            return
        at = self.message_at[message.id] = self.outputs
        self.outputs += 1
        self.texts[message.id] = ""
        item = pb.ResponseItem(type="message", id=message.id, status="in_progress", role="assistant")
        yield self._event("response.output_item.added", output_index=at, item=item)
        part = pb.ResponseContent(type="output_text", text="")
        yield self._event(
            "response.content_part.added", item_id=message.id, output_index=at, content_index=0, part=part
        )

    def _text(self, delta: res.MessageDelta) -> Iterator[pb.ResponseEvent]:
        at = self.message_at.get(delta.id)
        if at is None:
            return
        for part in delta.delta.content:
            if part.HasField("text") and part.text.value:
                self.texts[delta.id] += part.text.value
                yield self._event(
                    "response.output_text.delta",
                    item_id=delta.id,
                    output_index=at,
                    content_index=0,
                    delta=part.text.value,
                )

    def _message_done(self, message: res.Message) -> Iterator[pb.ResponseEvent]:
        at = self.message_at.get(message.id)
        if at is None:
            return
        text = "".join(p.text.value for p in message.content if p.HasField("text")) or self.texts[message.id]
        yield self._event(
            "response.output_text.done", item_id=message.id, output_index=at, content_index=0, text=text
        )
        part = pb.ResponseContent(type="output_text", text=text)
        yield self._event(
            "response.content_part.done", item_id=message.id, output_index=at, content_index=0, part=part
        )
        item = pb.ResponseItem(type="message", id=message.id, role="assistant")
        item.status = "incomplete" if message.status == "incomplete" else "completed"
        item.content.add(type="output_text", text=text)
        yield self._event("response.output_item.done", output_index=at, item=item)

    def _builtin_fragment(self, step_id: str, call: res.ToolCall) -> Iterator[pb.ResponseEvent]:
        """A built-in tool's call as it streams: added (and searching, or its code as it comes)."""
        position = (step_id, call.index)
        call_id = call.id or self.builtin_ids.get(position, "")
        if not call_id:
            return
        if call_id not in self.builtins:
            self.builtin_ids[position] = call_id
            at = self.outputs
            self.outputs += 1
            kind = "file_search_call" if call.type == "file_search" else "code_interpreter_call"
            item_id = output_item_id("fs_" if kind == "file_search_call" else "ci_", call_id)
            self.builtins[call_id] = (at, item_id, kind)
            self.builtin_code[call_id] = ""
            item = pb.ResponseItem(type=kind, id=item_id, status="in_progress")
            if kind == "code_interpreter_call":
                item.code = ""
                item.container_id = container_id(self.thread_id)
            yield self._event("response.output_item.added", output_index=at, item=item)
            yield self._event(f"response.{kind}.in_progress", item_id=item_id, output_index=at)
            if kind == "file_search_call":
                yield self._event("response.file_search_call.searching", item_id=item_id, output_index=at)
        at, item_id, kind = self.builtins[call_id]
        fragment = call.code_interpreter.input if call.HasField("code_interpreter") else ""
        if kind == "code_interpreter_call" and fragment:
            self.builtin_code[call_id] += fragment
            yield self._event(
                "response.code_interpreter_call_code.delta", item_id=item_id, output_index=at, delta=fragment
            )

    def _builtins_done(self, step: res.RunStep) -> Iterator[pb.ResponseEvent]:
        """A completed step's built-in calls: code done and interpreting, completed, the item done."""
        for call in step.step_details.tool_calls:
            known = self.builtins.pop(call.id, None)
            if known is None:
                continue
            at, item_id, kind = known
            stored: dict[str, Any] = {"id": call.id, "type": call.type}
            if kind == "code_interpreter_call":
                code = call.code_interpreter.input or self.builtin_code.get(call.id, "")
                yield self._event(
                    "response.code_interpreter_call_code.done", item_id=item_id, output_index=at, code=code
                )
                yield self._event(
                    "response.code_interpreter_call.interpreting", item_id=item_id, output_index=at
                )
                stored["code_interpreter"] = {"input": code}
            yield self._event(f"response.{kind}.completed", item_id=item_id, output_index=at)
            item = builtin_item(stored, self.thread_id)
            assert item is not None  # a file_search or code_interpreter entry
            yield self._event("response.output_item.done", output_index=at, item=item)

    def _call_fragments(self, delta: res.RunStepDelta) -> Iterator[pb.ResponseEvent]:
        for call in delta.delta.step_details.tool_calls:
            if call.type in ("file_search", "code_interpreter"):
                yield from self._builtin_fragment(delta.id, call)
                continue
            if call.type and call.type != "function":
                continue
            key = (delta.id, call.index)
            known = self.calls.get(key)
            if known is None:
                if not call.id:
                    continue
                at = self.outputs
                self.outputs += 1
                known = (at, call.id, call.function.name, "")
                self.calls[key] = known
                self.call_order.append(key)
                item = pb.ResponseItem(
                    type="function_call",
                    id=call_item_id(call.id),
                    status="in_progress",
                    call_id=call.id,
                    name=call.function.name,
                    arguments="",
                )
                yield self._event("response.output_item.added", output_index=at, item=item)
            at, call_id, name, arguments = known
            fragment = call.function.arguments
            if fragment:
                self.calls[key] = (at, call_id, name or call.function.name, arguments + fragment)
                yield self._event(
                    "response.function_call_arguments.delta",
                    item_id=call_item_id(call_id),
                    output_index=at,
                    delta=fragment,
                )

    def _calls_done(self) -> Iterator[pb.ResponseEvent]:
        for key in self.call_order:
            if key in self.done_calls:
                continue
            self.done_calls.add(key)
            at, call_id, name, arguments = self.calls[key]
            yield self._event(
                "response.function_call_arguments.done",
                item_id=call_item_id(call_id),
                output_index=at,
                arguments=arguments,
            )
            item = call_item(
                {"id": call_id, "function": {"name": name, "arguments": arguments}}, status="completed"
            )
            yield self._event("response.output_item.done", output_index=at, item=item)

    def closing(self, response: pb.Response) -> Iterator[pb.ResponseEvent]:
        yield from self._calls_done()
        kind = FINAL_EVENT.get(response.status, "response.failed")
        yield self._event(kind, response=response)
