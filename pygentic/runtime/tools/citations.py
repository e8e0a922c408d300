"""``file_citation`` annotations from the markers file_search results carry (``【c4f2:0†faq.md】``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MARKER = re.compile(r"【([^†】]+)†([^】]*)】")


def sources_of(steps: Iterable[Any]) -> dict[str, str]:
    """Marker key -> file id, from a run's file_search step entries."""
    sources: dict[str, str] = {}
    for step in steps:
        for call in (step.step_details or {}).get("tool_calls", []):
            if call.get("type") == "file_search":
                sources.update((call.get("_model") or {}).get("sources") or {})
    return sources


def annotations(text: str, sources: dict[str, str]) -> list[dict[str, Any]]:
    """A ``file_citation`` for every marker in ``text`` that names a known result."""
    found = []
    for match in MARKER.finditer(text):
        file_id = sources.get(match.group(1))
        if file_id is None:
            continue
        found.append(
            {
                "type": "file_citation",
                "text": match.group(0),
                "start_index": match.start(),
                "end_index": match.end(),
                "file_citation": {"file_id": file_id},
            }
        )
    return found
