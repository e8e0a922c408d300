"""Vector store search latency as a client sees it, at 10,000 and 100,000 chunks.

    .venv/bin/python benchmarks/search_latency.py [--chunks 10000 100000] [--samples 200]

Starts `pygentic serve` (SQLite, the embedded embedding model) as a subprocess, creates a vector store
through the REST gateway, fills it with synthetic chunks (random unit vectors written straight into the
database, since embedding 100,000 real chunks would take hours; each chunk has `--passages` window
vectors, 3 by default, as an 800-token chunk read by the embedded model in 250-token windows, and its
pooled vector is their normalised mean), then times `POST
/v1/vector_stores/{id}/search` from this process over HTTP. Beside it, in the same run: the floor of the
same client and server (`GET /healthz`), and the query's embedding alone (the same model in this process).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from pathlib import Path

import httpx
import numpy as np
from serving import serve_sqlite


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms"


def fill(db_path: Path, store_id: str, chunks: int, passages: int, dims: int = 384) -> None:
    """``chunks`` synthetic chunks of one completed file in ``store_id``, each with ``passages`` passage
    vectors (none when 1: the chunk is its own passage)."""
    rng = np.random.default_rng(7)
    conn = sqlite3.connect(db_path, timeout=30)
    now = int(time.time())
    file_id = f"file-bench{chunks}"
    conn.execute(
        "INSERT INTO files (id, created_at, filename, purpose, bytes, status) VALUES (?, ?, ?, ?, ?, ?)",
        (file_id, now, "synthetic.txt", "assistants", 0, "processed"),
    )
    conn.execute(
        "INSERT INTO vector_store_files (id, vector_store_id, created_at, status, usage_bytes) "
        "VALUES (?, ?, ?, 'completed', 0)",
        (file_id, store_id, now),
    )
    batch = 10_000
    for start in range(0, chunks, batch):
        count = min(batch, chunks - start)
        parts = rng.standard_normal((count, passages, dims)).astype(np.float32)
        parts /= np.linalg.norm(parts, axis=2, keepdims=True)
        vectors = parts.sum(axis=1)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        conn.executemany(
            "INSERT INTO chunks (vector_store_id, file_id, position, text, tokens, embedding, passages) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    store_id,
                    file_id,
                    start + i,
                    f"chunk {start + i} " + "lorem ipsum " * 60,
                    120,
                    v.tobytes(),
                    parts[i].tobytes() if passages > 1 else None,
                )
                for i, v in enumerate(vectors)
            ),
        )
    conn.execute(
        "UPDATE vector_stores SET chunks_version = coalesce(chunks_version, 0) + 1 WHERE id = ?", (store_id,)
    )
    conn.commit()
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--passages", type=int, default=3, help="passage vectors per chunk (1: none)")
    args = parser.parse_args()

    with serve_sqlite() as served, httpx.Client(base_url=served.base_url, timeout=120) as client:
        db_path = served.db_path
        from pygentic.connectors.minilm import MiniLM

        model = MiniLM()
        query = "How do I reset my password?"
        embed = []
        for _ in range(args.samples):
            started = time.perf_counter()
            model.encode([query])
            embed.append(time.perf_counter() - started)
        floor = []
        for _ in range(args.samples):
            started = time.perf_counter()
            client.get("/healthz")
            floor.append(time.perf_counter() - started)
        print(f"floor: GET /healthz                       {percentiles(floor)}")
        print(f"query embedding alone (in this process)   {percentiles(embed)}")
        for count in args.chunks:
            store = client.post("/v1/vector_stores", json={"name": f"bench {count}"}).json()
            fill(db_path, store["id"], count, args.passages)
            body = {"query": query, "max_num_results": 10}
            started = time.perf_counter()
            first = client.post(f"/v1/vector_stores/{store['id']}/search", json=body)
            cold = time.perf_counter() - started
            assert first.status_code == 200 and len(first.json()["data"]) == 10, first.text
            samples = []
            for _ in range(args.samples):
                started = time.perf_counter()
                response = client.post(f"/v1/vector_stores/{store['id']}/search", json=body)
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200
            label = f"search, {count:>7,} chunks x {args.passages} passages (first: {cold * 1000:7.1f} ms)"
            print(f"{label}  {percentiles(samples)}")


if __name__ == "__main__":
    main()
