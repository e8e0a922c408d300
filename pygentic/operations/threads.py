"""Thread operations: create (with initial messages), get, update, delete (cascading)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from pygentic import ids
from pygentic.errors import invalid, not_found, precondition
from pygentic.objects import ensure_storable, thread_to_proto
from pygentic.operations.implicit_stores import ImplicitStores
from pygentic.operations.messages import message_row_from_input
from pygentic.operations.references import References
from pygentic.operations.validation import check_metadata, check_tool_resources, fields_to_update, require_id
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import threads_pb2 as pb
from pygentic.storage import Database
from pygentic.storage import repositories as repos
from pygentic.storage.repositories import now
from pygentic.storage.rows import new_row
from pygentic.storage.tables import MessageRow, ThreadRow

log = logging.getLogger("pygentic.threads")

MAX_INITIAL_MESSAGES = 32


class ThreadOperations:
    """The Threads API operations."""

    def __init__(
        self,
        db: Database,
        references: References,
        stores: ImplicitStores,
        cleanups: Sequence[Callable[[str], None]] = (),
    ) -> None:
        self.db = db
        self.references = references
        self.stores = stores
        self.cleanups = list(cleanups)  # called with a deleted thread's id (in a worker thread)

    def build(self, request: pb.CreateThreadRequest, param: str = "") -> tuple[ThreadRow, list[Any]]:
        """Validate a new thread (``param`` prefixes field names, e.g. ``thread``) into rows, unsaved."""
        prefix = f"{param}." if param else ""
        check_tool_resources(request.tool_resources, f"{prefix}tool_resources")
        check_metadata(request.metadata, f"{prefix}metadata")
        if len(request.messages) > MAX_INITIAL_MESSAGES:
            raise invalid(f"{prefix}messages", f"at most {MAX_INITIAL_MESSAGES} messages are allowed.")
        created = now()
        thread = new_row(
            ThreadRow,
            id=ids.new_id(ids.THREAD),
            created_at=created,
            tool_resources=self.stores.parse(
                request.tool_resources if request.HasField("tool_resources") else None,
                f"{prefix}tool_resources",
            ),
            meta=dict(request.metadata),
        )
        messages = [
            message_row_from_input(thread.id, m, f"{prefix}messages[{i}]")
            for i, m in enumerate(request.messages)
        ]
        for m in messages:
            m.created_at = created
        ensure_storable(thread_to_proto(thread))
        return thread, messages

    async def check_references(self, thread: ThreadRow, messages: list[MessageRow], param: str = "") -> None:
        """The files and vector stores a new thread and its messages name exist."""
        prefix = f"{param}." if param else ""
        await self.references.check(
            tool_resources=[(thread.tool_resources, f"{prefix}tool_resources")],
            messages=[(m, f"{prefix}messages[{i}]") for i, m in enumerate(messages)],
        )

    async def create(self, request: pb.CreateThreadRequest) -> res.Thread:
        thread, messages = self.build(request)
        await self.check_references(thread, messages)
        async with self.db.write() as session:
            created = thread.tool_resources
            thread.tool_resources = await self.stores.create_helpers(session, created)
            await repos.threads.add(session, thread)
            for m in messages:
                await repos.messages.insert(session, m)
            attached = await self.stores.attach(session, thread, messages)
        if attached or thread.tool_resources is not created:
            self.stores.wake()
        return thread_to_proto(thread)

    async def get(self, request: pb.GetThreadRequest) -> res.Thread:
        require_id(request.thread_id, "thread_id")
        async with self.db.read() as session:
            row = await repos.threads.get(session, request.thread_id)
        if row is None:
            raise not_found("thread", request.thread_id, "thread_id")
        return thread_to_proto(row)

    async def update(self, request: pb.UpdateThreadRequest) -> res.Thread:
        require_id(request.thread_id, "thread_id")
        fields = fields_to_update(request, ("tool_resources", "metadata"))
        check_tool_resources(request.tool_resources)
        check_metadata(request.metadata)
        resources = self.stores.parse(request.tool_resources if request.HasField("tool_resources") else None)
        if "tool_resources" in fields:
            await self.references.check(tool_resources=[(resources, "tool_resources")])
        async with self.db.write() as session:
            row = await repos.threads.get(session, request.thread_id)
            if row is None:
                raise not_found("thread", request.thread_id, "thread_id")
            if "metadata" in fields:
                row.meta = dict(request.metadata)
            if "tool_resources" in fields:
                row.tool_resources = await self.stores.create_helpers(session, resources)
            proto = ensure_storable(thread_to_proto(row))
            session.add(row)
        if "tool_resources" in fields and row.tool_resources is not resources:
            self.stores.wake()
        return proto

    async def delete(self, request: pb.DeleteThreadRequest) -> pb.DeleteThreadResponse:
        require_id(request.thread_id, "thread_id")
        async with self.db.write() as session:
            row = await repos.threads.get(session, request.thread_id, lock=True)
            if row is None:
                raise not_found("thread", request.thread_id, "thread_id")
            active = await repos.runs.active_id_for_thread(session, row.id)
            if active is not None:
                raise precondition(
                    f"Can't delete thread {row.id} while its run {active} is active; cancel it first."
                )
            await repos.threads.delete(session, row)
        for cleanup in self.cleanups:
            try:
                await asyncio.to_thread(cleanup, request.thread_id)
            except Exception as exc:  # the thread is gone either way; leftovers are logged
                log.warning(
                    "thread cleanup failed", extra={"thread_id": request.thread_id, "reason": str(exc)}
                )
        return pb.DeleteThreadResponse(id=request.thread_id, object="thread.deleted", deleted=True)
