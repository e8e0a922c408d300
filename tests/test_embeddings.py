"""The embedding connectors: the embedded MiniLM matches the reference implementation; an
OpenAI-compatible endpoint is read in index order; long texts are embedded whole."""

from __future__ import annotations

import numpy as np
import pytest
from fake_upstream import FakeUpstream

from pygentic.config import EmbeddingSettings
from pygentic.connectors.embeddings import LocalEmbeddings, OpenAIEmbeddings, split_windows
from pygentic.connectors.minilm import MiniLM

SENTENCES = [
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "A man is playing guitar.",
]
# Computed with Hugging Face transformers (BertModel from the same safetensors, PyTorch 2.13, mean pooling,
# L2 normalisation); the first three pairs are also the similarities the sentence-transformers docs print
# for all-MiniLM-L6-v2.
REFERENCE_SIMILARITY = [
    [1.0, 0.6660, 0.1046, -0.0179],
    [0.6660, 1.0, 0.1411, -0.0220],
    [0.1046, 0.1411, 1.0, 0.1398],
    [-0.0179, -0.0220, 0.1398, 1.0],
]
REFERENCE_FIRST_VALUES = [0.01919575, 0.12008540, 0.15959829, 0.06706591, 0.05007483]


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM()


def test_minilm_matches_the_reference_implementation(model: MiniLM) -> None:
    vectors = model.encode(SENTENCES)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors @ vectors.T, REFERENCE_SIMILARITY, atol=2e-4)
    np.testing.assert_allclose(vectors[0][:5], REFERENCE_FIRST_VALUES, atol=1e-5)
    # Batching and padding do not change a text's vector.
    alone = model.encode([SENTENCES[2]])
    np.testing.assert_allclose(alone[0], vectors[2], atol=1e-5)


async def test_local_embeddings_cover_long_texts(model: MiniLM) -> None:
    connector = LocalEmbeddings(EmbeddingSettings())
    connector._model = model  # share the loaded weights
    long_text = " ".join(f"sentence {i} about rivers, mountains and the sea." for i in range(120))
    windows = split_windows(model.tokenizer, long_text, 250)
    assert len(windows) > 2 and all(model.count_tokens(w) <= 250 for w in windows)
    vectors = await connector.embed([long_text, "short"])
    expected = model.encode(windows).sum(axis=0)
    np.testing.assert_allclose(vectors[0], expected / np.linalg.norm(expected), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (await connector.embed([])).shape == (0, 384)
    # For indexing, a long text keeps its windows' own vectors (its passages); a short one has none.
    indexed = await connector.embed_chunks([long_text, "short"])
    np.testing.assert_allclose(indexed.pooled, vectors, atol=1e-6)
    assert indexed.passages[1] is None and indexed.passages[0] is not None
    np.testing.assert_allclose(indexed.passages[0], model.encode(windows), atol=1e-5)


async def test_openai_compatible_embeddings(upstream: FakeUpstream) -> None:
    connector = OpenAIEmbeddings(
        EmbeddingSettings(type="openai", base_url=upstream.url, model="fake", batch_size=2)
    )
    await connector.connect()
    try:
        vectors = await connector.embed(["abc", "hhh", "aab"])
    finally:
        await connector.disconnect()
    assert vectors.shape == (3, 8) and connector.dimensions == 8
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1]  # rows follow the inputs, not the reply order
    batches = [r["input"] for r in upstream.requests if r.get("model") == "fake"]
    assert batches[-2:] == [["abc", "hhh"], ["aab"]]
