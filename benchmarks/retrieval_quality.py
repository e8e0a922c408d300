"""Retrieval quality of vector store search on the shipped corpus: recall@5 and MRR, by ranking.

    .venv/bin/python benchmarks/retrieval_quality.py [--chunk-tokens 200 --overlap 50]

Starts `pygentic serve` (SQLite, the embedded embedding model) as a subprocess and, through the REST
gateway with the `openai` SDK, uploads the five public-domain books of `tests/data/retrieval/` into one
vector store (`file_batches.upload_and_poll`; the default `auto` chunking, 800 tokens with 400
overlapping, or static chunks of `--chunk-tokens`), then asks each of the 41 questions of
`questions.json` with `vector_stores.search` under each ranking: similarity alone (`ranker: "none"`),
keyword ranking alone (hybrid weights 0/1) and hybrid (the default, weights 1/1). A result is relevant
when its text contains the question's evidence phrase. Prints, per ranking, recall@5 (questions with a
relevant result in the top 5), recall@1, MRR over the top 10 and the search latency; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

import openai
from serving import serve_sqlite  # benchmarks/ is on the path when a script here runs

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "retrieval"
RANKINGS: dict[str, dict[str, Any]] = {
    "vector only (ranker none)": {"ranker": "none"},
    "keywords only (BM25)": {"ranker": "auto", "hybrid_search": {"embedding_weight": 0, "text_weight": 1}},
    "hybrid (default)": {},
}


def normalised(text: str) -> str:
    return " ".join(text.split())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunk-tokens", type=int, default=None, help="static chunks (default: auto)")
    parser.add_argument("--overlap", type=int, default=0)
    args = parser.parse_args()
    questions = json.loads((CORPUS / "questions.json").read_text())
    books = sorted(CORPUS.glob("*.md"))
    with serve_sqlite() as served:
        client = openai.OpenAI(base_url=f"{served.base_url}/v1", api_key="x", max_retries=0)
        strategy: dict[str, Any] = {"type": "auto"}
        if args.chunk_tokens:
            sizes = {"max_chunk_size_tokens": args.chunk_tokens, "chunk_overlap_tokens": args.overlap}
            strategy = {"type": "static", "static": sizes}
        store = client.vector_stores.create(name="kjv")
        started = time.perf_counter()
        handles = [path.open("rb") for path in books]
        try:
            batch = client.vector_stores.file_batches.upload_and_poll(
                vector_store_id=store.id,
                files=handles,
                chunking_strategy=strategy,  # type: ignore[arg-type]
                poll_interval_ms=200,
            )
        finally:
            for handle in handles:
                handle.close()
        ingest = time.perf_counter() - started
        with sqlite3.connect(served.db_path) as conn:
            chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        words = sum(len(path.read_text().split()) for path in books)
        sizes = f"{args.chunk_tokens} tokens ({args.overlap} overlapping)" if args.chunk_tokens else "auto"
        print(
            f"corpus: {len(books)} files, {words:,} words, {chunks} chunks ({sizes}); batch {batch.status} "
            f"({batch.file_counts.completed} completed) in {ingest:.1f} s"
        )
        print(f"{len(questions)} questions\n")
        print(f"{'ranking':<28} {'recall@1':>9} {'recall@5':>9} {'MRR@10':>7} {'search p50':>11}")
        for label, options in RANKINGS.items():
            ranks: list[int | None] = []
            latency: list[float] = []
            for q in questions:
                evidence = normalised(q["evidence"])
                t0 = time.perf_counter()
                page = client.vector_stores.search(
                    store.id,
                    query=q["question"],
                    max_num_results=10,
                    ranking_options=options,  # type: ignore[arg-type]
                )
                latency.append(time.perf_counter() - t0)
                texts = [normalised(" ".join(c.text for c in r.content)) for r in page.data]
                ranks.append(next((i + 1 for i, t in enumerate(texts) if evidence in t), None))
            recall1 = sum(1 for r in ranks if r == 1) / len(ranks)
            recall5 = sum(1 for r in ranks if r is not None and r <= 5) / len(ranks)
            mrr = sum(1 / r for r in ranks if r is not None) / len(ranks)
            p50 = statistics.median(latency) * 1000
            print(f"{label:<28} {recall1:>9.3f} {recall5:>9.3f} {mrr:>7.3f} {p50:>8.1f} ms")


if __name__ == "__main__":
    main()
