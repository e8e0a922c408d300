"""The run engine: runs execute as asyncio tasks; each state change is committed, then published.

States: ``queued -> in_progress -> completed | failed | incomplete``; ``in_progress -> requires_action ->
queued`` (tool outputs submitted) or ``expired``; any active state ``-> cancelling -> cancelled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select

from pygentic import ids
from pygentic.codec import from_json
from pygentic.config import RunSettings, redact_url
from pygentic.connectors.llm import ChatRequest, LLMConnector, LLMError
from pygentic.connectors.router import LLMRouter
from pygentic.errors import error_reference, invalid, not_found, precondition
from pygentic.metrics import RUN_TRANSITIONS, UPSTREAM_ERRORS, UPSTREAM_FIRST_CHUNK
from pygentic.objects import (
    image_file_part,
    message_to_proto,
    queued_view,
    run_to_proto,
    step_to_proto,
    text_part,
)
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import runs_pb2
from pygentic.runtime.bus import EventBus, SharedEventBus, Subscription
from pygentic.runtime.images import ImageParts
from pygentic.runtime.limits import ConnectorLimits
from pygentic.runtime.prompt import build_conversation, estimate_text_tokens, estimate_tokens, truncate
from pygentic.runtime.toolcalls import AssembledCall, ToolCallAssembler
from pygentic.runtime.tools import Report, Toolbox, ToolExecution, function_entry
from pygentic.runtime.tools.citations import annotations, images_shown, produced_files, sources_of
from pygentic.storage import Database
from pygentic.storage import repositories as repos
from pygentic.storage.repositories import (
    ACTIVE_RUN_STATUSES,
    EXECUTING_RUN_STATUSES,
    TERMINAL_RUN_STATUSES,
    now,
)
from pygentic.storage.rows import new_row
from pygentic.storage.tables import MessageRow, RunRow, RunStepRow
from pygentic.storage.tenancy import set_project
from pygentic.telemetry import INTERNAL, tracer

log = logging.getLogger("pygentic.runs")

FLUSH_INTERVAL_S = 1.0
COMPLETION_RESERVE_TOKENS = 512  # room left for the answer when fitting a prompt into a context window


class RunDeadlineExceeded(Exception):
    """The run executed longer than ``[runs] deadline``."""


@contextlib.asynccontextmanager
async def _deadline(when: float) -> AsyncIterator[None]:
    """Cancel the block at loop time ``when``, as :class:`RunDeadlineExceeded`."""
    timeout = asyncio.timeout_at(when)
    try:
        async with timeout:
            yield
    except TimeoutError:
        if timeout.expired():
            raise RunDeadlineExceeded from None
        raise


# The columns the engine changes on the rows it created (a client may change others, e.g. metadata).
MESSAGE_TEXT = ("content",)
MESSAGE_END = ("content", "status", "completed_at", "incomplete_at", "incomplete_details")
STEP_END = ("status", "completed_at", "step_details", "usage")
RUN_STARTED = ("status", "started_at")
RUN_WAITING = ("status", "required_action", "owner", "lease_expires_at", "usage")
RUN_END = (
    "status",
    "required_action",
    "owner",
    "lease_expires_at",
    "usage",
    "completed_at",
    "failed_at",
    "last_error",
    "cancelled_at",
    "incomplete_details",
)


def usage_of(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """A usage object: the two counts and their total."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def run_event(name: str, **data: Any) -> runs_pb2.RunEvent:
    """A RunEvent named ``name`` carrying one data field (``run=...``, ``message=...``, ...)."""
    return runs_pb2.RunEvent(event=name, **data)


@dataclass
class LiveRun:
    """What the engine holds in memory about a run it is executing."""

    run: RunRow
    message: MessageRow | None = None
    message_step: RunStepRow | None = None
    text: str = ""
    tool_step: RunStepRow | None = None
    tool_calls: ToolCallAssembler = field(default_factory=ToolCallAssembler)
    builtin_calls: set[str] = field(default_factory=set)  # ids of calls a built-in tool (not a function) runs
    sources: dict[str, str] = field(default_factory=dict)  # file_search result markers -> file ids
    # Files the run's tools wrote ({"file_id", "path", "image"}), and the images no message shows yet.
    files: list[dict[str, Any]] = field(default_factory=list)
    pending_images: list[str] = field(default_factory=list)
    cancel_requested: bool = False
    slot_held: bool = False  # started in its creation's transaction: holds its connector's place already
    last_flush: float = 0.0
    connector_name: str = ""  # the connector its model calls go to (for metrics)


