"""Vector store operations: stores, their files, and search. Ingestion runs in the background
(:mod:`pygentic.ingestion.worker`); these operations record what to ingest and read what is indexed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select

from pygentic import ids
from pygentic.codec import value_to_py
from pygentic.connectors.embeddings import EmbeddingConnector, EmbeddingError
from pygentic.errors import ApiError, ErrorKind, invalid, not_found, unsupported
from pygentic.ingestion.chunking import check_strategy
from pygentic.ingestion.filters import check_attributes, check_filter
from pygentic.ingestion.index import VectorIndex
from pygentic.ingestion.ranking import ranking_of
from pygentic.ingestion.worker import IngestionWorker
from pygentic.objects import (
    vector_store_file_batch_to_proto,
    vector_store_file_to_proto,
    vector_store_to_proto,
)
from pygentic.operations.paging import list_response
from pygentic.operations.references import References
from pygentic.operations.validation import (
    MAX_NAME,
    check_metadata,
    check_text,
    fields_to_update,
    page_params,
    require_id,
)
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import vector_stores_pb2 as pb
from pygentic.storage import Database, Page
from pygentic.storage import repositories as repos
from pygentic.storage.repositories import now
from pygentic.storage.tables import VectorStoreFileBatchRow, VectorStoreFileRow, VectorStoreRow

MAX_FILES_PER_REQUEST = 500
MAX_QUERY_CHARS = 4096
FILE_FILTERS = ("in_progress", "completed", "failed", "cancelled")
DAY_S = 86_400
ACTIVITY_RESOLUTION_S = 60


def _expiry(message: Any, param: str = "expires_after") -> dict[str, Any] | None:
    if not message.HasField("expires_after"):
        return None
    expiry = message.expires_after
    if expiry.anchor != "last_active_at":
        raise unsupported(f"{param}.anchor", expiry.anchor, ("last_active_at",))
    if not 1 <= expiry.days <= 365:
        raise invalid(f"{param}.days", f"must be between 1 and 365, got {expiry.days}.")
    return {"anchor": "last_active_at", "days": expiry.days}


def _file_filters(request: Any, **equals: Any) -> dict[str, Any]:
    """Column filters of a file listing: ``equals`` and, with a ``filter``, that status."""
    if request.HasField("filter") and request.filter:
        if request.filter not in FILE_FILTERS:
            raise invalid("filter", f"must be one of {', '.join(FILE_FILTERS)}.")
        equals["status"] = request.filter
    return equals


class VectorStoreOperations:
    """The VectorStores API operations."""

    def __init__(
        self,
        db: Database,
        references: References,
        worker: IngestionWorker,
        embeddings: EmbeddingConnector,
        vector_index: VectorIndex,
    ) -> None:
        self.db = db
        self.references = references
        self.worker = worker
        self.embeddings = embeddings
        self.index = vector_index

    # ----------------------------------------------------------------- stores

    async def create(self, request: pb.CreateVectorStoreRequest) -> res.VectorStore:
        name = request.name if request.HasField("name") else ""
        check_text(name, "name", MAX_NAME)
        check_text(request.description if request.HasField("description") else None, "description", 512)
        check_metadata(request.metadata)
        strategy = check_strategy(value_to_py(request, "chunking_strategy"))
        if len(request.file_ids) > MAX_FILES_PER_REQUEST:
            raise invalid("file_ids", f"at most {MAX_FILES_PER_REQUEST} files are allowed.")
        await self.references.files(list(request.file_ids), "file_ids")
        t = now()
        expires_after = _expiry(request)
        row = VectorStoreRow(
            id=ids.new_id(ids.VECTOR_STORE),
            created_at=t,
            name=name,
            description=request.description if request.HasField("description") else None,
            meta=dict(request.metadata),
            expires_after=expires_after,
            expires_at=t + expires_after["days"] * DAY_S if expires_after else None,
            last_active_at=t,
        )
        async with self.db.write() as session:
            await repos.vector_stores.add(session, row)
            for file_id in dict.fromkeys(request.file_ids):
                await repos.vector_store_files.add(session, self._file_row(row.id, file_id, strategy, None))
        if request.file_ids:
            self.worker.wake()
        return (await self._with_counts([row]))[0]

    async def require(self, vector_store_id: str, session: Any = None) -> VectorStoreRow:
        require_id(vector_store_id, "vector_store_id")
        if session is None:
            async with self.db.read() as own:
                row = await repos.vector_stores.get(own, vector_store_id)
        else:
            row = await repos.vector_stores.get(session, vector_store_id)
        if row is None:
            raise not_found("vector store", vector_store_id, "vector_store_id")
        return row

    async def get(self, request: pb.GetVectorStoreRequest) -> res.VectorStore:
        return (await self._with_counts([await self.require(request.vector_store_id)]))[0]

    async def list(self, request: pb.ListVectorStoresRequest) -> pb.ListVectorStoresResponse:
        params = page_params(request)
        counted: dict[str, res.VectorStore] = {}

        async def fetch() -> Page[VectorStoreRow]:
            async with self.db.read() as session:
                page = await repos.vector_stores.page(session, params)
            counted.update((o.id, o) for o in await self._with_counts(page.items))
            return page

        return await list_response(
            pb.ListVectorStoresResponse, "vector store", fetch, lambda r: counted[r.id]
        )

    async def update(self, request: pb.UpdateVectorStoreRequest) -> res.VectorStore:
        require_id(request.vector_store_id, "vector_store_id")
        fields = fields_to_update(request, ("name", "expires_after", "metadata"))
        check_text(request.name if request.HasField("name") else None, "name", MAX_NAME)
        check_metadata(request.metadata)
        expires_after = _expiry(request)
        async with self.db.write() as session:
            row = await self.require(request.vector_store_id, session)
            if "name" in fields:
                row.name = request.name if request.HasField("name") else ""
            if "metadata" in fields:
                row.meta = dict(request.metadata)
            if "expires_after" in fields:
                row.expires_after = expires_after
                anchor = row.last_active_at or row.created_at
                row.expires_at = anchor + expires_after["days"] * DAY_S if expires_after else None
            session.add(row)
        return (await self._with_counts([row]))[0]

    async def delete(self, request: pb.DeleteVectorStoreRequest) -> pb.DeleteVectorStoreResponse:
        async with self.db.write() as session:
            row = await self.require(request.vector_store_id, session)
            await repos.vector_stores.delete(session, row)
        return pb.DeleteVectorStoreResponse(id=row.id, object="vector_store.deleted", deleted=True)

    async def _with_counts(self, rows: list[VectorStoreRow]) -> list[res.VectorStore]:
        """The API objects, with file counts and usage read in one grouped query."""
        counts, usage = await self._counts(VectorStoreFileRow.vector_store_id, [r.id for r in rows])
        t = now()
        return [vector_store_to_proto(r, counts[r.id], usage[r.id], t) for r in rows]

    async def _counts(self, column: Any, keys: list[str]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """Files by status, and their usage in bytes, per value of ``column`` (a store or batch id)."""
        counts: dict[str, dict[str, int]] = {key: {} for key in keys}
        usage: dict[str, int] = dict.fromkeys(keys, 0)
        if keys:
            async with self.db.read() as session:
                stmt = (
                    select(
                        column,
                        VectorStoreFileRow.status,
                        func.count(),
                        func.coalesce(func.sum(VectorStoreFileRow.usage_bytes), 0),
                    )
                    .where(col(column).in_(keys))
                    .group_by(column, VectorStoreFileRow.status)
                )
                for key, status, count, used in (await session.exec(stmt)).all():
                    counts[key][status] = int(count)
                    usage[key] += int(used)
        return counts, usage

    # ----------------------------------------------------------------- files

    @staticmethod
    def _file_row(
        store_id: str, file_id: str, strategy: dict[str, Any], attributes: dict[str, Any] | None
    ) -> VectorStoreFileRow:
        return VectorStoreFileRow(
            id=file_id,
            vector_store_id=store_id,
            created_at=now(),
            status="in_progress",
            chunking_strategy=strategy,
            attributes=attributes,
        )

    async def create_file(self, request: pb.CreateVectorStoreFileRequest) -> res.VectorStoreFile:
        require_id(request.file_id, "file_id")
        strategy = check_strategy(value_to_py(request, "chunking_strategy"))
        attributes = check_attributes(
            value_to_py(request, "attributes") if request.HasField("attributes") else None
        )
        await self.references.files([request.file_id], "file_id")
        async with self.db.write() as session:
            await self.require(request.vector_store_id, session)
            existing = await repos.vector_store_files.get(
                session, request.file_id, vector_store_id=request.vector_store_id
            )
            if existing is not None:
                return vector_store_file_to_proto(existing)  # adding a file twice is harmless, as at OpenAI
            row = self._file_row(request.vector_store_id, request.file_id, strategy, attributes)
            await repos.vector_store_files.add(session, row)
        self.worker.wake()
        return vector_store_file_to_proto(row)

    async def _require_file(self, session: Any, vector_store_id: str, file_id: str) -> VectorStoreFileRow:
        require_id(file_id, "file_id")
        row = await repos.vector_store_files.get(session, file_id, vector_store_id=vector_store_id)
        if row is None:
            await self.require(vector_store_id, session)
            raise not_found("vector store file", file_id, "file_id")
        return row

    async def get_file(self, request: pb.GetVectorStoreFileRequest) -> res.VectorStoreFile:
        async with self.db.read() as session:
            return vector_store_file_to_proto(
                await self._require_file(session, request.vector_store_id, request.file_id)
            )

    async def list_files(self, request: pb.ListVectorStoreFilesRequest) -> pb.ListVectorStoreFilesResponse:
        params = page_params(request)
        filters = _file_filters(request, vector_store_id=request.vector_store_id)

        async def fetch() -> Page[VectorStoreFileRow]:
            async with self.db.read() as session:
                await self.require(request.vector_store_id, session)
                return await repos.vector_store_files.page(session, params, **filters)

        return await list_response(
            pb.ListVectorStoreFilesResponse, "vector store file", fetch, vector_store_file_to_proto
        )

    async def update_file(self, request: pb.UpdateVectorStoreFileRequest) -> res.VectorStoreFile:
        attributes = check_attributes(
            value_to_py(request, "attributes") if request.HasField("attributes") else {}
        )
        async with self.db.write() as session:
            row = await self._require_file(session, request.vector_store_id, request.file_id)
            row.attributes = attributes or None
            session.add(row)
        return vector_store_file_to_proto(row)

    async def delete_file(self, request: pb.DeleteVectorStoreFileRequest) -> pb.DeleteVectorStoreFileResponse:
        async with self.db.write() as session:
            row = await self._require_file(session, request.vector_store_id, request.file_id)
            await repos.vector_store_files.delete(session, row)
        return pb.DeleteVectorStoreFileResponse(id=row.id, object="vector_store.file.deleted", deleted=True)

    # ----------------------------------------------------------------- file batches

    async def create_batch(self, request: pb.CreateFileBatchRequest) -> res.VectorStoreFileBatch:
        if request.file_ids and request.files:
            raise invalid("files", "give either 'file_ids' or 'files', not both.")
        shared_strategy = check_strategy(value_to_py(request, "chunking_strategy"))
        shared_attributes = check_attributes(
            value_to_py(request, "attributes") if request.HasField("attributes") else None
        )
        items: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
            (file_id, shared_strategy, shared_attributes) for file_id in request.file_ids
        ]
        for i, item in enumerate(request.files):
            strategy = check_strategy(value_to_py(item, "chunking_strategy"), f"files[{i}].chunking_strategy")
            given = value_to_py(item, "attributes") if item.HasField("attributes") else None
            items.append((item.file_id, strategy, check_attributes(given, f"files[{i}].attributes")))
        if not items:
            raise invalid("file_ids", "at least one file is required.")
        if len(items) > MAX_FILES_PER_REQUEST:
            raise invalid("file_ids", f"at most {MAX_FILES_PER_REQUEST} files are allowed.")
        param = "file_ids" if request.file_ids else "files"
        await self.references.files([file_id for file_id, _, _ in items], param)
        batch = VectorStoreFileBatchRow(
            id=ids.new_id(ids.FILE_BATCH), vector_store_id=request.vector_store_id, created_at=now()
        )
        async with self.db.write() as session:
            await self.require(request.vector_store_id, session)
            await repos.file_batches.add(session, batch)
            for file_id, strategy, attributes in {item[0]: item for item in items}.values():
                existing = await repos.vector_store_files.get(
                    session, file_id, vector_store_id=request.vector_store_id
                )
                if existing is not None:
                    existing.batch_id = batch.id
                    session.add(existing)
                    continue
                row = self._file_row(request.vector_store_id, file_id, strategy, attributes)
                row.batch_id = batch.id
                await repos.vector_store_files.add(session, row)
        self.worker.wake()
        return await self._batch(batch)

    async def _require_batch(
        self, session: Any, vector_store_id: str, batch_id: str
    ) -> VectorStoreFileBatchRow:
        require_id(batch_id, "batch_id")
        row = await repos.file_batches.get(session, batch_id, vector_store_id=vector_store_id)
        if row is None:
            await self.require(vector_store_id, session)
            raise not_found("vector store file batch", batch_id, "batch_id")
        return row

    async def _batch(self, row: VectorStoreFileBatchRow) -> res.VectorStoreFileBatch:
        counts, _ = await self._counts(VectorStoreFileRow.batch_id, [row.id])
        return vector_store_file_batch_to_proto(row, counts[row.id])

    async def get_batch(self, request: pb.GetFileBatchRequest) -> res.VectorStoreFileBatch:
        async with self.db.read() as session:
            row = await self._require_batch(session, request.vector_store_id, request.batch_id)
        return await self._batch(row)

    async def cancel_batch(self, request: pb.CancelFileBatchRequest) -> res.VectorStoreFileBatch:
        """Cancel the batch's files still in progress (a worker on one of them stops at its next step)."""
        async with self.db.write() as session:
            row = await self._require_batch(session, request.vector_store_id, request.batch_id)
            result = await session.exec(
                update(VectorStoreFileRow)
                .where(VectorStoreFileRow.batch_id == row.id, VectorStoreFileRow.status == "in_progress")
                .values(status="cancelled", owner=None, lease_expires_at=None)
            )
            if result.rowcount and row.cancelled_at is None:  # a finished batch stays as it ended
                row.cancelled_at = now()
                session.add(row)
        return await self._batch(row)

    async def list_batch_files(
        self, request: pb.ListFileBatchFilesRequest
    ) -> pb.ListVectorStoreFilesResponse:
        params = page_params(request)
        filters = _file_filters(request, vector_store_id=request.vector_store_id, batch_id=request.batch_id)

        async def fetch() -> Page[VectorStoreFileRow]:
            async with self.db.read() as session:
                await self._require_batch(session, request.vector_store_id, request.batch_id)
                return await repos.vector_store_files.page(session, params, **filters)

        return await list_response(
            pb.ListVectorStoreFilesResponse, "vector store file", fetch, vector_store_file_to_proto
        )

    # ----------------------------------------------------------------- search

    async def search(self, request: pb.SearchVectorStoreRequest) -> pb.SearchVectorStoreResponse:
        query = value_to_py(request, "query")
        queries = [query] if isinstance(query, str) else query
        if not isinstance(queries, list) or not queries or not all(isinstance(q, str) and q for q in queries):
            raise invalid("query", "must be a non-empty string or a list of non-empty strings.")
        if len(queries) > 8 or sum(len(q) for q in queries) > MAX_QUERY_CHARS:
            raise invalid("query", f"at most 8 queries of {MAX_QUERY_CHARS} characters in all.")
        limit = request.max_num_results if request.HasField("max_num_results") else 10
        if not 1 <= limit <= 50:
            raise invalid("max_num_results", f"must be between 1 and 50, got {limit}.")
        filters = check_filter(value_to_py(request, "filters"))
        ranking = ranking_of(request.ranking_options if request.HasField("ranking_options") else None)
        await self.touch(request.vector_store_id)
        try:
            vectors = await self.embeddings.embed(queries)
        except EmbeddingError as exc:
            raise ApiError(ErrorKind.UNAVAILABLE, f"The embedding service failed: {exc}") from exc
        hits = await self.index.search(
            [request.vector_store_id],
            vectors,
            limit=limit,
            filters=filters,
            query_texts=queries,
            ranking=ranking,
        )
        response = pb.SearchVectorStoreResponse(
            object="vector_store.search_results.page", search_query=queries, has_more=False
        )
        for hit in hits:
            result = response.data.add(file_id=hit.file_id, filename=hit.filename, score=hit.score)
            result.content.add(type="text", text=hit.text)
            if hit.attributes is not None:
                result.attributes.update(hit.attributes)
        return response

    async def touch(self, vector_store_id: str) -> None:
        """Mark the store active (a search uses it): its expiry counts from now (recorded at most once a
        minute, so searches do not queue on writes). NOT_FOUND if unknown; FAILED_PRECONDITION if it
        has expired."""
        row = await self.require(vector_store_id)
        t = now()
        if row.expires_at is not None and row.expires_at <= t:
            raise ApiError(ErrorKind.FAILED_PRECONDITION, f"Vector store {row.id} has expired.")
        if row.last_active_at is not None and t - row.last_active_at < ACTIVITY_RESOLUTION_S:
            return
        async with self.db.write() as session:
            row = await self.require(vector_store_id, session)
            row.last_active_at = t
            if row.expires_after:
                row.expires_at = t + int(row.expires_after["days"]) * DAY_S
            session.add(row)
