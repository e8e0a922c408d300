"""Following a run this process does not execute (another replica does): its events from the shared bus,
checked against the database, so a watcher always sees the run's real end, even when notifications were
lost while a bus connection was down."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlmodel import col, select

from pygentic.objects import message_to_proto, run_to_proto
from pygentic.proto.v1 import runs_pb2
from pygentic.runtime.bus import EventBus, cut_off_error
from pygentic.storage import Database
from pygentic.storage import repositories as repos
from pygentic.storage.repositories import EXECUTING_RUN_STATUSES
from pygentic.storage.tables import MessageRow, RunRow

CHECK_AFTER_IDLE_S = 1.0
CLOSING_MESSAGE_EVENTS = ("thread.message.completed", "thread.message.incomplete")


async def follow_remote(bus: EventBus, db: Database, run: RunRow) -> AsyncIterator[runs_pb2.RunEvent]:
    """The events of ``run`` (stored as executing) until its stream ends, without ``done``.

    Starts from the owner's snapshot, or from the stored state when no owner answers. Whenever the run is
    quiet for a second, the database is asked: a run that stopped executing without its closing events
    arriving is finished from what is stored (its final messages, then its status).
    """
    subscription = await bus.watch_remote(run.id)
    if subscription is None:
        subscription = bus.subscribe(run.id)
        yield runs_pb2.RunEvent(event=f"thread.run.{run.status}", run=run_to_proto(run))
    closed_messages: set[str] = set()
    async with subscription:
        async for event in subscription.events_or_idle(CHECK_AFTER_IDLE_S):
            if event is not None:
                if event.event in CLOSING_MESSAGE_EVENTS:
                    closed_messages.add(event.message.id)
                yield event
                continue
            async with db.read() as session:
                stored = await repos.runs.get(session, run.id)
                if stored is None or stored.status in EXECUTING_RUN_STATUSES:
                    continue
                messages = (
                    await session.exec(
                        select(MessageRow)
                        .where(MessageRow.run_id == run.id, MessageRow.status != "in_progress")
                        .order_by(col(MessageRow.created_at), col(MessageRow.seq))
                    )
                ).all()
            for message in messages:
                if message.id not in closed_messages:
                    name = f"thread.message.{message.status}"
                    yield runs_pb2.RunEvent(event=name, message=message_to_proto(message))
            yield runs_pb2.RunEvent(event=f"thread.run.{stored.status}", run=run_to_proto(stored))
            return
        if subscription.overflowed:
            raise cut_off_error()
