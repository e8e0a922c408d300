"""A thread's own vector store, created on demand, as OpenAI does: files attached to a message for
``file_search`` are added to it, so runs on the thread can search them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pygentic import ids
from pygentic.ingestion.chunking import AUTO
from pygentic.storage import repositories as repos
from pygentic.storage.repositories import now
from pygentic.storage.tables import MessageRow, ThreadRow, VectorStoreFileRow, VectorStoreRow

EXPIRES_AFTER_DAYS = 7  # OpenAI's policy for stores its thread helpers create
DAY_S = 86_400


def file_search_attachments(messages: Iterable[MessageRow]) -> list[str]:
    """The file ids the messages attach for ``file_search``, in order, once each."""
    found: dict[str, None] = {}
    for message in messages:
        for attachment in message.attachments:
            if any(tool.get("type") == "file_search" for tool in attachment.get("tools") or []):
                found[attachment["file_id"]] = None
    return list(found)


class ThreadStores:
    """Adds attached files to their thread's vector store inside the caller's transaction; ``wake`` starts
    the ingestion once it has committed."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self.wake = wake

    async def attach(self, session: Any, thread: ThreadRow, messages: Iterable[MessageRow]) -> bool:
        """Add the messages' file_search attachments to the thread's store (created if it has none).
        True when files were added (call :attr:`wake` after the commit)."""
        file_ids = file_search_attachments(messages)
        if not file_ids:
            return False
        resources = dict(thread.tool_resources or {})
        file_search = dict(resources.get("file_search") or {})
        store_ids = list(file_search.get("vector_store_ids") or [])
        if store_ids:
            store_id = store_ids[0]
        else:
            t = now()
            store = VectorStoreRow(
                id=ids.new_id(ids.VECTOR_STORE),
                created_at=t,
                name=f"Files of {thread.id}",
                expires_after={"anchor": "last_active_at", "days": EXPIRES_AFTER_DAYS},
                expires_at=t + EXPIRES_AFTER_DAYS * DAY_S,
                last_active_at=t,
            )
            await repos.vector_stores.add(session, store)
            store_id = store.id
            file_search["vector_store_ids"] = [store_id]
            resources["file_search"] = file_search
            thread.tool_resources = resources
            session.add(thread)
        for file_id in file_ids:
            if await repos.vector_store_files.get(session, file_id, vector_store_id=store_id) is None:
                await repos.vector_store_files.add(
                    session,
                    VectorStoreFileRow(
                        id=file_id, vector_store_id=store_id, created_at=now(), chunking_strategy=AUTO
                    ),
                )
        return True