class RunEngine:
    """Executes runs and publishes their events."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        router: LLMRouter,
        settings: RunSettings,
        toolbox: Toolbox | None = None,
        instance_id: str | None = None,
        images: ImageParts | None = None,
        limits: ConnectorLimits | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.router = router
        self.settings = settings
        self.toolbox = toolbox or Toolbox()
        self.images = images or ImageParts()
        self._live: dict[str, LiveRun] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        # Runs being created here, stored (or about to be) and not launched yet, with the connector place
        # each took to start at once (None: stored queued). The sweep leaves them alone: on PostgreSQL
        # their creation's commit and their launch are an await apart.
        self._creating: dict[str, LLMConnector | None] = {}
        self.limits = limits or ConnectorLimits()
        self._closing = False
        self.instance_id = instance_id or uuid.uuid4().hex
        self._maintenance: asyncio.Task[None] | None = None
        if isinstance(bus, SharedEventBus):
            bus.snapshot_provider = self.snapshot  # other processes' late joins on runs executing here

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Take over what needs an owner (runs a dead process left), then keep leases and sweeps going."""
        await self.sweep()
        self._maintenance = asyncio.create_task(self._maintain(), name="run maintenance")

    def claim(self, run: RunRow) -> None:
        """Make this process the run's owner (set before the row is written)."""
        run.owner = self.instance_id
        run.lease_expires_at = time.time() + self.settings.lease

    async def sweep(self) -> None:
        """Handle active runs nobody executes any more: those whose owner's lease lapsed (it died) and this
        process's own runs whose task is gone (it died on an error it could not record, e.g. a full disk):
        in_progress -> failed, cancelling -> cancelled, queued -> started here; and expire runs past
        ``expires_at``."""
        t = now()
        resume: list[RunRow] = []
        closed: list[tuple[RunRow, list[MessageRow | RunStepRow]]] = []
        async with self.db.write() as session:
            stmt = (
                select(RunRow)
                .where(
                    col(RunRow.status).in_(EXECUTING_RUN_STATUSES),
                    or_(
                        col(RunRow.owner).is_(None),
                        RunRow.owner == self.instance_id,
                        col(RunRow.lease_expires_at) < time.time(),
                    ),
                    # Executing here, or created here and about to be: not to be touched.
                    col(RunRow.id).not_in([*self._tasks, *self._creating]),
                )
                .with_for_update(skip_locked=True)
            )
            for run in (await session.exec(stmt)).all():
                task = self._tasks.get(run.id)
                if (task is not None and not task.done()) or run.id in self._creating:
                    # Created or launched here while the query waited (the exclusion list is a snapshot).
                    continue
                if run.status == "queued":
                    self.claim(run)
                    session.add(run)
                    resume.append(run)
                    continue
                if run.status == "cancelling":
                    run.status, run.cancelled_at = "cancelled", t
                else:
                    run.status, run.failed_at = "failed", t
                    run.last_error = {
                        "code": "server_error",
                        "message": "The run was interrupted: the server executing it stopped or hit an "
                        "internal error. Start a new run.",
                    }
                run.owner = run.lease_expires_at = None
                session.add(run)
                closed.append((run, await self._close_open_parts(session, run, t)))
                log.warning("run taken over", extra={"run_id": run.id, "status": run.status})
            expired = (
                await session.exec(
                    select(RunRow.id).where(RunRow.status == "requires_action", col(RunRow.expires_at) <= t)
                )
            ).all()
        for run, parts in closed:
            self._publish_closed(run, parts)
            self.publish_run(run, f"thread.run.{run.status}")
            self.bus.end(run.id)
        for run in resume:
            log.info("run resumed", extra={"run_id": run.id})
            self.launch(run)
        for run_id in expired:
            await self._expire(run_id)

    async def _maintain(self) -> None:
        """Every third of a lease: renew this process's leases, pick up cancellations requested through
        another process, and sweep."""
        interval = self.settings.lease / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self._renew_leases()
                await self.sweep()
            except Exception:
                log.exception("run maintenance failed")

    async def _renew_leases(self) -> None:
        async with self.db.write() as session:
            await session.exec(
                update(RunRow)
                .where(
                    RunRow.owner == self.instance_id,
                    col(RunRow.status).in_(EXECUTING_RUN_STATUSES),
                )
                .values(lease_expires_at=time.time() + self.settings.lease)
            )
            cancelling = (
                await session.exec(
                    select(RunRow.id).where(RunRow.owner == self.instance_id, RunRow.status == "cancelling")
                )
            ).all()
        for run_id in cancelling:
            live, task = self._live.get(run_id), self._tasks.get(run_id)
            if live is not None and task is not None and not live.cancel_requested:
                live.cancel_requested = True
                task.cancel()

    async def close(self, grace: float = 5.0) -> None:
        """Let running runs finish for up to ``grace`` seconds, then cancel the rest as failed."""
        self._closing = True
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
        for handle in self._expiry.values():
            handle.cancel()
        self._expiry.clear()
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)

    # ----------------------------------------------------------------- public operations

    def subscribe(self, run_id: str) -> Subscription:
        return self.bus.subscribe(run_id)

    async def start_at_once(self, run: RunRow) -> bool:
        """Before a new run's row is written: if its connector has a free place (and no run waits for one),
        take it and make the run ``in_progress``, so that its creation and its start are one commit and
        it never waits queued. False: it is stored ``queued`` and starts when a place frees up. Either
        way :meth:`publish_created` and :meth:`launch` follow the commit; :meth:`not_started` if the
        transaction fails."""
        self._creating[run.id] = None
        if self._closing:
            return False
        try:
            connector, _ = self.router.resolve(run.model)
        except Exception:
            return False  # its task reports why
        if not await self.limits.take_if_free(connector):
            return False
        run.status, run.started_at = "in_progress", now()
        self._creating[run.id] = connector
        return True

    def not_started(self, run_id: str) -> None:
        """The transaction that was to store a run taken by :meth:`start_at_once` failed: its place back."""
        connector = self._creating.pop(run_id, None)
        if connector is not None:
            self.limits.give_back(connector)

    def publish_created(self, run: RunRow) -> None:
        """A new run's first events: ``created`` and ``queued`` (the run as it was queued), and
        ``in_progress`` too when it started in its creation's transaction."""
        self._publish(run.id, "queued", self.created_view(run), "thread.run.created", "thread.run.queued")
        if run.status == "in_progress":
            self.publish_run(run, "thread.run.in_progress")
            log.info("run in_progress", extra={"run_id": run.id})

    @staticmethod
    def created_view(run: RunRow) -> res.Run:
        """A new run as its ``created``/``queued`` events and the create call's answer show it: queued,
        as at OpenAI, even when it started in its creation's transaction (until its task first runs, a new
        run ``in_progress`` is one that did)."""
        return queued_view(run) if run.status == "in_progress" else run_to_proto(run)

    def launch(self, run: RunRow) -> None:
        """Start executing a new or queued run (its ``thread.run.created``/``queued`` events already
        published)."""
        connector = self._creating.pop(run.id, None)
        running = self._tasks.get(run.id)
        if running is not None and not running.done():
            if connector is not None:
                self.limits.give_back(connector)
            return
        live = self._live.setdefault(run.id, LiveRun(run=run))
        live.run = run
        task = asyncio.create_task(self._traced_drive(live), name=f"run {run.id}")
        self._tasks[run.id] = task
        if connector is not None:
            live.slot_held = True
            held = connector

            def give_back_unused(_: asyncio.Task[None]) -> None:  # cancelled before its first step
                if live.slot_held:
                    live.slot_held = False
                    self.limits.give_back(held)

            task.add_done_callback(give_back_unused)

    def publish_run(self, run: RunRow, *names: str) -> None:
        self._publish(run.id, run.status, run_to_proto(run), *names)

    def _publish(self, run_id: str, status: str, proto: res.Run, *names: str) -> None:
        """The events ``names`` of the run ``proto`` (in ``status``), counted as one transition."""
        RUN_TRANSITIONS.labels(status).inc()
        for name in names:
            self.bus.publish(run_id, run_event(name, run=proto))

    def watch(self, run_id: str) -> tuple[Subscription, list[runs_pb2.RunEvent]] | None:
        """Subscribe to a run this process executes, with the events that rebuild its current state.

        Synchronous on purpose: no event can slip between the snapshot and the subscription.
        """
        events = self.snapshot(run_id)
        if events is None:
            return None
        return self.bus.subscribe(run_id), events

    def snapshot(self, run_id: str) -> list[runs_pb2.RunEvent] | None:
        """The events that rebuild the current state of a run this process executes (None if it does not):
        the run, and the message or tool calls being generated."""
        live = self._live.get(run_id)
        if live is None:
            return None
        events = [run_event(f"thread.run.{live.run.status}", run=run_to_proto(live.run))]
        if (
            live.message_step is not None
            and live.message is not None
            and live.message.status == "in_progress"
        ):
            events.append(run_event("thread.run.step.created", run_step=step_to_proto(live.message_step)))
            created = message_to_proto(live.message)
            del created.content[:]
            events.append(run_event("thread.message.created", message=created))
            events.append(run_event("thread.message.in_progress", message=created))
            if live.text:
                events.append(self._text_delta(live.message.id, live.text))
        if live.tool_step is not None and live.tool_step.status == "in_progress":
            step = step_to_proto(live.tool_step, live.run.include or ())
            del step.step_details.tool_calls[:]
            events.append(run_event("thread.run.step.created", run_step=step))
            for call in live.tool_calls.calls:
                events.append(self._call_created_delta(live, call))
                if call.id in live.builtin_calls and (tool := self.toolbox.tool_for(live.run, call.name)):
                    shown = tool.input_delta(call, "")
                    if shown:
                        events.append(self._builtin_delta(live, call, shown))
        return events

    async def cancel(self, thread_id: str, run_id: str) -> RunRow:
        """Move an active run to ``cancelling``; its task (or this call) then ends it ``cancelled``."""
        async with self.db.write() as session:
            run = await repos.runs.get(session, run_id, thread_id=thread_id)
            if run is None:
                raise not_found("run", run_id, "run_id")
            if run.status not in ACTIVE_RUN_STATUSES:
                raise precondition(f"Cannot cancel run with status '{run.status}'.")
            if run.status == "cancelling":
                return run
            run.status = "cancelling"
            session.add(run)
        live = self._live.get(run_id)
        if live is not None:
            live.run = run
        self.publish_run(run, "thread.run.cancelling")
        log.info("run cancelling", extra={"run_id": run_id})
        task = self._tasks.get(run_id)
        if task is not None and live is not None:
            live.cancel_requested = True
            task.cancel()
        elif run.owner not in (None, self.instance_id) and (run.lease_expires_at or 0) > time.time():
            pass  # another process executes it: it sees "cancelling" at its next lease renewal and stops
        else:
            await self._finish(run, "cancelled")
        return run

    async def submit_tool_outputs(self, thread_id: str, run_id: str, outputs: Sequence[Any]) -> RunRow:
        """Answer every pending tool call exactly once, then continue the run."""
        async with self.db.write() as session:
            run = await repos.runs.get(session, run_id, thread_id=thread_id)
            if run is None:
                raise not_found("run", run_id, "run_id")
            if run.status != "requires_action" or not run.required_action:
                raise precondition(
                    f"Runs in status '{run.status}' do not accept tool outputs (expected 'requires_action')."
                )
            pending = [c["id"] for c in run.required_action["submit_tool_outputs"]["tool_calls"]]
            answers: dict[str, str] = {}
            for i, output in enumerate(outputs):
                if output.tool_call_id not in pending:
                    raise invalid(
                        f"tool_outputs[{i}].tool_call_id", f"'{output.tool_call_id}' is not a pending call."
                    )
                if output.tool_call_id in answers:
                    raise invalid(
                        f"tool_outputs[{i}].tool_call_id", f"'{output.tool_call_id}' is answered twice."
                    )
                answers[output.tool_call_id] = output.output
            missing = [c for c in pending if c not in answers]
            if missing:
                raise invalid("tool_outputs", f"missing outputs for tool calls: {', '.join(missing)}.")
            steps = await self._open_tool_steps(session, run)
            t = now()
            for step in steps:
                details = dict(step.step_details)
                calls = [dict(c) for c in details.get("tool_calls", [])]
                for c in calls:
                    if c.get("id") in answers:
                        c["function"] = {**c["function"], "output": answers[c["id"]]}
                details["tool_calls"] = calls
                step.step_details = details
                step.status, step.completed_at = "completed", t
                session.add(step)
            run.status, run.required_action = "queued", None
            self.claim(run)
            session.add(run)
        self._disarm_expiry(run_id)
        for step in steps:
            completed = step_to_proto(step, run.include or ())
            self.bus.publish(run_id, run_event("thread.run.step.completed", run_step=completed))
        self.publish_run(run, "thread.run.queued")
        log.info("tool outputs submitted", extra={"run_id": run_id, "calls": len(answers)})
        self.launch(run)
        return run

    # ----------------------------------------------------------------- execution

    async def _traced_drive(self, live: LiveRun) -> None:
        """:meth:`_drive` in a ``run`` span (a child of the request that started it, if any)."""
        attributes = {"pygentic.run_id": live.run.id, "pygentic.thread_id": live.run.thread_id}
        with tracer().start_as_current_span("run", kind=INTERNAL, attributes=attributes) as span:
            await self._drive(live)
            span.set_attribute("pygentic.run_status", live.run.status)

    async def _drive(self, live: LiveRun) -> None:
        set_project(live.run.project_id)  # what the run reads and writes is its project's (this task only)
        run_id = live.run.id
        ended = True
        deadline: float | None = None
        started = live.slot_held  # started in its creation's transaction, holding its place
        try:
            connector, model = self.router.resolve(live.run.model)
            live.connector_name = connector.name
            while True:
                # The connector's concurrency limit holds per model call; runs beyond it wait (queued).
                # A place taken at creation passes to the first turn's slot here, with no await between:
                # until then the task's done callback would give it back.
                async with self.limits.slot(connector, taken=live.slot_held):
                    live.slot_held = False
                    if deadline is None:
                        if not started:
                            await self._start(live)
                        deadline = asyncio.get_running_loop().time() + self.settings.deadline
                    async with _deadline(deadline):
                        outcome = await self._generate(live, connector, model)
                if outcome == "server_tools":
                    async with _deadline(deadline):
                        answered = await self._run_server_tools(live)
                    if answered:
                        continue
                    outcome = "waiting"
                ended = outcome == "ended"
                break
        except asyncio.CancelledError:
            if live.cancel_requested:
                await self._end_safely(live, "cancelled")
            else:
                await self._end_safely(
                    live, "failed", ("server_error", "The server shut down during the run; start a new run.")
                )
            if not live.cancel_requested:
                raise
        except RunDeadlineExceeded:
            log.warning(
                "run deadline exceeded", extra={"run_id": run_id, "deadline_s": self.settings.deadline}
            )
            message = f"The run did not finish within its time limit of {self.settings.deadline:g} seconds."
            await self._end_safely(live, "failed", ("server_error", message))
        except LLMError as exc:
            UPSTREAM_ERRORS.labels(live.connector_name, exc.code).inc()
            log.warning("upstream failed", extra={"run_id": run_id, "reason": exc.message})
            await self._end_safely(live, "failed", (exc.code, exc.message))
        except Exception as exc:
            reference = error_reference()
            log.error("run crashed", exc_info=exc, extra={"run_id": run_id, "error_id": reference})
            message = f"The run failed because of an internal error (reference {reference})."
            await self._end_safely(live, "failed", ("server_error", message))
        finally:
            self._tasks.pop(run_id, None)
            if ended:
                self._live.pop(run_id, None)
            self.bus.end(run_id)

    async def _end_safely(self, live: LiveRun, status: str, error: tuple[str, str] | None = None) -> None:
        """End the run; if even that fails (storage down), log it: the task is gone, so the next sweep
        finds the run without a task and ends it once storage works again."""
        try:
            await self._finish(live.run, status, live, error)
        except Exception as exc:
            log.error(
                "could not end run; the sweep will",
                extra={"run_id": live.run.id, "status": status, "reason": type(exc).__name__},
            )

    async def _run_server_tools(self, live: LiveRun) -> bool:
        """Execute the calls server-side tools handle. True: all answered, generate again; False: the
        client must answer the rest (the run now waits in requires_action)."""
        run = live.run
        server = [
            (c, t) for c in live.tool_calls.calls if (t := self.toolbox.tool_for(run, c.name)) is not None
        ]
        results = await asyncio.gather(
            *(tool.execute(run, call, self._reporter(live, call)) for call, tool in server)
        )
        executions = {call.id: result for (call, _), result in zip(server, results, strict=True)}
        for result in results:
            live.sources.update((result.step_call.get("_model") or {}).get("sources") or {})
        if len(executions) < len(live.tool_calls.calls):
            await self._require_action(live, executions)
            return False
        step = live.tool_step
        assert step is not None
        step.step_details = self._tool_details(live, executions)
        step.status, step.completed_at = "completed", now()
        async with self.db.transaction() as session:
            await repos.run_steps.save(session, step, STEP_END)
        completed = step_to_proto(step, run.include or ())
        self.bus.publish(run.id, run_event("thread.run.step.completed", run_step=completed))
        return True

    async def _start(self, live: LiveRun) -> None:
        async with self.db.transaction() as session:
            run = await repos.runs.get(session, live.run.id, detach=True)
            if run is None:
                raise asyncio.CancelledError
            if run.status == "cancelling":  # cancelled before it started: never in_progress
                live.cancel_requested = True
                raise asyncio.CancelledError
            run.status = "in_progress"
            if run.started_at is None:
                run.started_at = now()
            await repos.runs.save(session, run, RUN_STARTED)
        live.run = run
        self.publish_run(run, "thread.run.in_progress")
        log.info("run in_progress", extra={"run_id": run.id})

    async def _generate(self, live: LiveRun, connector: LLMConnector, model: str) -> str:
        """One model turn: "ended", "waiting" (for the client's tool outputs) or "server_tools"."""
        run = live.run
        async with self.db.reading() as db:
            thread_messages = await repos.messages.where(
                db, thread_id=run.thread_id, order=("created_at", "seq")
            )
            thread_steps = await repos.run_steps.where(db, thread_id=run.thread_id)
        steps = [s for s in thread_steps if s.run_id == run.id]
        usage = dict(run.usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
        used_prompt, used_completion = int(usage["prompt_tokens"]), int(usage["completion_tokens"])

        max_tokens = None
        if run.max_completion_tokens is not None:
            max_tokens = run.max_completion_tokens - used_completion
            if max_tokens <= 0:
                await self._finish(run, "incomplete", live, incomplete="max_completion_tokens")
                return "ended"
        conversation = build_conversation(run, thread_messages, thread_steps)
        live.sources = sources_of(steps)
        live.files = produced_files(steps)
        shown = images_shown(m for m in thread_messages if m.run_id == run.id)
        live.pending_images = [
            f["file_id"] for f in live.files if f.get("image") and f["file_id"] not in shown
        ]
        budget = None
        if run.max_prompt_tokens is not None:
            budget = run.max_prompt_tokens - used_prompt
        fit = budget
        window = getattr(connector, "context_window", None)
        if window:  # leave the model room to answer
            room = window - (max_tokens or COMPLETION_RESERVE_TOKENS)
            fit = room if fit is None else min(fit, room)
        conversation = truncate(conversation, run.truncation_strategy, fit)
        messages = conversation.messages()
        prompt_estimate = estimate_tokens(messages)
        if budget is not None and prompt_estimate > budget:
            await self._finish(run, "incomplete", live, incomplete="max_prompt_tokens")
            return "ended"

        tools = await self.toolbox.definitions(run)
        request = ChatRequest(
            model=model,
            messages=await self.images.prepare(messages, connector, run.id),
            tools=tools,
            tool_choice=self.toolbox.tool_choice(run, run.tool_choice) if tools else None,
            parallel_tool_calls=run.parallel_tool_calls if run.tools else None,
            temperature=run.temperature,
            top_p=run.top_p,
            max_completion_tokens=max_tokens,
            response_format=run.response_format if isinstance(run.response_format, dict) else None,
            reasoning_effort=run.reasoning_effort,
        )
        if not request.tools:
            request.tool_choice = None
        elif conversation.run_turns and request.tool_choice not in (None, "auto", "none"):
            # A forced choice applies to the run's first model call; once tool outputs are in, forcing it
            # again would loop forever, so the model decides.
            request.tool_choice = "auto"
        live.tool_calls = ToolCallAssembler()
        finish_reason = None
        prompt_tokens = completion_tokens = None
        called = time.monotonic()
        first = True
        async for chunk in connector.stream_chat(request):
            if first:
                UPSTREAM_FIRST_CHUNK.labels(connector.name).observe(time.monotonic() - called)
                first = False
            if chunk.text:
                await self._append_text(live, chunk.text)
            for delta in chunk.tool_calls:
                await self._append_tool_call(live, delta)
            if chunk.finish_reason:
                finish_reason = chunk.finish_reason
            if chunk.prompt_tokens is not None:
                prompt_tokens = chunk.prompt_tokens
            if chunk.completion_tokens is not None:
                completion_tokens = chunk.completion_tokens
        if prompt_tokens is None:
            prompt_tokens = prompt_estimate
        if completion_tokens is None:
            completion_tokens = estimate_text_tokens(
                live.text + "".join(c.name + c.arguments for c in live.tool_calls.calls)
            )
        used_prompt += prompt_tokens
        used_completion += completion_tokens
        run.usage = usage_of(used_prompt, used_completion)
        # The turn's usage goes on the step that ends it (its tool calls, else its message), so the
        # steps' usage adds up to the run's.
        turn = usage_of(prompt_tokens, completion_tokens)
        if live.tool_calls.calls:
            assert live.tool_step is not None
            live.tool_step.usage = turn
            if live.message is not None:
                assert live.message_step is not None
                live.message_step.usage = usage_of(0, 0)
                await self._complete_message(live, "completed")
            if any(self.toolbox.tool_for(run, c.name) for c in live.tool_calls.calls):
                return "server_tools"
            await self._require_action(live, {})
            return "waiting"
        if live.message is None:
            await self._append_text(live, "")
        assert live.message_step is not None
        live.message_step.usage = turn
        # The message's end and the run's end are one transaction (their events follow in order).
        if finish_reason == "length":
            reason = "max_completion_tokens"
            await self._finish(
                run, "incomplete", live, incomplete=reason, message_done=("incomplete", reason)
            )
        else:
            await self._finish(run, "completed", live, message_done=("completed", None))
        return "ended"

    async def _append_text(self, live: LiveRun, fragment: str) -> None:
        run = live.run
        if live.message is None:
            t = now()
            message = new_row(
                MessageRow,
                id=ids.new_id(ids.MESSAGE),
                created_at=t,
                thread_id=run.thread_id,
                status="in_progress",
                role="assistant",
                content=[],
                assistant_id=run.assistant_id,
                run_id=run.id,
            )
            step = new_row(
                RunStepRow,
                id=ids.new_id(ids.STEP),
                created_at=t,
                thread_id=run.thread_id,
                run_id=run.id,
                assistant_id=run.assistant_id,
                type="message_creation",
                status="in_progress",
                step_details={"type": "message_creation", "message_creation": {"message_id": message.id}},
            )
            async with self.db.transaction() as session:
                await repos.messages.insert(session, message)
                await repos.run_steps.insert(session, step)
            live.message, live.message_step, live.text = message, step, ""
            live.last_flush = time.monotonic()
            self.bus.publish(run.id, run_event("thread.run.step.created", run_step=step_to_proto(step)))
            created = message_to_proto(message)
            self.bus.publish(run.id, run_event("thread.message.created", message=created))
            self.bus.publish(run.id, run_event("thread.message.in_progress", message=created))
        if not fragment:
            return
        live.text += fragment
        self.bus.publish(run.id, self._text_delta(live.message.id, fragment))
        if time.monotonic() - live.last_flush > FLUSH_INTERVAL_S:
            # Keep the partial text durable, so a crash loses at most about a second of it.
            live.last_flush = time.monotonic()
            live.message.content = [text_part(live.text)]
            async with self.db.transaction() as session:
                await repos.messages.save(session, live.message, MESSAGE_TEXT)

    @staticmethod
    def _message_delta(message_id: str, part: res.MessageDeltaContent) -> runs_pb2.RunEvent:
        """A ``thread.message.delta`` with one content part's change."""
        return run_event(
            "thread.message.delta",
            message_delta=res.MessageDelta(
                id=message_id, object="thread.message.delta", delta=res.MessageDeltaBody(content=[part])
            ),
        )

    @staticmethod
    def _text_delta(message_id: str, fragment: str) -> runs_pb2.RunEvent:
        part = res.MessageDeltaContent(index=0, type="text", text=res.Text(value=fragment))
        return RunEngine._message_delta(message_id, part)

    @staticmethod
    def _image_delta(message_id: str, index: int, file_id: str) -> runs_pb2.RunEvent:
        part = res.MessageDeltaContent(
            index=index, type="image_file", image_file=res.ImageFile(file_id=file_id)
        )
        return RunEngine._message_delta(message_id, part)

    @staticmethod
    def _tool_delta(
        step_id: str, position: int, call_id: str | None, name: str, arguments: str
    ) -> runs_pb2.RunEvent:
        call = res.ToolCall(
            index=position, type="function", function=res.FunctionCall(name=name, arguments=arguments)
        )
        if call_id:
            call.id = call_id
        return RunEngine._step_delta(step_id, call)

    @staticmethod
    def _step_delta(step_id: str, call: res.ToolCall) -> runs_pb2.RunEvent:
        """A ``thread.run.step.delta`` with one tool call's part."""
        return run_event(
            "thread.run.step.delta",
            run_step_delta=res.RunStepDelta(
                id=step_id,
                object="thread.run.step.delta",
                delta=res.RunStepDeltaBody(
                    step_details=res.StepDetails(type="tool_calls", tool_calls=[call])
                ),
            ),
        )

    def _call_created_delta(
        self, live: LiveRun, call: AssembledCall, arguments: str | None = None
    ) -> runs_pb2.RunEvent:
        """A call's first delta: a function's id, name and arguments so far, or a built-in tool's type."""
        assert live.tool_step is not None
        if call.id in live.builtin_calls:
            kind = self.toolbox.kind_of(live.run, call.name)
            tool_call = res.ToolCall(index=call.position, id=call.id, type=kind)
            getattr(tool_call, kind).SetInParent()
            return self._step_delta(live.tool_step.id, tool_call)
        text = call.arguments if arguments is None else arguments
        return self._tool_delta(live.tool_step.id, call.position, call.id, call.name, text)

    def _builtin_delta(self, live: LiveRun, call: AssembledCall, part: dict[str, Any]) -> runs_pb2.RunEvent:
        """A step delta with part of a built-in tool's call entry (e.g. code_interpreter input)."""
        assert live.tool_step is not None
        kind = self.toolbox.kind_of(live.run, call.name)
        tool_call = from_json({"index": call.position, "type": kind, kind: part}, res.ToolCall)
        return self._step_delta(live.tool_step.id, tool_call)

    def _reporter(self, live: LiveRun, call: AssembledCall) -> Report:
        """The ``report`` callback of one call's execution: its parts become step deltas."""

        def report(part: dict[str, Any]) -> None:
            self.bus.publish(live.run.id, self._builtin_delta(live, call, part))

        return report

    async def _append_tool_call(self, live: LiveRun, delta: Any) -> None:
        run = live.run
        if live.tool_step is None or live.tool_step.status != "in_progress":
            step = new_row(
                RunStepRow,
                id=ids.new_id(ids.STEP),
                created_at=now(),
                thread_id=run.thread_id,
                run_id=run.id,
                assistant_id=run.assistant_id,
                type="tool_calls",
                status="in_progress",
                step_details={"type": "tool_calls", "tool_calls": []},
            )
            async with self.db.transaction() as session:
                await repos.run_steps.insert(session, step)
            live.tool_step = step
            self.bus.publish(run.id, run_event("thread.run.step.created", run_step=step_to_proto(step)))
        call, is_new, new_name, fragment = live.tool_calls.add(delta)
        if is_new:
            if self.toolbox.kind_of(run, call.name) != "function":
                live.builtin_calls.add(call.id)  # streamed as its type; its tool shows what it wants
            self.bus.publish(run.id, self._call_created_delta(live, call, fragment))
        if call.id in live.builtin_calls:
            tool = self.toolbox.tool_for(run, call.name)
            if fragment and tool is not None:
                shown = tool.input_delta(call, call.arguments[: len(call.arguments) - len(fragment)])
                if shown:
                    self.bus.publish(run.id, self._builtin_delta(live, call, shown))
            return
        if is_new:
            return
        if new_name or fragment:
            self.bus.publish(
                run.id, self._tool_delta(live.tool_step.id, call.position, None, new_name, fragment)
            )

    async def _complete_message(self, live: LiveRun, status: str, reason: str | None = None) -> None:
        message, step, images = self._mark_message_done(live, status, reason)
        async with self.db.transaction() as session:
            await repos.messages.save(session, message, MESSAGE_END)
            await repos.run_steps.save(session, step, STEP_END)
        self._publish_message_done(live, message, step, images)

    @staticmethod
    def _mark_message_done(
        live: LiveRun, status: str, reason: str | None
    ) -> tuple[MessageRow, RunStepRow, list[str]]:
        """Set the generated message's final content (text, annotations, the tools' images) and status,
        and complete its step; the rows to write and the images added."""
        message, step = live.message, live.message_step
        assert message is not None and step is not None
        t = now()
        images = live.pending_images
        message.content = [
            text_part(live.text, annotations(live.text, live.sources, live.files)),
            *(image_file_part(file_id) for file_id in images),
        ]
        live.pending_images = []
        message.status = status
        if status == "completed":
            message.completed_at = t
        else:
            message.incomplete_at, message.incomplete_details = t, {"reason": reason or "run_failed"}
        step.status, step.completed_at = "completed", t
        return message, step, images

    def _publish_message_done(
        self, live: LiveRun, message: MessageRow, step: RunStepRow, images: list[str]
    ) -> None:
        """After the commit: the images (after the text), the message's and its step's final events."""
        for index, file_id in enumerate(images, start=1):
            self.bus.publish(live.run.id, self._image_delta(message.id, index, file_id))
        event = "thread.message.completed" if message.status == "completed" else "thread.message.incomplete"
        self.bus.publish(live.run.id, run_event(event, message=message_to_proto(message)))
        self.bus.publish(live.run.id, run_event("thread.run.step.completed", run_step=step_to_proto(step)))
        live.message = live.message_step = None
        live.text = ""

    @staticmethod
    def _tool_details(live: LiveRun, executions: dict[str, ToolExecution]) -> dict[str, Any]:
        """The step's calls: each executed one as its tool recorded it, the others as functions awaiting
        their output."""
        calls = [
            executions[c.id].step_call if c.id in executions else function_entry(c, None)
            for c in live.tool_calls.calls
        ]
        return {"type": "tool_calls", "tool_calls": calls}

    async def _require_action(self, live: LiveRun, executions: dict[str, ToolExecution]) -> None:
        """Wait for the client's outputs of the calls not answered server-side (``executions``)."""
        run, step = live.run, live.tool_step
        assert step is not None
        step.step_details = self._tool_details(live, executions)
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in live.tool_calls.calls
            if c.id not in executions
        ]
        run.status = "requires_action"
        run.required_action = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
        run.owner = run.lease_expires_at = None  # nobody executes it while it waits for the client
        async with self.db.transaction() as session:
            await repos.run_steps.save(session, step, STEP_END)
            await repos.runs.save(session, run, RUN_WAITING)
        self.publish_run(run, "thread.run.requires_action")
        log.info("run requires_action", extra={"run_id": run.id, "calls": len(calls)})
        self._live.pop(run.id, None)
        self._arm_expiry(run)

    async def _finish(
        self,
        run: RunRow,
        status: str,
        live: LiveRun | None = None,
        error: tuple[str, str] | None = None,
        incomplete: str | None = None,
        message_done: tuple[str, str | None] | None = None,
    ) -> None:
        """End the run in ``status``, closing its open message and steps, and publish the terminal events.
        ``message_done`` (status, reason): first complete the message being generated, in the same
        transaction."""
        t = now()
        done = None
        async with self.db.transaction() as session:
            stored = await repos.runs.get(session, run.id, detach=True)
            if stored is None:
                return
            if stored.status in TERMINAL_RUN_STATUSES:
                return
            if stored.status == "cancelling" and status in ("completed", "incomplete"):
                status = "cancelled"  # the answer ended as the cancel came in: the client asked to cancel
            stored.status = status
            stored.required_action = None
            stored.owner = stored.lease_expires_at = None
            stored.usage = run.usage or stored.usage
            if status == "completed":
                stored.completed_at = t
            elif status == "failed":
                stored.failed_at = t
                stored.last_error = {"code": error[0], "message": redact_url(error[1])} if error else None
            elif status == "cancelled":
                stored.cancelled_at = t
            elif status == "incomplete":
                stored.incomplete_details = {"reason": incomplete}
            await repos.runs.save(session, stored, RUN_END)
            if live is not None and live.message is not None and message_done is not None:
                done = self._mark_message_done(live, *message_done)
                await repos.messages.save(session, done[0], MESSAGE_END)
                await repos.run_steps.save(session, done[1], STEP_END)
            elif live is not None and live.message is not None:
                live.message.content = [text_part(live.text)]
                await repos.messages.save(session, live.message, MESSAGE_TEXT)
            closed = await self._close_open_parts(session, stored, t, status)
        if done is not None and live is not None:
            self._publish_message_done(live, *done)
        self._publish_closed(run, closed)
        run.status = stored.status
        self.publish_run(stored, f"thread.run.{status}")
        self._disarm_expiry(run.id)
        self.bus.end(run.id)
        if live is not None:
            live.message = live.message_step = None
        fields: dict[str, Any] = {"run_id": run.id}
        if error:
            fields["error"] = error[1]
        log.info(f"run {status}", extra=fields)

    def _publish_closed(self, run: RunRow, closed: list[MessageRow | RunStepRow]) -> None:
        """The events of the messages and steps :meth:`_close_open_parts` ended."""
        for item in closed:
            if isinstance(item, RunStepRow):
                self.bus.publish(
                    run.id,
                    run_event(
                        f"thread.run.step.{item.status}", run_step=step_to_proto(item, run.include or ())
                    ),
                )
            else:
                self.bus.publish(
                    run.id, run_event("thread.message.incomplete", message=message_to_proto(item))
                )

    async def _close_open_parts(
        self, session: Any, run: RunRow, t: int, status: str | None = None
    ) -> list[MessageRow | RunStepRow]:
        """Mark the run's in-progress messages incomplete and in-progress steps failed/cancelled/expired."""
        status = status or run.status
        step_status = {"cancelled": "cancelled", "expired": "expired"}.get(status, "failed")
        reason = {
            "cancelled": "run_cancelled",
            "expired": "run_expired",
            "incomplete": "max_completion_tokens",
        }.get(status, "run_failed")
        closed: list[MessageRow | RunStepRow] = []
        if not await repos.runs.has_open_parts(session, run.id):
            return closed  # the usual end: the message and steps were closed before
        for m in await repos.messages.where(session, run_id=run.id, status="in_progress"):
            m.status, m.incomplete_at, m.incomplete_details = "incomplete", t, {"reason": reason}
            await repos.messages.save(session, m, ("status", "incomplete_at", "incomplete_details"))
            closed.append(m)
        for s in await repos.run_steps.where(session, run_id=run.id, status="in_progress"):
            s.status = step_status
            if step_status == "cancelled":
                s.cancelled_at = t
                await repos.run_steps.save(session, s, ("status", "cancelled_at"))
            elif step_status == "expired":
                s.expired_at = t
                await repos.run_steps.save(session, s, ("status", "expired_at"))
            else:
                s.failed_at, s.last_error = t, run.last_error
                await repos.run_steps.save(session, s, ("status", "failed_at", "last_error"))
            closed.append(s)
        return closed

    async def _open_tool_steps(self, session: Any, run: RunRow) -> list[RunStepRow]:
        stmt = select(RunStepRow).where(
            RunStepRow.run_id == run.id, RunStepRow.type == "tool_calls", RunStepRow.status == "in_progress"
        )
        return list((await session.exec(stmt)).all())

    # ----------------------------------------------------------------- expiry

    def _arm_expiry(self, run: RunRow) -> None:
        if self._closing or run.expires_at is None:
            return
        self._disarm_expiry(run.id)
        created = run.created_at
        delay = max(0.0, created + self.settings.expires_after - time.time())
        loop = asyncio.get_running_loop()
        self._expiry[run.id] = loop.call_later(delay, lambda: asyncio.ensure_future(self._expire(run.id)))

    def _disarm_expiry(self, run_id: str) -> None:
        handle = self._expiry.pop(run_id, None)
        if handle is not None:
            handle.cancel()

    async def _expire(self, run_id: str) -> None:
        self._expiry.pop(run_id, None)
        async with self.db.read() as session:
            run = await repos.runs.get(session, run_id)
        if run is not None and run.status == "requires_action":
            with contextlib.suppress(Exception):
                await self._finish(run, "expired")
