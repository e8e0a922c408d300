"""How search results are ranked, from the ``ranking_options`` of a search or a ``file_search`` tool."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import ParseDict, ParseError

from pygentic.errors import ApiError, invalid, unsupported
from pygentic.proto.v1 import resources_pb2 as res

#: "auto" and the dated names choose the default ranking; "none" ranks by similarity alone.
RANKERS = ("auto", "default-2024-11-15", "default_2024_08_21", "none")


@dataclass(frozen=True)
class Ranking:
    """How chunks are ordered: by similarity alone (``text_weight`` 0) or fused with keyword ranking."""

    embedding_weight: float = 1.0
    text_weight: float = 1.0
    score_threshold: float = 0.0

    @property
    def hybrid(self) -> bool:
        return self.text_weight > 0


VECTOR_ONLY = Ranking(1.0, 0.0)
DEFAULT = Ranking(1.0, 1.0)


def ranking_of(options: res.FileSearchRankingOptions | None, param: str = "ranking_options") -> Ranking:
    """The ranking ``options`` ask for; INVALID_ARGUMENT naming the field when they are out of range."""
    if options is None:
        return DEFAULT
    threshold = options.score_threshold
    if not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        raise invalid(f"{param}.score_threshold", "must be between 0 and 1.")
    ranker = options.ranker if options.HasField("ranker") else "auto"
    if ranker not in RANKERS:
        raise unsupported(f"{param}.ranker", ranker, RANKERS)
    if ranker == "none":
        return Ranking(1.0, 0.0, threshold)
    if not options.HasField("hybrid_search"):
        return Ranking(DEFAULT.embedding_weight, DEFAULT.text_weight, threshold)
    weights = options.hybrid_search
    for name in ("embedding_weight", "text_weight"):
        value = getattr(weights, name)
        if not (math.isfinite(value) and 0.0 <= value <= 1000.0):
            raise invalid(f"{param}.hybrid_search.{name}", "must be between 0 and 1000.")
    if weights.embedding_weight == 0 and weights.text_weight == 0:
        raise invalid(f"{param}.hybrid_search", "embedding_weight and text_weight cannot both be 0.")
    return Ranking(weights.embedding_weight, weights.text_weight, threshold)


def stored_ranking(options: dict[str, Any] | None) -> Ranking:
    """The ranking of a stored ``file_search`` tool's ``ranking_options`` (checked when it was stored)."""
    if not options:
        return DEFAULT
    try:
        return ranking_of(ParseDict(options, res.FileSearchRankingOptions(), ignore_unknown_fields=True))
    except (ParseError, ApiError):  # an older version let it in: rank as by default
        return DEFAULT
