"""Search over the chunks of vector stores: exact cosine similarity (vectors are unit length) with NumPy.

Each store's vectors are kept in memory once read, with the chunks' ids and files, and read again only
when the store's chunks change (one indexed query per search compares the chunk count and newest chunk
id), so replicas sharing a database stay correct. Only completed files are searched.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func
from sqlmodel import col, select

from pygentic.ingestion.filters import matches
from pygentic.storage import Database
from pygentic.storage.tables import ChunkRow, FileRow, VectorStoreFileRow

MAX_CACHED_STORES = 64


@dataclass(frozen=True)
class Hit:
    """A matching chunk."""

    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, Any] | None


@dataclass(frozen=True)
class _StoreVectors:
    version: tuple[int, int]
    seqs: np.ndarray
    files: list[str]  # the store's file ids; each chunk names its file by position in this list
    file_of: np.ndarray
    matrix: np.ndarray


class VectorIndex:
    """Searches vector stores; one per process (it holds the vectors it has read)."""

    def __init__(self, db: Database, max_stores: int = MAX_CACHED_STORES) -> None:
        self.db = db
        self.max_stores = max_stores
        self._stores: collections.OrderedDict[str, _StoreVectors] = collections.OrderedDict()

    async def _vectors(self, session: Any, store_id: str) -> _StoreVectors:
        count, newest = (
            await session.exec(
                select(func.count(), func.coalesce(func.max(ChunkRow.seq), 0)).where(
                    ChunkRow.vector_store_id == store_id
                )
            )
        ).one()
        version = (int(count), int(newest))
        cached = self._stores.get(store_id)
        if cached is not None and cached.version == version:
            self._stores.move_to_end(store_id)
            return cached
        rows = (
            await session.exec(
                select(ChunkRow.seq, ChunkRow.file_id, ChunkRow.embedding)
                .where(ChunkRow.vector_store_id == store_id)
                .order_by(col(ChunkRow.seq))
            )
        ).all()
        vectors = await asyncio.to_thread(_assemble, version, rows)
        self._stores[store_id] = vectors
        self._stores.move_to_end(store_id)
        while len(self._stores) > self.max_stores:
            self._stores.popitem(last=False)
        return vectors

    async def search(
        self,
        vector_store_ids: list[str],
        queries: np.ndarray,
        *,
        limit: int,
        score_threshold: float = 0.0,
        filters: Any = None,
    ) -> list[Hit]:
        """The ``limit`` best chunks (score = best cosine over the query vectors), at least
        ``score_threshold``, of the completed files whose attributes pass ``filters``."""
        async with self.db.read() as session:
            files = (
                await session.exec(
                    select(
                        VectorStoreFileRow.vector_store_id,
                        VectorStoreFileRow.id,
                        VectorStoreFileRow.attributes,
                    )
                    .where(col(VectorStoreFileRow.vector_store_id).in_(vector_store_ids))
                    .where(VectorStoreFileRow.status == "completed")
                )
            ).all()
            allowed = {
                (store, fid): attributes for store, fid, attributes in files if matches(filters, attributes)
            }
            scored: list[tuple[float, int, str, str]] = []  # score, chunk seq, store, file
            for store_id in vector_store_ids:
                vectors = await self._vectors(session, store_id)
                if not len(vectors.seqs) or vectors.matrix.shape[1] != queries.shape[1]:
                    continue  # empty, or indexed with another embedding model
                wanted = [i for i, f in enumerate(vectors.files) if (store_id, f) in allowed]
                if not wanted:
                    continue
                scores = (vectors.matrix @ queries.T).max(axis=1)
                if len(wanted) < len(vectors.files):
                    scores[~np.isin(vectors.file_of, wanted)] = -np.inf
                count = min(limit, len(scores))
                top = np.argpartition(-scores, count - 1)[:count]
                top = top[np.argsort(-scores[top], kind="stable")]
                scored.extend(
                    (float(scores[i]), int(vectors.seqs[i]), store_id, vectors.files[vectors.file_of[i]])
                    for i in top
                    if scores[i] >= score_threshold
                )
            scored.sort(key=lambda item: -item[0])
            best = scored[:limit]
            if not best:
                return []
            seqs = [seq for _, seq, _, _ in best]
            texts = dict(
                (
                    await session.exec(select(ChunkRow.seq, ChunkRow.text).where(col(ChunkRow.seq).in_(seqs)))
                ).all()
            )
            file_ids = {fid for _, _, _, fid in best}
            names = dict(
                (
                    await session.exec(
                        select(FileRow.id, FileRow.filename).where(col(FileRow.id).in_(file_ids))
                    )
                ).all()
            )
        return [
            Hit(
                file_id=fid,
                filename=names.get(fid, ""),
                score=round(score, 6),
                text=texts[seq],
                attributes=allowed[(store, fid)],
            )
            for score, seq, store, fid in best
        ]


def _assemble(version: tuple[int, int], rows: list[Any]) -> _StoreVectors:
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return _StoreVectors(version, empty, [], empty, np.zeros((0, 0), dtype=np.float32))
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    files: dict[str, int] = {}
    file_of = np.fromiter((files.setdefault(r[1], len(files)) for r in rows), dtype=np.int64, count=len(rows))
    seqs = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return _StoreVectors(version, seqs, list(files), file_of, matrix)
