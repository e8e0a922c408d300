"""Embedding connectors: text in, unit vectors out (rows of a float32 matrix), for vector store search.

``type = "local"`` (the default) is the embedded all-MiniLM-L6-v2 model (no key, no network);
``type = "openai"`` is any OpenAI-compatible ``/v1/embeddings`` endpoint.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from pygentic.config import EmbeddingSettings, redact_url
from pygentic.connectors.base import BaseConnector

LOCAL_WINDOW_TOKENS = 250  # word pieces per window, leaving room for [CLS] and [SEP] in the model's 256


class EmbeddingError(Exception):
    """The embedding model or service failed."""


@dataclass(frozen=True)
class ChunkVectors:
    """The vectors of chunks to index: ``pooled`` has one unit vector per chunk (its row in search);
    ``passages[i]`` holds chunk ``i``'s passage vectors (one row per part the model read separately),
    or None when the chunk was embedded whole, so that its pooled vector is its only passage."""

    pooled: np.ndarray
    passages: list[np.ndarray | None]


class EmbeddingConnector(BaseConnector):
    """Embeds texts. ``dimensions`` is the vectors' length; vectors have unit length."""

    type = "embeddings"
    dimensions: int = 0
    _tokenizer: Any = None

    async def embed(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text, in order."""
        raise NotImplementedError

    async def embed_chunks(self, texts: list[str]) -> ChunkVectors:
        """The vectors to index ``texts`` with: by default each text embedded whole."""
        return ChunkVectors(await self.embed(texts), [None] * len(texts))

    async def tokenizer(self) -> Any:
        """What measures chunks in tokens: the embedded model's word-piece tokenizer (for any service)."""
        if self._tokenizer is None:
            from pygentic.connectors.minilm import load_tokenizer

            self._tokenizer = await asyncio.to_thread(load_tokenizer)
        return self._tokenizer


class LocalEmbeddings(EmbeddingConnector):
    """The embedded model, run in a worker thread (one batch at a time) so the server stays responsive.

    The model reads at most 256 word pieces; a longer text is embedded as the normalised mean of its
    consecutive 250-piece windows, so every part of a long chunk counts. For indexing
    (:meth:`embed_chunks`) the windows' own vectors are kept too, as the chunk's passages: search
    rescores its candidates by their best passage, which finds a sentence that the mean of a long
    chunk blurs (``benchmarks/retrieval_quality.py``).
    """

    type = "local"
    dimensions = 384

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self._model: Any = None
        self._lock = asyncio.Lock()

    def initialize(self, config: dict[str, Any]) -> None:
        self.config = config

    async def connect(self) -> None:
        """Load the model (a few hundred milliseconds)."""
        from pygentic.connectors.minilm import MiniLM

        if self._model is None:
            self._model = await asyncio.to_thread(MiniLM)

    async def disconnect(self) -> None:
        self._model = None

    def describe(self) -> str:
        return "local all-MiniLM-L6-v2 (384 dimensions)"

    async def embed(self, texts: list[str]) -> np.ndarray:
        return (await self.embed_chunks(texts)).pooled

    async def embed_chunks(self, texts: list[str]) -> ChunkVectors:
        if self._model is None:
            await self.connect()
        async with self._lock:
            return await asyncio.to_thread(self._embed, texts)

    def _embed(self, texts: list[str]) -> ChunkVectors:
        model = self._model
        windows: list[str] = []
        counts: list[int] = []
        for text in texts:
            pieces = split_windows(model.tokenizer, text, LOCAL_WINDOW_TOKENS)
            windows.extend(pieces)
            counts.append(len(pieces))
        vectors = model.encode(windows, batch_size=self.settings.batch_size)
        pooled = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        passages: list[np.ndarray | None] = []
        start = 0
        for i, count in enumerate(counts):
            own = vectors[start : start + count]
            start += count
            pooled[i] = own.sum(axis=0)
            passages.append(own if count > 1 else None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return ChunkVectors(pooled / np.maximum(norms, 1e-12), passages)


def split_windows(tokenizer: Any, text: str, size: int) -> list[str]:
    """``text`` cut at word-piece boundaries into pieces of at most ``size`` word pieces ([""] if empty)."""
    encoding = tokenizer.encode(text, add_special_tokens=False)
    offsets = encoding.offsets
    if len(offsets) <= size:
        return [text]
    pieces = []
    for start in range(0, len(offsets), size):
        end = min(start + size, len(offsets))
        pieces.append(text[offsets[start][0] : offsets[end - 1][1]])
    return pieces


class OpenAIEmbeddings(EmbeddingConnector):
    """An OpenAI-compatible ``/v1/embeddings`` endpoint, through the ``openai`` SDK's async client."""

    type = "openai"

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.dimensions = settings.dimensions or 0
        self.client: Any = None

    def initialize(self, config: dict[str, Any]) -> None:
        self.config = config

    async def connect(self) -> None:
        from pygentic.connectors.openai_compatible import openai_client

        self.client = openai_client(
            self.settings.base_url,
            self.settings.api_key_env,
            self.settings.max_retries,
            self.settings.timeout,
        )

    async def disconnect(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    def describe(self) -> str:
        base = self.settings.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        return f"openai embeddings base_url={redact_url(base)} model={self.settings.model}"

    async def embed(self, texts: list[str]) -> np.ndarray:
        import openai

        if self.client is None:
            await self.connect()
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.settings.batch_size):
            batch = texts[start : start + self.settings.batch_size]
            kwargs: dict[str, Any] = {"model": self.settings.model, "input": batch}
            if self.settings.dimensions:
                kwargs["dimensions"] = self.settings.dimensions
            try:
                response = await self.client.embeddings.create(**kwargs)
            except openai.APIError as exc:
                raise EmbeddingError(f"embeddings request to {self.name} failed: {exc}") from exc
            ordered = sorted(response.data, key=lambda item: item.index)
            if len(ordered) != len(batch):
                raise EmbeddingError(f"{self.name} returned {len(ordered)} vectors for {len(batch)} texts")
            rows.extend(item.embedding for item in ordered)
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        if texts:
            self.dimensions = matrix.shape[1]
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.maximum(norms, 1e-12)


def build_embeddings(settings: EmbeddingSettings) -> EmbeddingConnector:
    """The connector ``[connectors.embeddings]`` configures."""
    if settings.type == "openai":
        return OpenAIEmbeddings(settings)
    return LocalEmbeddings(settings)
