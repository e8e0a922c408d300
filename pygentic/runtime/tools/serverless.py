"""Function tools executed by HTTP endpoints (the serverless connectors)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from pygentic.connectors.llm import LLMError
from pygentic.connectors.serverless import ServerlessConnector, ToolCallError
from pygentic.runtime.toolcalls import AssembledCall
from pygentic.runtime.tools import Report, ToolExecution, function_entry
from pygentic.storage.tables import RunRow

log = logging.getLogger("pygentic.runs")


class ServerlessFunctions:
    """Runs the function calls a serverless connector maps; the definitions are the run's own."""

    kind = "function"

    def __init__(self, runners: Sequence[ServerlessConnector]) -> None:
        self.runners = list(runners)

    async def offers(self, run: RunRow) -> list[dict[str, Any]]:
        return []

    def _runner(self, name: str) -> ServerlessConnector | None:
        return next((r for r in self.runners if r.handles(name)), None)

    def handles(self, run: RunRow, name: str) -> bool:
        return self._runner(name) is not None

    def input_delta(self, call: AssembledCall, before: str) -> dict[str, Any] | None:
        return None  # a function call's arguments stream as function deltas, as the model writes them

    async def execute(self, run: RunRow, call: AssembledCall, report: Report) -> ToolExecution:
        runner = self._runner(call.name)
        assert runner is not None
        try:
            output = await runner.call(call.name, call.arguments, run.id, run.thread_id, call.id)
        except ToolCallError as exc:
            log.warning(
                "serverless call failed", extra={"run_id": run.id, "function": call.name, "reason": str(exc)}
            )
            if runner.on_error == "fail":
                raise LLMError(f"function '{call.name}' failed: {exc}") from exc
            output = json.dumps({"error": f"function '{call.name}' failed: {exc}"})
        return ToolExecution(output=output, step_call=function_entry(call, output))
