"""Checks that the files and vector stores a request refers to exist: NOT_FOUND naming the first unknown id
(with the field it was given in), before anything is written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select

from pygentic.errors import not_found
from pygentic.operations.files import expired
from pygentic.operations.validation import require_id
from pygentic.storage import Database
from pygentic.storage.repositories import now
from pygentic.storage.tables import FileRow, MessageRow, VectorStoreRow
from pygentic.storage.tenancy import in_project


class References:
    """Looks up referenced ids, all of one request in one query."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def check(
        self,
        *,
        tool_resources: Sequence[tuple[dict[str, Any] | None, str]] = (),
        messages: Sequence[tuple[MessageRow, str]] = (),
    ) -> None:
        """Every file id in ``tool_resources`` (code_interpreter.file_ids) and ``messages`` (attachments,
        image_file parts) names a stored file, and every vector store id a vector store. Each item comes
        with the parameter name to report (``tool_resources``, ``messages[0]``, ...)."""
        files: list[tuple[str, str]] = []
        stores: list[tuple[str, str]] = []
        for resources, param in tool_resources:
            if not resources:
                continue
            for i, file_id in enumerate((resources.get("code_interpreter") or {}).get("file_ids") or []):
                files.append((file_id, f"{param}.code_interpreter.file_ids[{i}]"))
            for i, store_id in enumerate((resources.get("file_search") or {}).get("vector_store_ids") or []):
                stores.append((store_id, f"{param}.file_search.vector_store_ids[{i}]"))
            for i, helper in enumerate((resources.get("file_search") or {}).get("vector_stores") or []):
                for j, file_id in enumerate(helper.get("file_ids") or []):
                    files.append((file_id, f"{param}.file_search.vector_stores[{i}].file_ids[{j}]"))
        for row, param in messages:
            prefix = f"{param}." if param else ""
            for i, attachment in enumerate(row.attachments):
                files.append((attachment.get("file_id", ""), f"{prefix}attachments[{i}].file_id"))
            for i, part in enumerate(row.content):
                if part.get("type") == "image_file":
                    files.append((part["image_file"]["file_id"], f"{prefix}content[{i}].image_file.file_id"))
        if files:
            known = await self._existing_files({file_id for file_id, _ in files})
            for file_id, param in files:
                if file_id not in known:
                    raise not_found("file", file_id, param)
        if stores:
            async with self.db.read() as session:
                ids = {store_id for store_id, _ in stores}
                known = set(
                    (
                        await session.exec(
                            in_project(
                                select(VectorStoreRow.id).where(col(VectorStoreRow.id).in_(ids)),
                                VectorStoreRow,
                            )
                        )
                    ).all()
                )
            for store_id, param in stores:
                if store_id not in known:
                    raise not_found("vector store", store_id, param)

    async def files(self, file_ids: list[str], param: str) -> None:
        """Every id names a stored file (``param`` names the field, indexed when it is a list)."""
        for file_id in file_ids:
            require_id(file_id, param)
        known = await self._existing_files(set(file_ids)) if file_ids else set()
        for i, file_id in enumerate(file_ids):
            if file_id not in known:
                raise not_found("file", file_id, f"{param}[{i}]" if param.endswith("s") else param)

    async def _existing_files(self, file_ids: set[str]) -> set[str]:
        async with self.db.read() as session:
            stmt = in_project(
                select(FileRow.id, FileRow.expires_at).where(col(FileRow.id).in_(file_ids)), FileRow
            )
            rows = (await session.exec(stmt)).all()
        t = now()
        return {file_id for file_id, expires_at in rows if not expired(expires_at, t)}
