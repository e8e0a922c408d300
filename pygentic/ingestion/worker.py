"""The ingestion worker: turns vector store files ``in_progress`` into indexed chunks, in the background.

Durable and resumable: the ``in_progress`` rows are the queue. A worker claims one with a lease (renewed
while it works), reads the file, extracts its text, chunks and embeds it, then in one transaction replaces
the file's chunks and marks it ``completed`` (only if it is still in progress and still its own). A worker
that dies leaves a lapsed lease, and any worker (this process after a restart, or another replica) takes
the file up again from the start; since chunks are replaced in the final transaction, nothing is indexed
twice. A file that cannot be read ends ``failed`` with ``last_error``; the store is unaffected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import numpy as np
from sqlalchemy import delete, or_, update
from sqlmodel import col, select

from pygentic.connectors.embeddings import ChunkVectors, EmbeddingConnector
from pygentic.errors import error_reference
from pygentic.ingestion.chunking import AUTO, Chunk, chunk_text
from pygentic.ingestion.extract import ExtractionError, extract_text
from pygentic.storage import Database
from pygentic.storage import repositories as repos
from pygentic.storage.blobs import BlobStore
from pygentic.storage.tables import ChunkRow, FileRow, VectorStoreFileRow

log = logging.getLogger("pygentic.ingestion")

LEASE_S = 30.0
POLL_S = 1.0
EMBED_BATCH = 64


class IngestionWorker:
    """One per process; :meth:`wake` after adding files so they start at once."""

    def __init__(
        self, db: Database, blobs: BlobStore, embeddings: EmbeddingConnector, instance_id: str
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.embeddings = embeddings
        self.instance_id = instance_id
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ingestion")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            try:
                claimed = await self._claim()
            except Exception:
                log.exception("ingestion: claiming a file failed")
                claimed = None
            if claimed is None:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), POLL_S)
                continue
            await self._ingest(claimed)

    async def _claim(self) -> VectorStoreFileRow | None:
        async with self.db.write() as session:
            stmt = (
                select(VectorStoreFileRow)
                .where(
                    VectorStoreFileRow.status == "in_progress",
                    or_(
                        col(VectorStoreFileRow.owner).is_(None),
                        col(VectorStoreFileRow.lease_expires_at) < time.time(),
                    ),
                )
                .order_by(col(VectorStoreFileRow.seq))
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            row = (await session.exec(stmt)).first()
            if row is None:
                return None
            row.owner, row.lease_expires_at = self.instance_id, time.time() + LEASE_S
            session.add(row)
        return row

    async def _renew(self, row: VectorStoreFileRow) -> bool:
        """Extend the lease; False when the file is no longer this worker's to ingest."""
        async with self.db.write() as session:
            result = await session.exec(
                update(VectorStoreFileRow)
                .where(
                    VectorStoreFileRow.seq == row.seq,
                    VectorStoreFileRow.owner == self.instance_id,
                    VectorStoreFileRow.status == "in_progress",
                )
                .values(lease_expires_at=time.time() + LEASE_S)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _ingest(self, row: VectorStoreFileRow) -> None:
        started = time.monotonic()
        where = {"vector_store_id": row.vector_store_id, "file_id": row.id}
        try:
            async with self.db.read() as session:
                file = (await session.exec(select(FileRow).where(FileRow.id == row.id))).first()
            if file is None:
                raise ExtractionError("invalid_file", "The file was deleted before it could be indexed.")
            data = b"".join([chunk async for chunk in self.blobs.read(file.id)])
            text = await asyncio.to_thread(extract_text, file.filename, data)
            tokenizer = await self.embeddings.tokenizer()
            chunks = await asyncio.to_thread(chunk_text, tokenizer, text, row.chunking_strategy or AUTO)
            log.info("ingestion: chunked", extra={**where, "chunks": len(chunks), "bytes": len(data)})
            pooled: list[np.ndarray] = []
            passages: list[np.ndarray | None] = []
            for start in range(0, len(chunks), EMBED_BATCH):
                batch = chunks[start : start + EMBED_BATCH]
                vectors = await self.embeddings.embed_chunks([c.text for c in batch])
                pooled.append(vectors.pooled)
                passages.extend(vectors.passages)
                if not await self._renew(row):
                    log.info("ingestion: file cancelled or removed", extra=where)
                    return
                log.info(
                    "ingestion: embedded", extra={**where, "done": start + len(batch), "of": len(chunks)}
                )
            matrix = np.concatenate(pooled) if pooled else np.zeros((0, 0), dtype=np.float32)
            stored = await self._store(row, chunks, ChunkVectors(matrix, passages))
            if stored:
                log.info(
                    "ingestion: completed",
                    extra={**where, "chunks": len(chunks), "seconds": round(time.monotonic() - started, 2)},
                )
        except ExtractionError as exc:
            await self._fail(row, exc.code, exc.message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reference = error_reference()
            log.error("ingestion: failed", exc_info=exc, extra={**where, "error_id": reference})
            await self._fail(row, "server_error", f"The file could not be indexed (reference {reference}).")

    async def _store(self, row: VectorStoreFileRow, chunks: list[Chunk], vectors: ChunkVectors) -> bool:
        usage = (
            sum(len(c.text.encode()) for c in chunks)
            + int(vectors.pooled.nbytes)
            + sum(int(p.nbytes) for p in vectors.passages if p is not None)
        )
        async with self.db.write() as session:
            current = (
                await session.exec(select(VectorStoreFileRow).where(VectorStoreFileRow.seq == row.seq))
            ).first()
            if current is None or current.status != "in_progress" or current.owner != self.instance_id:
                return False
            await session.exec(
                delete(ChunkRow).where(
                    col(ChunkRow.vector_store_id) == row.vector_store_id, col(ChunkRow.file_id) == row.id
                )
            )
            for chunk, vector, parts in zip(chunks, vectors.pooled, vectors.passages, strict=True):
                session.add(
                    ChunkRow(
                        vector_store_id=row.vector_store_id,
                        file_id=row.id,
                        position=chunk.position,
                        text=chunk.text,
                        tokens=chunk.tokens,
                        embedding=np.ascontiguousarray(vector, dtype=np.float32).tobytes(),
                        passages=None if parts is None else np.ascontiguousarray(parts, np.float32).tobytes(),
                    )
                )
            current.status, current.usage_bytes = "completed", usage
            current.owner = current.lease_expires_at = None
            session.add(current)
            await repos.vector_stores.chunks_changed(session, row.vector_store_id)
        return True

    async def _fail(self, row: VectorStoreFileRow, code: str, message: str) -> None:
        log.warning("ingestion: file failed", extra={"file_id": row.id, "code": code, "reason": message})
        try:
            async with self.db.write() as session:
                await session.exec(
                    update(VectorStoreFileRow)
                    .where(VectorStoreFileRow.seq == row.seq, VectorStoreFileRow.status == "in_progress")
                    .values(
                        status="failed",
                        last_error={"code": code, "message": message},
                        owner=None,
                        lease_expires_at=None,
                    )
                )
        except Exception:
            log.exception("ingestion: could not record a failure; the file will be retried")
