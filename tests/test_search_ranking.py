"""Search ranking: BM25 keyword scoring, hybrid ranking (weighted reciprocal rank fusion) against
similarity alone, the ranking options' checks, and static chunk sizes as the SDK sends them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openai
import pytest
from conftest import make_settings, sdk_client, with_files
from fake_upstream import FakeUpstream

from pygentic.config import DatabaseSettings
from pygentic.connectors.embeddings import LOCAL_WINDOW_TOKENS, split_windows
from pygentic.connectors.minilm import MiniLM
from pygentic.ingestion.keywords import KeywordIndex, terms
from pygentic.storage import Database, migrations

# Part numbers mean nothing to an embedding model; keyword ranking finds them.
PARTS = {
    f"part-{i}.txt": f"Replacement part QX{7000 + i} fits the {kind} of the model {i} coffee machine."
    for i, kind in enumerate(["boiler", "grinder", "pump", "steam wand", "drip tray", "water tank"])
}


def test_terms_are_lowercased_stems() -> None:
    assert terms("Abraham BURIED Sarah; burying, bury the dead_men 42") == [
        "abraham",
        "buri",
        "sarah",
        "buri",
        "buri",
        "the",
        "dead",
        "men",
        "42",
    ]


def test_bm25_scores_match_the_formula() -> None:
    texts = ["the cat sat on the mat", "dogs chase cats", "a bird in the hand"]
    index = KeywordIndex.build(texts)
    lengths = np.array([6, 3, 5], dtype=np.float64)
    average = lengths.mean()

    def expected(term_tf: list[int], df: int) -> np.ndarray:
        idf = np.log(1 + (3 - df + 0.5) / (df + 0.5))
        tf = np.array(term_tf, dtype=np.float64)
        return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * lengths / average))

    # "cat" and "cats" are one stem, in chunks 0 and 1; "mat" only in chunk 0.
    want = expected([1, 1, 0], 2) + expected([1, 0, 0], 1)
    assert np.allclose(index.scores("Cat mat"), want, rtol=1e-5)
    assert np.allclose(index.scores("bird"), expected([0, 0, 1], 1), rtol=1e-5)
    assert not index.scores("unknown words").any()
    assert KeywordIndex.build([]).scores("cat").shape == (0,)


@pytest.fixture
def client(tmp_path: Path, upstream: FakeUpstream) -> Iterator[openai.OpenAI]:
    settings = with_files(make_settings(f"sqlite:///{tmp_path / 'r.db'}", upstream), tmp_path / "blobs")
    with sdk_client(settings) as sdk:
        yield sdk


def _store(client: openai.OpenAI) -> str:
    store = client.vector_stores.create(name="parts")
    for name, text in PARTS.items():
        added = client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=(name, text.encode()), poll_interval_ms=50
        )
        assert added.status == "completed"
    return store.id


def test_hybrid_ranking_finds_exact_terms_that_similarity_misses(client: openai.OpenAI) -> None:
    store = _store(client)
    query = "QX7004"
    by_similarity = client.vector_stores.search(store, query=query, ranking_options={"ranker": "none"})
    hybrid = client.vector_stores.search(store, query=query)  # the default ranking
    assert by_similarity.data[0].filename != "part-4.txt"  # the embedding model cannot tell part numbers
    assert hybrid.data[0].filename == "part-4.txt"
    # Reciprocal rank fusion: first by keywords, and by similarity at the rank similarity alone gave it.
    rank = [r.filename for r in by_similarity.data].index("part-4.txt") + 1
    assert hybrid.data[0].score == pytest.approx((1 / 61 + 1 / (60 + rank)) / (2 / 61), abs=1e-6)
    assert all(a.score >= b.score for a, b in zip(hybrid.data, hybrid.data[1:], strict=False))
    assert all(0 < r.score <= 1 for r in hybrid.data)
    # Similarity alone scores by cosine: never 1.0 for a paraphrase.
    assert all(r.score < 0.99 for r in by_similarity.data)
    keywords_only = client.vector_stores.search(
        store,
        query=query,
        max_num_results=3,
        ranking_options={"hybrid_search": {"embedding_weight": 0, "text_weight": 1}},  # type: ignore[typeddict-unknown-key]
    )
    assert [r.filename for r in keywords_only.data] == ["part-4.txt"]  # only one chunk has the term
    # The threshold is a floor on similarity in every ranking.
    assert (
        client.vector_stores.search(store, query=query, ranking_options={"score_threshold": 0.99}).data == []
    )


def test_file_search_tools_use_the_same_ranking_options(client: openai.OpenAI) -> None:
    store = _store(client)
    for options, param in (
        ({"ranking_options": {"ranker": "best"}}, "tools[0].file_search.ranking_options.ranker"),
        ({"ranking_options": {"score_threshold": 2}}, "tools[0].file_search.ranking_options.score_threshold"),
        (
            {"ranking_options": {"hybrid_search": {"embedding_weight": 0, "text_weight": 0}}},
            "tools[0].file_search.ranking_options.hybrid_search",
        ),
        (
            {"ranking_options": {"hybrid_search": {"embedding_weight": -1, "text_weight": 1}}},
            "tools[0].file_search.ranking_options.hybrid_search.embedding_weight",
        ),
        ({"max_num_results": 0}, "tools[0].file_search.max_num_results"),
    ):
        with pytest.raises(openai.BadRequestError) as info:
            client.beta.assistants.create(
                model="echo", tools=[{"type": "file_search", "file_search": options}]
            )  # type: ignore[typeddict-item]
        assert info.value.body["param"] == param  # type: ignore[index]
        if "ranking_options" in options:
            with pytest.raises(openai.BadRequestError) as info:
                client.vector_stores.search(store, query="x", ranking_options=options["ranking_options"])  # type: ignore[arg-type]
            assert info.value.body["param"] == param.removeprefix("tools[0].file_search.")  # type: ignore[index]
    assistant = client.beta.assistants.create(
        model="echo",
        tools=[
            {
                "type": "file_search",
                "file_search": {
                    "ranking_options": {
                        "ranker": "default_2024_08_21",
                        "hybrid_search": {"embedding_weight": 1, "text_weight": 2},
                    }
                },
            }
        ],
    )
    ranking = assistant.model_dump()["tools"][0]["file_search"]["ranking_options"]
    assert ranking["hybrid_search"] == {"embedding_weight": 1, "text_weight": 2}


# One long chunk: ledger filler around a paragraph that answers the question, in the chunk's middle windows.
LEDGER = " ".join(
    f"Invoice {i} for quarterly spreadsheet reconciliation of account {i * 7} was filed and audited."
    for i in range(30)
)
SEAGULLS = (
    "The old lighthouse keeper fed the seagulls every morning. At dawn he climbed down to the rocks with "
    "a bucket of bread, and the seagulls came screaming over the waves to be fed. He fed the gulls for "
    "forty years, and the seagulls knew him; when he was ill the birds waited for him on the rocks. "
)
LONG_CHUNK = f"{LEDGER} {SEAGULLS * 2}{LEDGER}"


def test_a_long_chunk_is_found_by_its_best_passage(client: openai.OpenAI) -> None:
    """Similarity is a chunk's best cosine over the windows the model read, not over their mean."""
    store = client.vector_stores.create(name="passages")
    batch = client.vector_stores.file_batches.upload_and_poll(
        vector_store_id=store.id,
        files=[("ledger.txt", LONG_CHUNK.encode()), ("trains.txt", b"The airport train leaves at noon.")],
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 2000, "chunk_overlap_tokens": 0},
        },
        poll_interval_ms=50,
    )
    assert batch.file_counts.completed == 2
    query = "Who fed the seagulls in the morning?"
    found = client.vector_stores.search(store.id, query=query, ranking_options={"ranker": "none"})
    assert [r.filename for r in found.data] == ["ledger.txt", "trains.txt"]
    model = MiniLM()
    text = found.data[0].content[0].text
    windows = split_windows(model.tokenizer, text, LOCAL_WINDOW_TOKENS)
    assert len(windows) >= 3  # the chunk was read in parts
    q = model.encode([query])[0]
    parts = model.encode(windows)
    pooled = parts.sum(axis=0) / np.linalg.norm(parts.sum(axis=0))
    best = float((parts @ q).max())
    assert found.data[0].score == pytest.approx(best, abs=1e-4)
    assert best > float(pooled @ q) + 0.1  # the mean blurs the answer; a chunk is as good as its best part
    # score_threshold is a floor on that similarity, between the mean's and the best passage's.
    kept = client.vector_stores.search(
        store.id, query=query, ranking_options={"ranker": "none", "score_threshold": round(best - 0.05, 3)}
    )
    assert [r.filename for r in kept.data] == ["ledger.txt"]


