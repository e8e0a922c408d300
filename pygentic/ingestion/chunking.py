"""Chunking strategies, as OpenAI's file_search applies them: windows of tokens that overlap.

``auto`` is 800 tokens with 400 overlapping; ``static`` takes ``max_chunk_size_tokens`` (100 to 4096) and
``chunk_overlap_tokens`` (at most half of it). Tokens are the embedding tokenizer's word pieces; chunks are
cut at their boundaries and keep the original text (spacing, case) between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pygentic.errors import invalid, missing

AUTO = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}
MIN_CHUNK, MAX_CHUNK = 100, 4096


@dataclass(frozen=True)
class Chunk:
    """A piece of a file's text and its size in tokens."""

    position: int
    text: str
    tokens: int


def check_strategy(strategy: Any, param: str = "chunking_strategy") -> dict[str, Any]:
    """The strategy as stored on a vector store file (``auto`` resolved to its static sizes)."""
    if strategy is None or (isinstance(strategy, dict) and strategy.get("type") == "auto"):
        return AUTO
    if not isinstance(strategy, dict) or strategy.get("type") != "static":
        raise invalid(f"{param}.type", "must be 'auto' or 'static'.")
    static = strategy.get("static")
    if not isinstance(static, dict):
        raise missing(f"{param}.static", "for a static chunking strategy")
    size, overlap = _whole(static.get("max_chunk_size_tokens")), _whole(static.get("chunk_overlap_tokens"))
    if size is None or not MIN_CHUNK <= size <= MAX_CHUNK:
        raise invalid(
            f"{param}.static.max_chunk_size_tokens", f"must be an integer from {MIN_CHUNK} to {MAX_CHUNK}."
        )
    if overlap is None or not 0 <= overlap <= size // 2:
        raise invalid(
            f"{param}.static.chunk_overlap_tokens",
            "must be an integer from 0 to half of max_chunk_size_tokens.",
        )
    return {"type": "static", "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap}}


def _whole(value: Any) -> int | None:
    """An integer given as JSON (``google.protobuf.Value`` holds every number as a double), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def chunk_text(tokenizer: Any, text: str, strategy: dict[str, Any]) -> list[Chunk]:
    """``text`` as overlapping windows of at most ``max_chunk_size_tokens`` tokens."""
    size = strategy["static"]["max_chunk_size_tokens"]
    overlap = strategy["static"]["chunk_overlap_tokens"]
    offsets = tokenizer.encode(text, add_special_tokens=False).offsets
    if not offsets:
        return []
    chunks: list[Chunk] = []
    start = 0
    while True:
        end = min(start + size, len(offsets))
        piece = text[offsets[start][0] : offsets[end - 1][1]]
        chunks.append(Chunk(position=len(chunks), text=piece, tokens=end - start))
        if end == len(offsets):
            return chunks
        start = end - overlap
