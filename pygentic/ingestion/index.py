"""Search over the chunks of vector stores: exact cosine similarity (vectors are unit length) with NumPy,
alone or fused with keyword (BM25) ranking.

Each store's vectors and keyword postings are kept in memory once read, with the chunks' ids and files,
and read again only when the store's chunks change: every transaction that adds or removes chunks bumps
the store's ``chunks_version``, which each search reads (a primary-key lookup), so replicas sharing a
database stay correct. Only completed files are searched. The arithmetic runs in a worker thread.

Similarity is found in two stages. The first compares the query with every chunk's pooled vector (for a
chunk the embedded model read in several windows, the normalised mean of their vectors) and keeps the
best :data:`CANDIDATES` by it, and as many by BM25. The second rescores those candidates by their best
*passage*: a chunk's similarity is its highest cosine over its windows' own vectors (read from the
database for the candidates only), so a sentence that answers the question counts fully instead of
being averaged with the rest of an 800-token chunk. A chunk embedded whole (one window, or an embedding
service) is its own only passage.

Hybrid ranking is weighted reciprocal rank fusion, as OpenAI's ``hybrid_search`` describes it: a chunk
scores ``embedding_weight / (60 + its rank by similarity) + text_weight / (60 + its rank by BM25)`` over
the candidates of each ranking, divided by the best possible value so that scores lie in (0, 1] (1:
first in both). In both rankings ``score_threshold`` is a floor on (rescored) similarity, so it keeps its
meaning. ``benchmarks/retrieval_quality.py`` measures the rankings on a shipped corpus.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import bindparam
from sqlmodel import col, select

from pygentic.config import EmbeddingSettings
from pygentic.ingestion.clusters import Clusters, cluster_order
from pygentic.ingestion.filters import matches
from pygentic.ingestion.keywords import KeywordIndex
from pygentic.ingestion.ranking import VECTOR_ONLY, Ranking
from pygentic.storage import Database
from pygentic.storage.tables import ChunkRow, FileRow, VectorStoreFileRow, VectorStoreRow

# The statements of every search, built once (building a statement costs more Python than running it).
_COMPLETED_FILES = (
    select(
        VectorStoreFileRow.vector_store_id,
        VectorStoreFileRow.id,
        VectorStoreFileRow.attributes,
        VectorStoreRow.chunks_version,
    )
    .join(VectorStoreRow, col(VectorStoreRow.id) == col(VectorStoreFileRow.vector_store_id))
    .where(col(VectorStoreFileRow.vector_store_id).in_(bindparam("stores", expanding=True)))
    .where(VectorStoreFileRow.status == "completed")
)
_PASSAGES = select(ChunkRow.seq, ChunkRow.passages).where(
    col(ChunkRow.seq).in_(bindparam("seqs", expanding=True)), col(ChunkRow.passages).is_not(None)
)
_TEXTS = (
    select(ChunkRow.seq, ChunkRow.text, FileRow.filename)
    .join(FileRow, col(FileRow.id) == col(ChunkRow.file_id), isouter=True)
    .where(col(ChunkRow.seq).in_(bindparam("seqs", expanding=True)))
)

MAX_CACHED_STORES = 64
RRF_K = 60
CANDIDATES = 100  # per ranking and store: rescored by passage, then ranked (and fused in hybrid ranking)


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
    version: int
    seqs: np.ndarray
    files: list[str]  # the store's file ids; each chunk names its file by position in this list
    file_of: np.ndarray
    matrix: np.ndarray
    keywords: KeywordIndex
    clusters: Clusters | None = None  # large stores: the approximate first stage


class VectorIndex:
    """Searches vector stores; one per process (it holds the vectors it has read)."""

    def __init__(
        self, db: Database, max_stores: int = MAX_CACHED_STORES, settings: EmbeddingSettings | None = None
    ) -> None:
        self.db = db
        self.max_stores = max_stores
        self.settings = settings or EmbeddingSettings()  # approximate_above, probe_fraction
        self._stores: collections.OrderedDict[str, _StoreVectors] = collections.OrderedDict()

    async def _vectors(self, store_id: str, version: int) -> _StoreVectors:
        """The store's vectors at ``version`` (its ``chunks_version``), read unless cached (a bulk read,
        off the event loop's thread on SQLite)."""
        cached = self._stores.get(store_id)
        if cached is not None and cached.version == version:
            self._stores.move_to_end(store_id)
            return cached
        async with self.db.read(bulk=True) as session:
            rows = (
                await session.exec(
                    select(ChunkRow.seq, ChunkRow.file_id, ChunkRow.embedding, ChunkRow.text)
                    .where(ChunkRow.vector_store_id == store_id)
                    .order_by(col(ChunkRow.seq))
                )
            ).all()
        vectors = await asyncio.to_thread(_assemble, version, rows, self.settings)
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
        filters: Any = None,
        query_texts: list[str] | None = None,
        ranking: Ranking = VECTOR_ONLY,
    ) -> list[Hit]:
        """The ``limit`` best chunks of the completed files whose attributes pass ``filters`` and whose
        similarity to the query (its best cosine over the query vectors) is at least
        ``ranking.score_threshold``. By similarity alone, that similarity is the chunk's score; in hybrid
        ranking, the score fuses its rank by similarity with its BM25 rank for ``query_texts``."""
        keyword_query = " ".join(query_texts or []) if ranking.hybrid else ""
        # Small reads (a few rows, the candidates' passages): inline on SQLite, no thread hand-offs.
        async with self.db.read() as session:
            # The stores' completed files and the stores' chunk versions, in one statement.
            files = (await session.exec(_COMPLETED_FILES, params={"stores": list(vector_store_ids)})).all()
            allowed = {
                (store, fid): attributes
                for store, fid, attributes, _ in files
                if matches(filters, attributes)
            }
            versions = {store: version for store, _, _, version in files}
            pool = max(limit, CANDIDATES)
            work = []
            for store_id in vector_store_ids:
                if store_id not in versions:
                    continue
                vectors = await self._vectors(store_id, versions[store_id] or 0)
                if not len(vectors.seqs) or vectors.matrix.shape[1] != queries.shape[1]:
                    continue  # empty, or indexed with another embedding model
                wanted = [i for i, f in enumerate(vectors.files) if (store_id, f) in allowed]
                if wanted:
                    work.append((store_id, vectors, wanted))
            # The arithmetic runs in a worker thread (NumPy releases the GIL), not on the event loop.
            by_vector, by_text = await asyncio.to_thread(_candidates, work, queries, keyword_query, pool)
            similarity = await _rescore(session, by_vector + by_text, queries)
            floor = ranking.score_threshold
            by_vector = [
                _Candidate(similarity[c.seq], c.seq, c.store_id, c.file_id)
                for c in by_vector
                if similarity[c.seq] >= floor
            ]
            by_text = [c for c in by_text if similarity[c.seq] >= floor]
            if ranking.hybrid:
                scored = _fuse(by_vector, by_text, ranking)
            else:
                scored = sorted(((c.value, c) for c in by_vector), key=lambda item: -item[0])
            best = scored[:limit]
            if not best:
                return []
            rows = (await session.exec(_TEXTS, params={"seqs": [c.seq for _, c in best]})).all()
            texts = {seq: text for seq, text, _ in rows}
            names = {seq: filename for seq, _, filename in rows}
        return [
            Hit(
                file_id=c.file_id,
                filename=names.get(c.seq) or "",
                score=round(score, 6),
                text=texts[c.seq],
                attributes=allowed[(c.store_id, c.file_id)],
            )
            for score, c in best
        ]