def test_static_chunk_sizes_arrive_as_integers(client: openai.OpenAI) -> None:
    """The SDK sends JSON integers; they cross a protobuf Value (a double) and must still be accepted."""
    store = client.vector_stores.create(name="sizes")
    text = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(200))
    batch = client.vector_stores.file_batches.upload_and_poll(
        vector_store_id=store.id,
        files=[("long.txt", text.encode())],
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 150, "chunk_overlap_tokens": 30},
        },
        poll_interval_ms=50,
    )
    assert batch.status == "completed" and batch.file_counts.completed == 1
    (added,) = client.vector_stores.files.list(store.id)
    assert added.chunking_strategy.type == "static"  # type: ignore[union-attr]
    static = added.chunking_strategy.static  # type: ignore[union-attr]
    assert (static.max_chunk_size_tokens, static.chunk_overlap_tokens) == (150, 30)
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.file_batches.create(
            vector_store_id=store.id,
            file_ids=[added.id],
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 150.5, "chunk_overlap_tokens": 30},
            },  # type: ignore[typeddict-item]
        )


def test_searches_see_added_and_removed_files_at_once(client: openai.OpenAI) -> None:
    """Each process caches a store's vectors; the store's chunks_version tells it when they changed."""
    store = _store(client)
    assert client.vector_stores.search(store, query="QX9999").data[0].filename != "new.txt"
    added = client.vector_stores.files.upload_and_poll(
        vector_store_id=store,
        file=("new.txt", b"The QX9999 gasket seals the portafilter."),
        poll_interval_ms=50,
    )
    assert client.vector_stores.search(store, query="QX9999").data[0].filename == "new.txt"
    client.vector_stores.files.delete(file_id=added.id, vector_store_id=store)
    assert all(r.filename != "new.txt" for r in client.vector_stores.search(store, query="QX9999").data)


async def test_an_upgrade_adds_the_columns_and_indexes_a_newer_version_declares(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(DatabaseSettings(url=f"sqlite:///{path}"))
    async with db.engine.begin() as conn:  # the tables of the last release before migrations
        await conn.run_sync(migrations.baseline_metadata().create_all)
    await db.close()
    with sqlite3.connect(path) as conn:  # what an older version's database lacks
        conn.execute("DROP INDEX ix_chunks_file_id")
        conn.execute("ALTER TABLE vector_stores DROP COLUMN chunks_version")
    db = Database(DatabaseSettings(url=f"sqlite:///{path}"))
    await db.create_schema()
    await db.close()
    with sqlite3.connect(path) as conn:
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(chunks)")}
        columns = {row[1] for row in conn.execute("PRAGMA table_info(vector_stores)")}
    assert "ix_chunks_file_id" in indexes and "chunks_version" in columns
