"""Search over the chunks of vector stores: exact cosine similarity (vectors are unit length), computed
with NumPy over the candidate chunks' stored embeddings. Only completed files are searched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlmodel import col, select

from pygentic.ingestion.filters import matches
from pygentic.storage import Database
from pygentic.storage.tables import ChunkRow, FileRow, VectorStoreFileRow


@dataclass(frozen=True)
class Hit:
    """A matching chunk."""

    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, Any] | None


async def search(
    db: Database,
    vector_store_ids: list[str],
    queries: np.ndarray,
    *,
    limit: int,
    score_threshold: float = 0.0,
    filters: Any = None,
) -> list[Hit]:
    """The ``limit`` best chunks (score = best cosine over the query vectors), at least
    ``score_threshold``, of the files whose attributes pass ``filters``."""
    async with db.read() as session:
        files = (
            await session.exec(
                select(
                    VectorStoreFileRow.vector_store_id, VectorStoreFileRow.id, VectorStoreFileRow.attributes
                )
                .where(col(VectorStoreFileRow.vector_store_id).in_(vector_store_ids))
                .where(VectorStoreFileRow.status == "completed")
            )
        ).all()
        allowed = {
            (store, file_id): attributes
            for store, file_id, attributes in files
            if matches(filters, attributes)
        }
        if not allowed:
            return []
        rows = (
            await session.exec(
                select(ChunkRow.seq, ChunkRow.vector_store_id, ChunkRow.file_id, ChunkRow.embedding).where(
                    col(ChunkRow.vector_store_id).in_(vector_store_ids)
                )
            )
        ).all()
        candidates = [
            (seq, store, file_id, blob) for seq, store, file_id, blob in rows if (store, file_id) in allowed
        ]
        if not candidates:
            return []
        matrix = np.frombuffer(b"".join(c[3] for c in candidates), dtype=np.float32).reshape(
            len(candidates), -1
        )
        if matrix.shape[1] != queries.shape[1]:
            return []  # indexed with another embedding model
        scores = (matrix @ queries.T).max(axis=1)
        best = np.argsort(-scores, kind="stable")[:limit]
        best = [int(i) for i in best if scores[i] >= score_threshold]
        if not best:
            return []
        seqs = [candidates[i][0] for i in best]
        texts = dict(
            (await session.exec(select(ChunkRow.seq, ChunkRow.text).where(col(ChunkRow.seq).in_(seqs)))).all()
        )
        file_ids = {candidates[i][2] for i in best}
        names = dict(
            (
                await session.exec(select(FileRow.id, FileRow.filename).where(col(FileRow.id).in_(file_ids)))
            ).all()
        )
    return [
        Hit(
            file_id=candidates[i][2],
            filename=names.get(candidates[i][2], ""),
            score=float(round(float(scores[i]), 6)),
            text=texts[candidates[i][0]],
            attributes=allowed[(candidates[i][1], candidates[i][2])],
        )
        for i in best
    ]
