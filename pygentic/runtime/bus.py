"""The in-process event bus: run events fanned out to any number of subscribers.

A subscriber gets its own bounded buffer. Publishing never waits: a subscriber that falls more than
``max_buffer`` events behind is cut off (its stream ends with ``overflowed`` set) instead of slowing the
run or growing memory, and a subscriber that goes away is removed when its ``async with`` block ends.
Text deltas waiting for a lagging subscriber are merged as it takes them (:mod:`pygentic.runtime.coalesce`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from types import TracebackType

from pygentic.errors import ApiError, ErrorKind
from pygentic.metrics import BUS_LAG
from pygentic.proto.v1 import runs_pb2
from pygentic.runtime.coalesce import DEFAULT_COALESCE_AFTER_S, take_coalesced

log = logging.getLogger("pygentic.bus")
DEFAULT_MAX_BUFFER = 10_000


def cut_off_error() -> ApiError:
    """What a subscriber cut off for being slow is told."""
    return ApiError(
        ErrorKind.RESOURCE_EXHAUSTED,
        "This stream fell too far behind the run and was cut off; re-attach with WatchRun or poll GetRun.",
    )


class Subscription:
    """The events of one run, as one subscriber receives them. Use as an async context manager."""

    def __init__(self, bus: EventBus, run_id: str, max_buffer: int) -> None:
        self.bus = bus
        self.run_id = run_id
        self.max_buffer = max_buffer
        self.buffer: collections.deque[runs_pb2.RunEvent] = collections.deque()
        self._arrived: collections.deque[float] = collections.deque()  # when each buffered event came
        self.closed = False
        self.overflowed = False
        self._wakeup = asyncio.Event()

    def push(self, event: runs_pb2.RunEvent) -> None:
        if self.closed:
            return
        if len(self.buffer) >= self.max_buffer:
            self.overflowed = True
            self.close()
            log.warning("subscriber too slow, cut off", extra={"run_id": self.run_id})
            return
        self.buffer.append(event)
        self._arrived.append(time.monotonic())
        self._wakeup.set()

    def clear(self) -> None:
        """Drop what is buffered (a snapshot that covers it is sent instead)."""
        self.buffer.clear()
        self._arrived.clear()

    def take(self) -> runs_pb2.RunEvent:
        """The next buffered event; when it has waited the bus's ``coalesce_after`` or more (0: never),
        joined with the text deltas waiting right behind it."""
        after = self.bus.coalesce_after
        waited = time.monotonic() - self._arrived[0] if self._arrived else 0.0
        BUS_LAG.observe(waited)
        if after and self._arrived and waited >= after:
            event, taken = take_coalesced(self.buffer)
        else:
            event, taken = self.buffer.popleft(), 1
        for _ in range(taken):
            self._arrived.popleft()
        return event

    def close(self) -> None:
        """No more events will come (the run ended its stream, or the subscriber was cut off)."""
        self.closed = True
        self._wakeup.set()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.bus.unsubscribe(self)

    async def events(self) -> AsyncIterator[runs_pb2.RunEvent]:
        """Yield events until the subscription closes and its buffer is drained."""
        async for event in self.events_or_idle(None):
            if event is not None:
                yield event

    async def events_or_idle(self, idle: float | None) -> AsyncIterator[runs_pb2.RunEvent | None]:
        """Like :meth:`events`, also yielding None after every ``idle`` seconds without an event."""
        while True:
            while self.buffer:
                yield self.take()
            if self.closed:
                return
            self._wakeup.clear()
            if idle is None:
                await self._wakeup.wait()
                continue
            try:
                async with asyncio.timeout(idle):  # not wait_for: it can lose the reader's cancellation
                    await self._wakeup.wait()
            except TimeoutError:
                yield None


class EventBus:
    """Run events by run id, in-process. :class:`SharedEventBus` extends it across the processes sharing a
    database."""

    def __init__(
        self, max_buffer: int = DEFAULT_MAX_BUFFER, coalesce_after: float = DEFAULT_COALESCE_AFTER_S
    ) -> None:
        self.max_buffer = max_buffer
        self.coalesce_after = coalesce_after
        self._subscribers: dict[str, set[Subscription]] = {}

    def subscribe(self, run_id: str) -> Subscription:
        subscription = Subscription(self, run_id, self.max_buffer)
        self._subscribers.setdefault(run_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscription.close()
        subscribers = self._subscribers.get(subscription.run_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.run_id]

    def publish(self, run_id: str, event: runs_pb2.RunEvent) -> None:
        for subscription in list(self._subscribers.get(run_id, ())):
            subscription.push(event)

    def end(self, run_id: str) -> None:
        """The run's stream is over for now (terminal, or waiting for tool outputs): close subscribers."""
        for subscription in list(self._subscribers.get(run_id, ())):
            subscription.close()

    async def start(self) -> None:
        """Nothing to start in-process."""

    async def close(self) -> None:
        """Nothing to release in-process."""

    async def watch_remote(self, run_id: str) -> Subscription | None:
        """Follow a run another process executes; the in-process bus knows no other process."""
        return None

    def subscriber_count(self, run_id: str | None = None) -> int:
        if run_id is not None:
            return len(self._subscribers.get(run_id, ()))
        return sum(len(s) for s in self._subscribers.values())


SNAPSHOT_TIMEOUT_S = 2.0  # how long a late joiner waits for the executing process's snapshot
SnapshotProvider = Callable[[str], "list[runs_pb2.RunEvent] | None"]


class SharedEventBus(EventBus):
    """:class:`EventBus` across the processes sharing a database (PostgreSQL's
    :class:`~pygentic.runtime.pg_bus.PostgresEventBus`, a SQLite file's
    :class:`~pygentic.runtime.socket_bus.SocketEventBus`): the late join both speak. A watcher subscribes
    and asks the other processes for the run's snapshot with a token (:meth:`_join_late`); the process
    executing it answers from ``snapshot_provider`` (the run engine sets it) on the channel its later
    events take, and the watcher's buffer is replaced by the snapshot (:meth:`_deliver_snapshot`)."""

    def __init__(self, instance_id: str, max_buffer: int, coalesce_after: float) -> None:
        super().__init__(max_buffer, coalesce_after)
        self.instance_id = instance_id
        self.snapshot_provider: SnapshotProvider | None = None
        self._waiting: dict[str, tuple[Subscription, asyncio.Future[None]]] = {}

    async def _join_late(self, run_id: str, ask: Callable[[str], None]) -> Subscription | None:
        """Subscribe to ``run_id``, ``ask(token)`` the processes for its snapshot and wait up to
        :data:`SNAPSHOT_TIMEOUT_S` for it; None (unsubscribed) if none came."""
        subscription = self.subscribe(run_id)
        token = uuid.uuid4().hex
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[token] = (subscription, done)
        ask(token)
        try:
            await asyncio.wait_for(done, SNAPSHOT_TIMEOUT_S)
        except TimeoutError:
            self._waiting.pop(token, None)
            self.unsubscribe(subscription)
            return None
        return subscription

    def _deliver_snapshot(self, token: str, events: Iterable[runs_pb2.RunEvent]) -> None:
        """The snapshot asked for with ``token`` arrived: it replaces what its subscription buffered (the
        snapshot covers it); what arrives after it follows."""
        found = self._waiting.pop(token, None)
        if found is None:
            return  # asked too long ago
        subscription, done = found
        subscription.clear()
        for event in events:
            subscription.push(event)
        if not done.done():
            done.set_result(None)
