"""An approximate first stage for large vector stores: an inverted file over spherical k-means clusters.

Scanning every vector of a store is memory-bound (100,000 x 384 float32 is 150 MB read per query). Above
``approximate_above`` chunks (``[connectors.embeddings]``), a store's vectors are grouped into about
``2 * sqrt(n)`` clusters (spherical k-means on a sample, vectors and centroids of unit length, a fixed
seed so that every replica builds the same index) and stored cluster by cluster; a query is compared
with the centroids and only the vectors of its nearest ``probe_fraction`` of clusters are scored. The
rest keep no similarity (minus infinity), so they are not vector candidates; keyword (BM25) candidates
are still found over all chunks, and every candidate is rescored exactly by its passages
(:mod:`pygentic.ingestion.index`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SEED = 20241115
ITERATIONS = 8
SAMPLE_PER_CLUSTER = 32


@dataclass(frozen=True)
class Clusters:
    """Centroids and where each cluster's rows begin in the store's (cluster-ordered) matrix."""

    centroids: np.ndarray  # (clusters, dims), unit rows
    offsets: np.ndarray  # cluster c holds rows [offsets[c], offsets[c + 1])
    probes: int

    def similarity(self, matrix: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """Each row's best cosine over ``queries`` within the probed clusters; minus infinity elsewhere."""
        nearest = np.argpartition(-(self.centroids @ queries.T), self.probes - 1, axis=0)[: self.probes]
        out = np.full(len(matrix), -np.inf, dtype=np.float32)
        for cluster in np.unique(nearest):
            start, end = int(self.offsets[cluster]), int(self.offsets[cluster + 1])
            if end > start:
                scores = matrix[start:end] @ queries.T
                out[start:end] = scores[:, 0] if scores.shape[1] == 1 else scores.max(axis=1)
        return out


def cluster_order(
    matrix: np.ndarray, approximate_above: int, probe_fraction: float
) -> tuple[np.ndarray, Clusters] | None:
    """The row order that groups ``matrix`` by cluster, and the clusters whose nearest
    ``probe_fraction`` a query scans; None when the store has at most ``approximate_above`` rows (or
    ``approximate_above`` is 0) and is scanned exactly."""
    n = len(matrix)
    if approximate_above <= 0 or n <= approximate_above:
        return None
    count = max(2, int(2 * math.sqrt(n)))
    rng = np.random.default_rng(SEED)
    sample = matrix[rng.choice(n, size=min(n, count * SAMPLE_PER_CLUSTER), replace=False)]
    centroids = sample[rng.choice(len(sample), size=count, replace=False)].copy()
    for _ in range(ITERATIONS):
        assigned = _nearest(sample, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assigned, sample)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        centroids = np.where(empty[:, None], centroids, sums / np.maximum(norms, 1e-12))
    assigned = _nearest(matrix, centroids)
    order = np.argsort(assigned, kind="stable")
    offsets = np.concatenate(([0], np.cumsum(np.bincount(assigned, minlength=count)))).astype(np.int64)
    probes = min(count, max(1, math.ceil(count * probe_fraction)))
    return order, Clusters(centroids.astype(np.float32), offsets, probes)


def _nearest(rows: np.ndarray, centroids: np.ndarray, block: int = 8192) -> np.ndarray:
    """Each row's nearest centroid (highest dot product), in blocks to bound memory."""
    out = np.empty(len(rows), dtype=np.int64)
    for start in range(0, len(rows), block):
        out[start : start + block] = np.argmax(rows[start : start + block] @ centroids.T, axis=1)
    return out
