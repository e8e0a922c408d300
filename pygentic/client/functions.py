"""The function-tool loop's client side: Python functions that answer a run's ``requires_action`` calls."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from pygentic.proto.v1 import resources_pb2, runs_pb2

log = logging.getLogger("pygentic.client")

Function = Callable[..., Any] | Callable[..., Awaitable[Any]]


class Functions:
    """Named Python functions (plain or ``async``) that the model may call.

    A call's JSON arguments become keyword arguments. What a function returns is the call's output: a
    ``str`` as it is, anything else as JSON. Plain functions run in a worker thread, so a slow one does not
    stop the event loop; the calls of one ``requires_action`` run concurrently. When a function raises, or
    the model names one that is not here, the output tells the model what went wrong
    (``{"error": "..."}``) so the run can go on; ``raise_errors=True`` raises instead.
    """

    def __init__(self, functions: Mapping[str, Function] | Iterable[Function], *, raise_errors: bool = False):
        items = functions.items() if isinstance(functions, Mapping) else ((f.__name__, f) for f in functions)
        self._functions: dict[str, Function] = dict(items)
        self.raise_errors = raise_errors

    def __contains__(self, name: str) -> bool:
        return name in self._functions

    async def call(self, call: resources_pb2.ToolCall) -> str:
        """The output of one function call."""
        name = call.function.name
        function = self._functions.get(name)
        try:
            if function is None:
                raise LookupError(f"no function named {name!r} (known: {', '.join(sorted(self._functions))})")
            arguments = json.loads(call.function.arguments or "{}")
            if not isinstance(arguments, dict):
                raise TypeError(f"the arguments of {name} are not a JSON object: {call.function.arguments}")
            if inspect.iscoroutinefunction(function):
                result = await function(**arguments)
            else:
                result = await asyncio.to_thread(function, **arguments)
        except Exception as exc:
            if self.raise_errors:
                raise
            log.warning("function %s failed: %s", name, exc, extra={"tool_call_id": call.id})
            return json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        return result if isinstance(result, str) else json.dumps(result)

    async def outputs(self, run: resources_pb2.Run) -> list[runs_pb2.ToolOutput]:
        """The outputs of every call ``run`` waits for (a run in ``requires_action``)."""
        calls = [c for c in run.required_action.submit_tool_outputs.tool_calls if c.type == "function"]
        answers = await asyncio.gather(*(self.call(c) for c in calls))
        return [runs_pb2.ToolOutput(tool_call_id=c.id, output=a) for c, a in zip(calls, answers, strict=True)]
