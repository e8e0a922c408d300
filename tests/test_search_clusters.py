"""The approximate first stage of large stores: clustered vectors, probed nearest cluster first."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import openai
from conftest import make_settings, sdk_client, with_files
from fake_upstream import FakeUpstream

from pygentic.ingestion.clusters import cluster_order


def _clustered(n: int, topics: int, dims: int = 64, seed: int = 3) -> np.ndarray:
    """Unit vectors around ``topics`` random directions, as embeddings of texts on a few subjects are."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((topics, dims))
    rows = centers[rng.integers(0, topics, n)] + 0.6 * rng.standard_normal((n, dims))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float32)


def test_small_stores_are_searched_exactly() -> None:
    matrix = _clustered(500, 5)
    assert cluster_order(matrix, 500, 0.0625) is None
    assert cluster_order(_clustered(30_000, 50), 0, 0.0625) is None


def test_probing_the_nearest_clusters_finds_the_nearest_vectors() -> None:
    matrix = _clustered(30_000, 200)
    order, clusters = cluster_order(matrix, 20_000, 0.0625)  # type: ignore[misc]
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
    order, clusters = cluster_order(matrix, 1, 1.0)  # type: ignore[misc]
    grouped = matrix[order]
    queries = _clustered(3, 100, seed=5)
    np.testing.assert_allclose(
        clusters.similarity(grouped, queries), (grouped @ queries.T).max(axis=1), atol=1e-6
    )


def test_a_clustered_store_ranks_as_the_exact_one_when_every_cluster_is_probed(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    """Clustering reorders a store's rows; chunk ids, files and keyword postings must follow them."""
    settings = with_files(make_settings(f"sqlite:///{tmp_path / 'c.db'}", upstream), tmp_path / "blobs")
    texts = {
        f"note-{i}.txt": f"Note {i}: the {topic} needs part QX{7000 + i} before the {i % 5 + 1}th of May."
        for i, topic in enumerate(["boiler", "grinder", "pump", "steam wand", "drip tray", "water tank"] * 4)
    }
    queries = ["Which part does the pump need?", "QX7013", "steam wand repairs in May"]

    def results(client: openai.OpenAI, store: str) -> list[list[tuple[str, float, str]]]:
        out = []
        for query in queries:
            for options in ({"ranker": "none"}, {}):
                page = client.vector_stores.search(store, query=query, ranking_options=options)  # type: ignore[arg-type]
                out.append([(r.filename, round(r.score, 5), r.content[0].text) for r in page.data])
        return out

    with sdk_client(settings) as client:
        store = client.vector_stores.create(name="notes").id
        batch = client.vector_stores.file_batches.upload_and_poll(
            vector_store_id=store, files=[(n, t.encode()) for n, t in texts.items()], poll_interval_ms=50
        )
        assert batch.file_counts.completed == len(texts)
        exact = results(client, store)
    every = dataclasses.replace(
        settings, embeddings=dataclasses.replace(settings.embeddings, approximate_above=1, probe_fraction=1.0)
    )
    with sdk_client(every) as client:
        assert results(client, store) == exact
    few = dataclasses.replace(
        settings,
        embeddings=dataclasses.replace(settings.embeddings, approximate_above=1, probe_fraction=0.01),
    )
    with sdk_client(few) as client:
        # One cluster of ten is scanned for similarity, but keywords still search every chunk.
        page = client.vector_stores.search(store, query="QX7013")
        assert page.data[0].filename == "note-13.txt"
