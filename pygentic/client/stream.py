"""A streamed run as an async iterator of typed events, with the text as it grows and the run as it
ends, going on through ``requires_action`` when the client was given the functions to answer it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from grpc import aio

from pygentic.client.errors import PygenticError
from pygentic.client.events import RunEvent, RunStatusEvent, TextDeltaEvent, typed
from pygentic.client.functions import Functions
from pygentic.proto.v1 import resources_pb2, runs_pb2

# Starts the stream that carries a run on after its tool outputs: (run, outputs) -> the new stream.
Continue = Callable[
    [resources_pb2.Run, list[runs_pb2.ToolOutput]], Awaitable[AsyncIterator[runs_pb2.RunEvent]]
]


class RunStream:
    """The events of one run, as they happen: ``async for event in stream`` (typed events, see
    :mod:`pygentic.client.events`), or ``await stream.until_done()`` for the run as it ended.

    ``text`` is the run's answer so far (the text of its messages, in order); ``run`` the run as the last
    event showed it. With ``functions``, a ``requires_action`` is answered by calling them and the stream goes
    on with the run's next events; without, the stream ends there with ``run.status == "requires_action"``.
    """

    def __init__(
        self,
        events: AsyncIterator[runs_pb2.RunEvent],
        *,
        functions: Functions | None = None,
        resume: Continue | None = None,
    ) -> None:
        self._events = events
        self._functions = functions
        self._resume = resume
        self._texts: dict[str, str] = {}
        self.run: resources_pb2.Run | None = None
        self.events: list[RunEvent] = []

    @property
    def text(self) -> str:
        """The text of the run's messages so far (one message's text after another)."""
        return "".join(self._texts.values())

    @property
    def thread_id(self) -> str | None:
        return self.run.thread_id if self.run is not None else None

    def __aiter__(self) -> AsyncIterator[RunEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[RunEvent]:
        events: AsyncIterator[runs_pb2.RunEvent] | None = self._events
        while events is not None:
            try:
                async for raw in events:
                    event = typed(raw, self._texts)
                    if isinstance(event, RunStatusEvent):
                        self.run = event.run
                    self.events.append(event)
                    yield event
            except aio.AioRpcError as exc:
                raise PygenticError.of(exc) from None
            events = None
            run = self.run
            if run is not None and run.status == "requires_action" and self._functions and self._resume:
                outputs = await self._functions.outputs(run)
                events = await self._resume(run, outputs)

    async def until_done(self) -> resources_pb2.Run:
        """Read the stream to its end; the run as it ended (or as it waits, in ``requires_action``)."""
        async for _ in self:
            pass
        if self.run is None:
            raise RuntimeError("the stream ended before any event named its run")
        return self.run

    async def text_deltas(self) -> AsyncIterator[str]:
        """Only the text, as it arrives."""
        async for event in self:
            if isinstance(event, TextDeltaEvent):
                yield event.delta
