"""Assembling streamed tool-call fragments into complete calls."""

from __future__ import annotations

from dataclasses import dataclass

from pygentic import ids
from pygentic.connectors.llm import ToolCallDelta


@dataclass
class AssembledCall:
    """One tool call as assembled so far."""

    position: int
    id: str
    name: str = ""
    arguments: str = ""
    upstream_id: str | None = None


def call_id(upstream_id: str | None) -> str:
    """Keep the upstream's id (``call_``-prefixed if it is not already); make one when it has none."""
    if not upstream_id:
        return ids.new_id(ids.TOOL_CALL)
    return upstream_id if upstream_id.startswith(ids.TOOL_CALL) else ids.TOOL_CALL + upstream_id


class ToolCallAssembler:
    """Collects :class:`ToolCallDelta` fragments by their upstream index.

    Tolerates servers that repeat a call's id and name in every chunk: a repeated id or name is not
    appended again. Calls are numbered by first appearance (``position``), as run-step deltas need.
    """

    def __init__(self) -> None:
        self.calls: list[AssembledCall] = []
        self._by_index: dict[int, AssembledCall] = {}
        self._by_upstream_id: dict[str, AssembledCall] = {}

    def add(self, delta: ToolCallDelta) -> tuple[AssembledCall, bool, str, str]:
        """Add a fragment; return (call, is_new, new name text, new argument text)."""
        call = None
        if delta.id and delta.id in self._by_upstream_id:
            call = self._by_upstream_id[delta.id]
        elif delta.index in self._by_index:
            known = self._by_index[delta.index]
            # Same index with a different upstream id: a server that numbers every call 0.
            if not delta.id or known.upstream_id in (None, delta.id):
                call = known
        is_new = call is None
        if call is None:
            call = AssembledCall(position=len(self.calls), id=call_id(delta.id), upstream_id=delta.id)
            self.calls.append(call)
            self._by_index[delta.index] = call
            if delta.id:
                self._by_upstream_id[delta.id] = call
        new_name = ""
        if delta.name and delta.name != call.name:
            # A repeated full name adds nothing; a name streamed in pieces is appended.
            new_name = delta.name[len(call.name) :] if delta.name.startswith(call.name) else delta.name
            call.name += new_name
        if delta.id and call.upstream_id is None:
            call.upstream_id = delta.id
            self._by_upstream_id[delta.id] = call
        call.arguments += delta.arguments
        return call, is_new, new_name, delta.arguments
