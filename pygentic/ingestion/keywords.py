"""Keyword ranking (Okapi BM25) over a vector store's chunks, for hybrid search.

Terms are lowercased runs of letters and digits reduced to their stems by the Snowball English stemmer
("buried", "burying" and "bury" are one term). The index is built in memory from the chunks' text when a
store's vectors are read (:mod:`pygentic.ingestion.index`), as compressed postings: for every term, the
chunks that contain it and how often. Scoring a query touches only the postings of its terms.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import snowballstemmer

TERM = re.compile(r"[^\W_]+", re.UNICODE)
K1 = 1.2
B = 0.75
MAX_CACHED_STEMS = 200_000

_stemmer = snowballstemmer.stemmer("english")
_stems: dict[str, str] = {}


def _stem(word: str) -> str:
    stem = _stems.get(word)
    if stem is None:
        stem = _stemmer.stemWord(word)
        if len(_stems) >= MAX_CACHED_STEMS:
            _stems.clear()
        _stems[word] = stem
    return stem


def terms(text: str) -> list[str]:
    """The text's terms, in order."""
    return [_stem(word) for word in TERM.findall(text.lower())]


@dataclass(frozen=True)
class KeywordIndex:
    """BM25 postings of a list of chunks (chunk ``i`` is the ``i``-th text it was built from)."""

    vocabulary: dict[str, int]
    offsets: np.ndarray  # term t's postings are [offsets[t], offsets[t + 1])
    chunks: np.ndarray  # chunk index of each posting
    weights: np.ndarray  # BM25 term-frequency part of each posting (idf applied at query time)
    idf: np.ndarray
    size: int

    @classmethod
    def build(cls, texts: Sequence[str]) -> KeywordIndex:
        vocabulary: dict[str, int] = {}
        term_ids: list[int] = []
        chunk_ids: list[int] = []
        counts: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.float32)
        for i, text in enumerate(texts):
            words = Counter(TERM.findall(text.lower()))  # stem each distinct word once
            lengths[i] = sum(words.values())
            stems: Counter[str] = Counter()
            for word, count in words.items():
                stems[_stem(word)] += count
            for term, count in stems.items():
                term_ids.append(vocabulary.setdefault(term, len(vocabulary)))
                chunk_ids.append(i)
                counts.append(count)
        t = np.asarray(term_ids, dtype=np.int64)
        order = np.argsort(t, kind="stable")
        chunks = np.asarray(chunk_ids, dtype=np.int64)[order]
        tf = np.asarray(counts, dtype=np.float32)[order]
        frequency = np.bincount(t, minlength=len(vocabulary))
        offsets = np.concatenate(([0], np.cumsum(frequency))).astype(np.int64)
        average = float(lengths.mean()) if len(texts) and lengths.mean() > 0 else 1.0
        norm = K1 * (1 - B + B * lengths[chunks] / average)
        weights = (tf * (K1 + 1) / (tf + norm)).astype(np.float32)
        n = len(texts)
        idf = np.log(1 + (n - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
        return cls(vocabulary, offsets, chunks, weights, idf, n)

    def scores(self, query: str) -> np.ndarray:
        """Every chunk's BM25 score for ``query`` (0 where no term matches)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for term in set(terms(query)):
            t = self.vocabulary.get(term)
            if t is None:
                continue
            start, end = self.offsets[t], self.offsets[t + 1]
            scores[self.chunks[start:end]] += self.idf[t] * self.weights[start:end]
        return scores
