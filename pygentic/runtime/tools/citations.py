"""A message's annotations: ``file_citation`` from the markers file_search results carry
(``【c4f2:0†faq.md】``), ``file_path`` from the ``sandbox:/mnt/data/...`` paths of files the code
interpreter wrote."""

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


def produced_files(steps: Iterable[Any]) -> list[dict[str, Any]]:
    """The files a run's tools wrote (``{"file_id", "path", "image"}``), from its step entries."""
    files: list[dict[str, Any]] = []
    for step in steps:
        for call in (step.step_details or {}).get("tool_calls", []):
            files.extend((call.get("_model") or {}).get("files") or [])
    return files


def images_shown(messages: Iterable[Any]) -> set[str]:
    """The file ids of the ``image_file`` parts of ``messages``."""
    return {
        (part.get("image_file") or {}).get("file_id")
        for message in messages
        for part in message.content or []
        if part.get("type") == "image_file"
    }


def annotations(
    text: str, sources: dict[str, str], files: Iterable[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """A ``file_citation`` for every marker in ``text`` that names a known result, and a ``file_path``
    for every mention of a written file's sandbox path; in the order they appear."""
    found = _citations(text, sources) + _file_paths(text, files)
    found.sort(key=lambda a: a["start_index"])
    return found


def _file_paths(text: str, files: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    by_path = {f["path"]: f["file_id"] for f in files if f.get("path")}
    if not by_path:
        return []
    pattern = re.compile("|".join(re.escape(p) for p in sorted(by_path, key=len, reverse=True)))
    return [
        {
            "type": "file_path",
            "text": match.group(0),
            "start_index": match.start(),
            "end_index": match.end(),
            "file_path": {"file_id": by_path[match.group(0)]},
        }
        for match in pattern.finditer(text)
    ]


def _citations(text: str, sources: dict[str, str]) -> list[dict[str, Any]]:
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