async def _rescore(session: Any, candidates: list[_Candidate], queries: np.ndarray) -> dict[int, float]:
    """Each candidate's similarity by its best passage (over the queries): its pooled similarity when it
    has no passages of its own."""
    similarity = {c.seq: c.similarity for c in candidates}
    if not similarity:
        return similarity
    rows = (await session.exec(_PASSAGES, params={"seqs": list(similarity)})).all()
    size = 4 * queries.shape[1]  # bytes of one float32 vector
    # (Passages of another size were written by another embedding model: the pooled similarity stays.)
    rows = [(seq, passages) for seq, passages in rows if passages and len(passages) % size == 0]
    if rows:
        # One product over all the candidates' passages, then each chunk's best (rows are contiguous).
        parts = np.frombuffer(b"".join(p for _, p in rows), dtype=np.float32).reshape(-1, queries.shape[1])
        best = (parts @ queries.T).max(axis=1)
        starts = np.cumsum([0] + [len(p) // size for _, p in rows[:-1]])
        for (seq, _), value in zip(rows, np.maximum.reduceat(best, starts), strict=True):
            similarity[seq] = float(value)
    return similarity


def _candidates(
    work: list[tuple[str, _StoreVectors, list[int]]],
    queries: np.ndarray,
    keyword_query: str,
    pool: int,
) -> tuple[list[_Candidate], list[_Candidate]]:
    """The best ``pool`` chunks of each store by pooled similarity, and by BM25 when ``keyword_query`` is
    set; every candidate carries its pooled similarity."""
    by_vector: list[_Candidate] = []
    by_text: list[_Candidate] = []
    for store_id, vectors, wanted in work:
        if vectors.clusters is not None:  # a large store: the nearest clusters only
            similarity = vectors.clusters.similarity(vectors.matrix, queries)
        elif len(queries) == 1:
            similarity = vectors.matrix @ queries[0]  # one matrix-vector product, no reduction pass
        else:
            similarity = (vectors.matrix @ queries.T).max(axis=1)
        excluded = None
        if len(wanted) < len(vectors.files):
            excluded = ~np.isin(vectors.file_of, wanted)
            np.copyto(similarity, -np.inf, where=excluded)  # (masked assignment without an index array)
        top = _top(similarity, pool, vectors.seqs)
        by_vector.extend(_as_candidates(top, similarity, similarity[top], store_id, vectors))
        if keyword_query:
            relevance = vectors.keywords.scores(keyword_query)
            if excluded is not None:
                np.copyto(relevance, 0.0, where=excluded)
            top = _top(relevance, pool, vectors.seqs)
            pooled = (vectors.matrix[top] @ queries.T).max(axis=1)  # exact, probed cluster or not
            by_text.extend(
                c for c in _as_candidates(top, relevance, pooled, store_id, vectors) if c.value > 0
            )
    return by_vector, by_text


@dataclass(frozen=True)
class _Candidate:
    value: float  # what it was ranked by: similarity or BM25 score
    seq: int
    store_id: str
    file_id: str
    similarity: float = 0.0


def _top(values: np.ndarray, count: int, seqs: np.ndarray) -> np.ndarray:
    """The rows of the ``count`` highest ``values``, best first; ties in chunk order, whatever the rows'."""
    count = min(count, len(values))
    top = np.argpartition(-values, count - 1)[:count]
    return top[np.lexsort((seqs[top], -values[top]))]


def _as_candidates(
    top: np.ndarray, values: np.ndarray, pooled: np.ndarray, store_id: str, vectors: _StoreVectors
) -> list[_Candidate]:
    """Candidates for the rows ``top`` (``pooled``: their pooled similarities, in that order)."""
    return [
        _Candidate(
            float(values[i]),
            int(vectors.seqs[i]),
            store_id,
            vectors.files[vectors.file_of[i]],
            float(similarity),
        )
        for i, similarity in zip(top, pooled, strict=True)
        if np.isfinite(values[i])
    ]


def _fuse(
    by_vector: list[_Candidate], by_text: list[_Candidate], ranking: Ranking
) -> list[tuple[float, _Candidate]]:
    """Weighted reciprocal rank fusion of the two candidate lists, scaled to (0, 1], best first."""
    fused: dict[int, float] = {}
    candidates: dict[int, _Candidate] = {}
    for weight, ranked in ((ranking.embedding_weight, by_vector), (ranking.text_weight, by_text)):
        if weight <= 0:
            continue  # a ranking without weight contributes no candidates
        ranked = sorted(ranked, key=lambda c: -c.value)
        for rank, candidate in enumerate(ranked, start=1):
            fused[candidate.seq] = fused.get(candidate.seq, 0.0) + weight / (RRF_K + rank)
            candidates.setdefault(candidate.seq, candidate)
    top = (ranking.embedding_weight + ranking.text_weight) / (RRF_K + 1)
    scored = [(fused[seq] / top, candidates[seq]) for seq in fused]
    scored.sort(key=lambda item: (-item[0], item[1].seq))
    return scored


def _assemble(version: int, rows: list[Any], settings: EmbeddingSettings) -> _StoreVectors:
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        matrix = np.zeros((0, 0), dtype=np.float32)
        return _StoreVectors(version, empty, [], empty, matrix, KeywordIndex.build([]))
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    clusters = None
    grouped = cluster_order(matrix, settings.approximate_above, settings.probe_fraction)
    if grouped is not None:  # a large store: rows cluster by cluster
        order, clusters = grouped
        matrix = np.ascontiguousarray(matrix[order])
        rows = [rows[i] for i in order]
    files: dict[str, int] = {}
    file_of = np.fromiter((files.setdefault(r[1], len(files)) for r in rows), dtype=np.int64, count=len(rows))
    seqs = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    keywords = KeywordIndex.build([r[3] for r in rows])
    return _StoreVectors(version, seqs, list(files), file_of, matrix, keywords, clusters)
