"""Vector stores Pygentic creates on a client's behalf, as OpenAI does: a thread's own store, created on
demand for the files messages attach for ``file_search``; and the stores a request's
``tool_resources.file_search.vector_stores`` helper describes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pygentic import ids
from pygentic.codec import to_json
from pygentic.ingestion.chunking import AUTO, check_strategy
from pygentic.operations.validation import check_metadata
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


class ImplicitStores:
    """Creates stores and adds files inside the caller's transaction; ``wake`` starts the ingestion once it
    has committed."""

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

    def parse(self, message: Any, param: str = "tool_resources") -> dict[str, Any] | None:
        """A request's ``tool_resources`` as JSON, its helpers validated (still to be created)."""
        if message is None:
            return None
        resources = to_json(message)
        helpers = (resources.get("file_search") or {}).get("vector_stores") or []
        for i, helper in enumerate(helpers):
            where = f"{param}.file_search.vector_stores[{i}]"
            helper["chunking_strategy"] = check_strategy(
                helper.get("chunking_strategy"), f"{where}.chunking_strategy"
            )
            check_metadata(helper.get("metadata") or {}, f"{where}.metadata")
        return resources

    async def create_helpers(self, session: Any, resources: dict[str, Any] | None) -> dict[str, Any] | None:
        """``resources`` with each ``file_search.vector_stores`` helper created (its files added) and
        replaced by the new store's id. Call :attr:`wake` after the commit when stores were made."""
        if not resources:
            return resources
        file_search = dict(resources.get("file_search") or {})
        helpers = file_search.pop("vector_stores", None) or []
        if not helpers:
            return resources
        store_ids = list(file_search.get("vector_store_ids") or [])
        t = now()
        for helper in helpers:
            store = VectorStoreRow(
                id=ids.new_id(ids.VECTOR_STORE),
                created_at=t,
                meta=dict(helper.get("metadata") or {}),
                last_active_at=t,
            )
            await repos.vector_stores.add(session, store)
            for file_id in dict.fromkeys(helper.get("file_ids") or []):
                await repos.vector_store_files.add(
                    session,
                    VectorStoreFileRow(
                        id=file_id,
                        vector_store_id=store.id,
                        created_at=t,
                        chunking_strategy=helper.get("chunking_strategy") or AUTO,
                    ),
                )
            store_ids.append(store.id)
        file_search["vector_store_ids"] = store_ids
        return {**resources, "file_search": file_search}
