"""Run operations: create (unary and streamed), thread-and-run, get, list, update, cancel, tool outputs,
watch, and run steps. State changes are the run engine's; this module validates and persists requests."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from pygentic import ids
from pygentic.codec import optional, to_json, value_to_py
from pygentic.config import RunSettings
from pygentic.errors import (
    ApiError,
    ErrorKind,
    invalid,
    missing,
    not_found,
    precondition,
    quoted,
    unsupported,
)
from pygentic.objects import (
    FILE_SEARCH_CONTENT,
    ensure_storable,
    run_to_proto,
    step_to_proto,
    thread_to_proto,
)
from pygentic.operations.api_keys import current_caller
from pygentic.operations.implicit_stores import file_search_attachments
from pygentic.operations.json_values import shorten
from pygentic.operations.messages import message_row_from_input
from pygentic.operations.paging import list_response
from pygentic.operations.threads import ThreadOperations
from pygentic.operations.validation import (
    MAX_INSTRUCTIONS,
    REASONING_EFFORTS,
    TOOL_CHOICES,
    check_metadata,
    check_model,
    check_range,
    check_response_format,
    check_text,
    check_tools,
    fields_to_update,
    page_params,
    require_id,
)
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import runs_pb2 as pb
from pygentic.runtime.bus import Subscription, cut_off_error
from pygentic.runtime.engine import RunEngine
from pygentic.runtime.follow import follow_remote
from pygentic.storage import Database, Page
from pygentic.storage import repositories as repos
from pygentic.storage.repositories import EXECUTING_RUN_STATUSES, now
from pygentic.storage.rows import new_row
from pygentic.storage.tables import AssistantRow, RunRow, RunStepRow, ThreadRow

INCLUDE_VALUES = (FILE_SEARCH_CONTENT,)
MAX_ADDITIONAL_MESSAGES = 32

RunRequest = pb.CreateRunRequest | pb.CreateThreadAndRunRequest


async def _check_active_runs(session: Any) -> None:
    """RESOURCE_EXHAUSTED (429) when the caller's key already has as many active runs as it may."""
    caller = current_caller()
    if caller is None or caller.key_id is None or not caller.active_runs:
        return
    active = await repos.runs.active_count_for_key(session, caller.key_id)
    if active >= caller.active_runs:
        raise ApiError(
            ErrorKind.RESOURCE_EXHAUSTED,
            f"Key {caller.key_id} already has {active} active runs, its limit; "
            "wait for one to end (or cancel one) and try again.",
            retry_after=1.0,
        )


def _check_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> Any:
    if choice is None or choice in TOOL_CHOICES:
        return choice
    if isinstance(choice, str):
        raise invalid(
            "tool_choice", f"must be 'none', 'auto', 'required' or an object, got {quoted(choice)}."
        )
    if not isinstance(choice, dict):
        raise invalid("tool_choice", "must be a string or an object.")
    kind = choice.get("type")
    if kind == "function":
        function = choice.get("function")
        if not isinstance(function, dict):
            raise missing("tool_choice.function", "for a function tool choice")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise missing("tool_choice.function.name")
        names = [t["function"]["name"] for t in tools if t.get("type") == "function"]
        if name not in names:
            raise invalid(
                "tool_choice.function.name", f"{quoted(name)} is not one of the run's function tools."
            )
        return choice
    if kind in ("code_interpreter", "file_search"):
        if not any(t.get("type") == kind for t in tools):
            raise invalid("tool_choice.type", f"the run has no {kind} tool.")
        return choice
    raise unsupported("tool_choice.type", kind, ("function", "code_interpreter", "file_search"))


def _check_truncation(request: Any) -> dict[str, Any]:
    if not request.HasField("truncation_strategy"):
        return {"type": "auto", "last_messages": None}
    strategy = request.truncation_strategy
    if strategy.type not in ("auto", "last_messages"):
        raise unsupported("truncation_strategy.type", strategy.type, ("auto", "last_messages"))
    last = strategy.last_messages if strategy.HasField("last_messages") else None
    if strategy.type == "last_messages" and (last is None or last < 1):
        raise invalid("truncation_strategy.last_messages", "must be at least 1 for 'last_messages'.")
    return {"type": strategy.type, "last_messages": last}


