"""The ``file_search`` tool: searches the vector stores of the run's assistant and thread.

It is offered to the model as a function ``file_search(query)`` when the run has the tool and a vector
store to search. The results go back to the model as numbered excerpts, each with a marker such as
``【c4f2:0†faq.md】`` that the model is asked to copy when it uses the excerpt; the engine turns copied
markers into ``file_citation`` annotations (:mod:`pygentic.runtime.tools.citations`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pygentic.connectors.embeddings import EmbeddingConnector, EmbeddingError
from pygentic.ingestion.index import VectorIndex
from pygentic.ingestion.ranking import stored_ranking
from pygentic.runtime.toolcalls import AssembledCall
from pygentic.runtime.tools import Report, ToolExecution, model_view, resource_ids
from pygentic.storage import Database
from pygentic.storage.tables import RunRow

log = logging.getLogger("pygentic.runs")

NAME = "file_search"
DEFAULT_MAX_RESULTS = 20
RANKER = "default_2024_08_21"
DEFINITION = {
    "type": "function",
    "function": {
        "name": NAME,
        "description": "Search the files the user and the assistant provided. Returns numbered excerpts. "
        "When you use an excerpt, cite it by copying its marker, e.g. 【c4f2:0†notes.md】, into your answer.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "What to look for."}},
            "required": ["query"],
        },
    },
}


class FileSearch:
    """Runs ``file_search`` calls over the assistant's and the thread's vector stores."""

    kind = "file_search"

    def __init__(self, db: Database, embeddings: EmbeddingConnector, vector_index: VectorIndex) -> None:
        self.db = db
        self.embeddings = embeddings
        self.index = vector_index

    def handles(self, run: RunRow, name: str) -> bool:
        return name == NAME and _options(run) is not None  # else a client function may have the name

    async def offers(self, run: RunRow) -> list[dict[str, Any]]:
        if _options(run) is None or not await self._store_ids(run):
            return []
        return [DEFINITION]

    async def _store_ids(self, run: RunRow) -> list[str]:
        async with self.db.read() as session:
            return await resource_ids(session, run, "file_search", "vector_store_ids")

    def input_delta(self, call: AssembledCall, before: str) -> dict[str, Any] | None:
        return None  # a file_search call shows no arguments (OpenAI streams none)

    async def execute(self, run: RunRow, call: AssembledCall, report: Report) -> ToolExecution:
        options = _options(run) or {}
        stored = dict(options.get("ranking_options") or {})
        ranking = stored_ranking(stored)
        ranking_options = {
            "ranker": stored.get("ranker") or RANKER,
            "score_threshold": ranking.score_threshold,
        }
        limit = int(options.get("max_num_results") or DEFAULT_MAX_RESULTS)
        try:
            query = json.loads(call.arguments or "{}").get("query")
        except (json.JSONDecodeError, AttributeError):
            query = None
        if not isinstance(query, str) or not query.strip():
            output = 'Error: file_search needs {"query": "<what to look for>"}.'
            return self._entry(call, ranking_options, [], output, {})
        try:
            vectors = await self.embeddings.embed([query])
            hits = await self.index.search(
                await self._store_ids(run), vectors, limit=limit, query_texts=[query], ranking=ranking
            )
        except EmbeddingError as exc:
            log.warning("file_search: embedding failed", extra={"run_id": run.id, "reason": str(exc)})
            return self._entry(call, ranking_options, [], "Error: the search service is unavailable.", {})
        tag = call.id[-4:]
        sources: dict[str, str] = {}
        lines = [f'Results for "{query}":'] if hits else [f'No results for "{query}".']
        for i, hit in enumerate(hits):
            key = f"{tag}:{i}"
            sources[key] = hit.file_id
            lines.append(f"【{key}†{hit.filename}】\n{hit.text}")
        results = [
            {
                "file_id": hit.file_id,
                "file_name": hit.filename,
                "score": hit.score,
                "content": [{"type": "text", "text": hit.text}],
            }
            for hit in hits
        ]
        log.info("file_search", extra={"run_id": run.id, "results": len(hits)})
        return self._entry(call, ranking_options, results, "\n\n".join(lines), sources)

    @staticmethod
    def _entry(
        call: AssembledCall,
        ranking_options: dict[str, Any],
        results: list[dict[str, Any]],
        output: str,
        sources: dict[str, str],
    ) -> ToolExecution:
        step_call = {
            "id": call.id,
            "type": "file_search",
            "file_search": {"ranking_options": ranking_options, "results": results},
            "_model": {**model_view(call, output), "sources": sources},
        }
        return ToolExecution(output=output, step_call=step_call)


def _options(run: RunRow) -> dict[str, Any] | None:
    """The run's file_search tool options, or None when it has no such tool."""
    for tool in run.tools:
        if tool.get("type") == "file_search":
            return tool.get("file_search") or {}
    return None
