"""The approximate first stage of large stores: clustered vectors, probed nearest cluster first."""

from __future__ import annotations

import numpy as np

from pygentic.ingestion.clusters import ClusterSettings, cluster_order


def _clustered(n: int, topics: int, dims: int = 64, seed: int = 3) -> np.ndarray:
    """Unit vectors around ``topics`` random directions, as embeddings of texts on a few subjects are."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((topics, dims))
    rows = centers[rng.integers(0, topics, n)] + 0.6 * rng.standard_normal((n, dims))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float32)


def test_small_stores_are_searched_exactly() -> None:
    matrix = _clustered(500, 5)
    assert cluster_order(matrix, ClusterSettings(approximate_above=500)) is None
    assert cluster_order(_clustered(30_000, 50), ClusterSettings(approximate_above=0)) is None


def test_probing_the_nearest_clusters_finds_the_nearest_vectors() -> None:
    matrix = _clustered(30_000, 200)
    order, clusters = cluster_order(matrix, ClusterSettings(approximate_above=20_000))  # type: ignore[misc]
    assert sorted(order.tolist()) == list(range(len(matrix)))  # a permutation: every row once
    grouped = matrix[order]
    assert clusters.offsets[0] == 0 and clusters.offsets[-1] == len(matrix)
    assert len(clusters.centroids) == int(2 * np.sqrt(len(matrix)))
    queries = _clustered(50, 200, seed=11)
    found = 0
    scanned = 0
    for q in queries:
        approximate = clusters.similarity(grouped, q[None, :])
        scanned += int(np.isfinite(approximate).sum())
        exact = grouped @ q
        top = set(np.argsort(-exact)[:10].tolist())
        found += len(top & set(np.argsort(-approximate)[:10].tolist()))
        probed = np.isfinite(approximate)
        np.testing.assert_allclose(approximate[probed], exact[probed], atol=1e-6)  # exact where scanned
    assert found / (10 * len(queries)) >= 0.9  # recall@10 of the first stage
    assert scanned / (len(queries) * len(matrix)) < 0.2  # while reading a fraction of the vectors


def test_several_queries_take_each_rows_best() -> None:
    matrix = _clustered(25_000, 100)
    order, clusters = cluster_order(matrix, ClusterSettings(approximate_above=1, probe_fraction=1.0))  # type: ignore[misc]
    grouped = matrix[order]
    queries = _clustered(3, 100, seed=5)
    np.testing.assert_allclose(
        clusters.similarity(grouped, queries), (grouped @ queries.T).max(axis=1), atol=1e-6
    )
