"""Tools executed by the server during a run, behind one interface.

The engine asks the :class:`Toolbox` what to offer the model (chat-completions function definitions) and,
for each call the model makes, which tool executes it. A call no server-side tool handles is a client
function: the run waits in ``requires_action`` for its output. Each tool lives in its own module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pygentic.runtime.toolcalls import AssembledCall
from pygentic.storage import repositories as repos
from pygentic.storage.tables import RunRow


@dataclass
class ToolExecution:
    """What running one call produced: the text the model reads, and the run step's entry for the call
    (its OpenAI shape; a ``_model`` key, which the API never shows, keeps the call as the model made it)."""

    output: str
    step_call: dict[str, Any]


#: Publishes part of a call's step entry while it executes, as a ``thread.run.step.delta`` (the OpenAI
#: shape below the call's type, e.g. ``{"outputs": [{"index": 0, "type": "logs", "logs": "..."}]}``).
Report = Callable[[dict[str, Any]], None]


class RunTool(Protocol):
    """A server-side tool."""

    #: The run step type of its calls: "function", "file_search", "code_interpreter".
    kind: str

    async def offers(self, run: RunRow) -> list[dict[str, Any]]:
        """The function definitions to offer the model for ``run`` (none if the run does not use it)."""
        ...

    def handles(self, run: RunRow, name: str) -> bool:
        """Whether this tool executes ``run``'s calls of the function ``name``."""
        ...

    def input_delta(self, call: AssembledCall, before: str) -> dict[str, Any] | None:
        """While the model streams the call's arguments (``before`` was their text before the latest
        fragment): the step entry part to stream for the new fragment, or None."""
        ...

    async def execute(self, run: RunRow, call: AssembledCall, report: Report) -> ToolExecution:
        """Run one call. Failures the model should hear about become the output, not exceptions."""
        ...


async def resource_ids(session: Any, run: RunRow, tool: str, key: str) -> list[str]:
    """The ids the run itself, its assistant, then its thread name in ``tool_resources.TOOL.KEY`` (each once),
    e.g. ``file_search.vector_store_ids`` or ``code_interpreter.file_ids``."""
    ids: list[str] = []
    for row in (
        run,
        await repos.assistants.get(session, run.assistant_id),
        await repos.threads.get(session, run.thread_id),
    ):
        resources = (getattr(row, "tool_resources", None) or {}) if row is not None else {}
        for value in (resources.get(tool) or {}).get(key) or []:
            if isinstance(value, str) and value not in ids:
                ids.append(value)
    return ids


def model_view(call: AssembledCall, output: str | None) -> dict[str, Any]:
    """The call as the model made it, stored beside a built-in tool's step entry."""
    return {"name": call.name, "arguments": call.arguments, "output": output}


def function_entry(call: AssembledCall, output: str | None) -> dict[str, Any]:
    """A function call's run step entry."""
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments, "output": output},
    }


class Toolbox:
    """The server-side tools of one engine, in precedence order."""

    def __init__(self, tools: Sequence[RunTool] = ()) -> None:
        self.tools = list(tools)

    async def definitions(self, run: RunRow) -> list[dict[str, Any]]:
        """The run's function tools, then what the built-in tools offer."""
        offered = [t for t in run.tools if t.get("type") == "function"]
        for tool in self.tools:
            offered.extend(await tool.offers(run))
        return offered

    def tool_for(self, run: RunRow, name: str) -> RunTool | None:
        return next((tool for tool in self.tools if tool.handles(run, name)), None)

    def kind_of(self, run: RunRow, name: str) -> str:
        tool = self.tool_for(run, name)
        return tool.kind if tool is not None else "function"

    def tool_choice(self, run: RunRow, choice: Any) -> Any:
        """A built-in tool's forced choice ({"type": "file_search"}) as the function that stands for it."""
        if isinstance(choice, dict) and choice.get("type") not in (None, "function"):
            names = {"file_search": "file_search", "code_interpreter": "code_interpreter"}
            name = names.get(choice["type"])
            if name and self.tool_for(run, name) is not None:
                return {"type": "function", "function": {"name": name}}
            return "auto"
        return choice