class RunOperations:
    """The Runs API operations."""

    def __init__(
        self, db: Database, engine: RunEngine, threads: ThreadOperations, settings: RunSettings
    ) -> None:
        self.db = db
        self.engine = engine
        self.threads = threads
        self.settings = settings

    # ----------------------------------------------------------------- create

    def _build_run(self, request: RunRequest, assistant: AssistantRow, thread_id: str, run_id: str) -> RunRow:
        """Validate the run fields of ``request`` and resolve them against the assistant."""
        model = optional(request, "model")
        if model is not None:
            check_model(model)
        instructions = optional(request, "instructions")
        check_text(instructions, "instructions", MAX_INSTRUCTIONS)
        effective = instructions if instructions is not None else (assistant.instructions or "")
        extra = (
            optional(request, "additional_instructions") if isinstance(request, pb.CreateRunRequest) else None
        )
        check_text(extra, "additional_instructions", MAX_INSTRUCTIONS)
        if extra:
            effective = f"{effective}\n\n{extra}" if effective else extra
        check_tools(request.tools)
        tools = [to_json(t) for t in request.tools] if len(request.tools) else list(assistant.tools)
        check_metadata(request.metadata)
        temperature = check_range(optional(request, "temperature"), "temperature", 0, 2)
        top_p = check_range(optional(request, "top_p"), "top_p", 0, 1)
        for name in ("max_prompt_tokens", "max_completion_tokens"):
            value = optional(request, name)
            if value is not None and value < 1:
                raise invalid(name, f"must be at least 1, got {value}.")
        response_format = check_response_format(value_to_py(request, "response_format"))
        if response_format is None:
            response_format = assistant.response_format if assistant.response_format is not None else "auto"
        tool_choice = _check_tool_choice(value_to_py(request, "tool_choice"), tools)
        effort = optional(request, "reasoning_effort") if isinstance(request, pb.CreateRunRequest) else None
        if effort is not None and effort not in REASONING_EFFORTS:
            raise unsupported("reasoning_effort", effort, REASONING_EFFORTS)
        created = now()
        run = new_row(
            RunRow,
            id=run_id,
            created_at=created,
            thread_id=thread_id,
            assistant_id=assistant.id,
            status="queued",
            expires_at=created + math.ceil(self.settings.expires_after),
            model=model or assistant.model,
            instructions=effective,
            tools=tools,
            meta=dict(request.metadata),
            temperature=temperature if temperature is not None else assistant.temperature,
            top_p=top_p if top_p is not None else assistant.top_p,
            max_prompt_tokens=optional(request, "max_prompt_tokens"),
            max_completion_tokens=optional(request, "max_completion_tokens"),
            truncation_strategy=_check_truncation(request),
            tool_choice=tool_choice if tool_choice is not None else "auto",
            parallel_tool_calls=request.parallel_tool_calls
            if request.HasField("parallel_tool_calls")
            else True,
            response_format=response_format,
            reasoning_effort=effort if effort is not None else assistant.reasoning_effort,
            key_id=caller.key_id if (caller := current_caller()) is not None else None,
            include=list(getattr(request, "include", ())) or None,  # CreateThreadAndRun has none
        )
        ensure_storable(run_to_proto(run))
        return run

    async def _assistant(self, session: Any, assistant_id: str) -> AssistantRow:
        require_id(assistant_id, "assistant_id")
        assistant = await repos.assistants.get(session, assistant_id)
        if assistant is None:
            raise not_found("assistant", assistant_id, "assistant_id")
        return assistant

    async def _create(
        self,
        request: pb.CreateRunRequest,
        run_id: str,
        *,
        assistant: AssistantRow | None = None,
        thread: ThreadRow | None = None,
        also: Callable[[Any, RunRow], Awaitable[None]] | None = None,
    ) -> RunRow:
        """Validate and store the run (and its additional messages) in one transaction. ``assistant``: the
        settings to resolve the run against instead of a stored assistant's; ``thread``: a new thread to
        create for it; ``also``: more to write in the same transaction (a Responses API response)."""
        if thread is None:
            require_id(request.thread_id, "thread_id")
        _check_include(request.include)
        if len(request.additional_messages) > MAX_ADDITIONAL_MESSAGES:
            raise invalid("additional_messages", f"at most {MAX_ADDITIONAL_MESSAGES} messages are allowed.")
        thread_id = thread.id if thread is not None else request.thread_id
        additional = [
            message_row_from_input(thread_id, message, f"additional_messages[{i}]")
            for i, message in enumerate(request.additional_messages)
        ]
        await self.threads.references.check(
            messages=[(m, f"additional_messages[{i}]") for i, m in enumerate(additional)]
        )
        attached = False
        # The usual run (no new thread, no attachments to index, nothing else to write) takes the hot
        # path's statements; the rest needs the ORM session.
        plain = thread is None and also is None and not file_search_attachments(additional)
        async with self._stored(run_id), self.db.transaction() if plain else self.db.write() as session:
            active = None  # a new thread has no run yet
            if thread is not None:
                await repos.threads.add(session, thread)
            else:
                found, active = await repos.threads.lock_with_active_run(session, thread_id)
                if not found:
                    raise not_found("thread", thread_id, "thread_id")
            if assistant is None:
                assistant = await self._assistant(session, request.assistant_id)
            run = self._build_run(request, assistant, thread_id, run_id)
            await _check_active_runs(session)
            self.engine.claim(run)
            if active is not None:
                raise precondition(f"Thread {thread_id} already has an active run {active}.")
            for message_row in additional:
                await repos.messages.insert(session, message_row)
            if file_search_attachments(additional):
                stored = await repos.threads.get(session, thread_id)
                assert stored is not None  # locked above
                attached = await self.threads.stores.attach(session, stored, additional)
            await self.engine.start_at_once(run)
            await repos.runs.insert(session, run)
            if also is not None:
                await also(session, run)
        if attached:
            self.threads.stores.wake()
        self._started(run)
        return run

    async def start_prepared(
        self,
        request: pb.CreateRunRequest,
        run_id: str,
        assistant: AssistantRow,
        *,
        thread: ThreadRow | None,
        also: Callable[[Any, RunRow], Awaitable[None]],
    ) -> RunRow:
        """A run whose settings come from ``assistant`` (not stored: the Responses API's request), on a new
        ``thread`` or ``request.thread_id``, written together with ``also``'s rows, and launched."""
        return await self._create(request, run_id, assistant=assistant, thread=thread, also=also)

    @contextlib.asynccontextmanager
    async def _stored(self, run_id: str) -> AsyncIterator[None]:
        """Around the transaction that stores a new run: if it fails, the connector place the run took
        to start at once (:meth:`RunEngine.start_at_once`) is given back."""
        try:
            yield
        except BaseException:
            self.engine.not_started(run_id)
            raise

    def _started(self, run: RunRow) -> None:
        self.engine.publish_created(run)
        self.engine.launch(run)

    async def create(self, request: pb.CreateRunRequest) -> res.Run:
        return self.engine.created_view(await self._create(request, ids.new_id(ids.RUN)))

    async def stream(self, request: pb.CreateRunRequest) -> AsyncIterator[pb.RunEvent]:
        run_id = ids.new_id(ids.RUN)
        async with self.engine.subscribe(run_id) as subscription:
            await self._create(request, run_id)
            async for event in _drain(subscription):
                yield event

    async def _create_thread_and_run(
        self, request: pb.CreateThreadAndRunRequest, run_id: str
    ) -> tuple[ThreadRow, RunRow]:
        thread, messages = self.threads.build(request.thread, "thread")
        await self.threads.check_references(thread, messages, "thread")
        if request.HasField("tool_resources"):
            thread.tool_resources = self.threads.stores.parse(request.tool_resources)
            await self.threads.references.check(tool_resources=[(thread.tool_resources, "tool_resources")])
        async with self._stored(run_id), self.db.write() as session:
            created = thread.tool_resources
            thread.tool_resources = await self.threads.stores.create_helpers(session, created)
            assistant = await self._assistant(session, request.assistant_id)
            run = self._build_run(request, assistant, thread.id, run_id)
            await _check_active_runs(session)
            self.engine.claim(run)
            await repos.threads.add(session, thread)
            for m in messages:
                await repos.messages.insert(session, m)
            attached = await self.threads.stores.attach(session, thread, messages)
            await self.engine.start_at_once(run)
            await repos.runs.insert(session, run)
        if attached or thread.tool_resources is not created:
            self.threads.stores.wake()
        return thread, run

    async def create_thread_and_run(self, request: pb.CreateThreadAndRunRequest) -> res.Run:
        _, run = await self._create_thread_and_run(request, ids.new_id(ids.RUN))
        self._started(run)
        return self.engine.created_view(run)

    async def stream_thread_and_run(
        self, request: pb.CreateThreadAndRunRequest
    ) -> AsyncIterator[pb.RunEvent]:
        run_id = ids.new_id(ids.RUN)
        async with self.engine.subscribe(run_id) as subscription:
            thread, run = await self._create_thread_and_run(request, run_id)
            # Launched before the first yield: a committed run never waits for its stream's reader. The
            # subscription buffers the run's events behind thread.created.
            self._started(run)
            yield pb.RunEvent(event="thread.created", thread=thread_to_proto(thread))
            async for event in _drain(subscription):
                yield event

    # ----------------------------------------------------------------- read / update

    async def _require_run(self, session: Any, thread_id: str, run_id: str) -> RunRow:
        require_id(thread_id, "thread_id")
        require_id(run_id, "run_id")
        run = await repos.runs.get(session, run_id, thread_id=thread_id)
        if run is None:
            if await repos.threads.get(session, thread_id) is None:
                raise not_found("thread", thread_id, "thread_id")
            raise not_found("run", run_id, "run_id")
        return run

    async def get(self, request: pb.GetRunRequest) -> res.Run:
        async with self.db.read() as session:
            return run_to_proto(await self._require_run(session, request.thread_id, request.run_id))

    async def list(self, request: pb.ListRunsRequest) -> pb.ListRunsResponse:
        require_id(request.thread_id, "thread_id")
        params = page_params(request)

        async def fetch() -> Page[RunRow]:
            async with self.db.read() as session:
                if await repos.threads.get(session, request.thread_id) is None:
                    raise not_found("thread", request.thread_id, "thread_id")
                return await repos.runs.page(session, params, thread_id=request.thread_id)

        return await list_response(pb.ListRunsResponse, "run", fetch, run_to_proto)

    async def update(self, request: pb.UpdateRunRequest) -> res.Run:
        fields = fields_to_update(request, ("metadata",))
        check_metadata(request.metadata)
        async with self.db.write() as session:
            run = await self._require_run(session, request.thread_id, request.run_id)
            if "metadata" in fields:
                run.meta = dict(request.metadata)
                session.add(run)
        return run_to_proto(run)

    async def cancel(self, request: pb.CancelRunRequest) -> res.Run:
        async with self.db.read() as session:
            await self._require_run(session, request.thread_id, request.run_id)
        return run_to_proto(await self.engine.cancel(request.thread_id, request.run_id))

    # ----------------------------------------------------------------- tool outputs

    async def submit_tool_outputs(self, request: pb.SubmitToolOutputsRequest) -> res.Run:
        async with self.db.read() as session:
            await self._require_run(session, request.thread_id, request.run_id)
        run = await self.engine.submit_tool_outputs(request.thread_id, request.run_id, request.tool_outputs)
        return run_to_proto(run)

    async def stream_submit_tool_outputs(
        self, request: pb.SubmitToolOutputsRequest
    ) -> AsyncIterator[pb.RunEvent]:
        async with self.db.read() as session:
            await self._require_run(session, request.thread_id, request.run_id)
        async with self.engine.subscribe(request.run_id) as subscription:
            await self.engine.submit_tool_outputs(request.thread_id, request.run_id, request.tool_outputs)
            async for event in _drain(subscription):
                yield event

    # ----------------------------------------------------------------- watch

    async def watch(self, request: pb.WatchRunRequest) -> AsyncIterator[pb.RunEvent]:
        async with self.db.read() as session:
            stored = await self._require_run(session, request.thread_id, request.run_id)
        watched = self.engine.watch(request.run_id)
        if watched is None and stored.status in EXECUTING_RUN_STATUSES:
            # Executing in another process sharing the database: follow it from there.
            async for event in follow_remote(self.engine.bus, self.db, stored):
                yield event
            yield pb.RunEvent(event="done")
            return
        if watched is None:
            async with self.db.read() as session:
                run = await self._require_run(session, request.thread_id, request.run_id)
            yield pb.RunEvent(event=f"thread.run.{run.status}", run=run_to_proto(run))
            yield pb.RunEvent(event="done")
            return
        subscription, snapshot = watched
        async with subscription:
            for event in snapshot:
                yield event
            async for event in _drain(subscription):
                yield event

    # ----------------------------------------------------------------- steps

    async def list_steps(self, request: pb.ListRunStepsRequest) -> pb.ListRunStepsResponse:
        params = page_params(request)
        include = _check_include(request.include)

        async def fetch() -> Page[RunStepRow]:
            async with self.db.read() as session:
                await self._require_run(session, request.thread_id, request.run_id)
                return await repos.run_steps.page(
                    session, params, run_id=request.run_id, thread_id=request.thread_id
                )

        return await list_response(
            pb.ListRunStepsResponse, "run step", fetch, lambda row: step_to_proto(row, include)
        )

    async def get_step(self, request: pb.GetRunStepRequest) -> res.RunStep:
        require_id(request.step_id, "step_id")
        include = _check_include(request.include)
        async with self.db.read() as session:
            await self._require_run(session, request.thread_id, request.run_id)
            step = await repos.run_steps.get(session, request.step_id, run_id=request.run_id)
        if step is None:
            raise not_found("run step", request.step_id, "step_id")
        return step_to_proto(step, include)


async def _drain(subscription: Subscription) -> AsyncIterator[pb.RunEvent]:
    """The subscription's events, then ``done``; a subscriber cut off for being slow gets an error."""
    async for event in subscription.events():
        yield event
    if subscription.overflowed:
        raise cut_off_error()
    yield pb.RunEvent(event="done")


def _check_include(values: Iterable[str]) -> list[str]:
    """The ``include`` values, each one Pygentic knows."""
    for value in values:
        if value not in INCLUDE_VALUES:
            raise invalid("include", f"unsupported value {shorten(value)}.")
    return list(values)
