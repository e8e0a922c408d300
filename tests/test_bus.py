"""The event bus: fan-out, slow subscribers cut off, no leftovers."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import runs_pb2
from pygentic.runtime.bus import EventBus
from pygentic.runtime.coalesce import DEFAULT_COALESCE_AFTER_S
from pygentic.runtime.pg_bus import PostgresEventBus
from pygentic.runtime.socket_bus import SocketEventBus, bus_directory


def event(i: int) -> runs_pb2.RunEvent:
    return runs_pb2.RunEvent(event=f"e{i}")


async def test_fan_out_and_end() -> None:
    bus = EventBus()
    a, b = bus.subscribe("run_1"), bus.subscribe("run_1")
    other = bus.subscribe("run_2")
    for i in range(3):
        bus.publish("run_1", event(i))
    bus.end("run_1")
    assert [e.event async for e in a.events()] == ["e0", "e1", "e2"]
    assert [e.event async for e in b.events()] == ["e0", "e1", "e2"]
    assert not other.buffer and not other.closed
    for s in (a, b, other):
        bus.unsubscribe(s)
    assert bus.subscriber_count() == 0


async def test_a_slow_subscriber_is_cut_off_without_holding_events() -> None:
    bus = EventBus(max_buffer=5)
    async with bus.subscribe("run_1") as slow:
        fast = bus.subscribe("run_1")
        for i in range(20):
            bus.publish("run_1", event(i))
            if fast.buffer:
                fast.take()  # the fast one keeps up
        assert slow.overflowed and slow.closed and len(slow.buffer) == 5
        assert not fast.overflowed
        bus.publish("run_1", event(99))
        assert len(slow.buffer) == 5  # nothing more is held for it
    assert bus.subscriber_count("run_1") == 1
    bus.unsubscribe(fast)
    assert bus.subscriber_count() == 0


def text_delta(message_id: str, text: str, index: int = 0) -> runs_pb2.RunEvent:
    part = res.MessageDeltaContent(index=index, type="text", text=res.Text(value=text))
    return runs_pb2.RunEvent(
        event="thread.message.delta",
        message_delta=res.MessageDelta(
            id=message_id, object="thread.message.delta", delta=res.MessageDeltaBody(content=[part])
        ),
    )


def described(e: runs_pb2.RunEvent) -> tuple[str, ...]:
    if e.event != "thread.message.delta":
        return (e.event,)
    part = e.message_delta.delta.content[0]
    return (e.event, e.message_delta.id, str(part.index), part.text.value)


async def test_a_lagging_subscriber_gets_waiting_text_deltas_merged() -> None:
    bus = EventBus()
    annotated = text_delta("msg_a", "[1]")
    annotated.message_delta.delta.content[0].text.annotations.add(type="file_citation", text="[1]")
    published = [
        text_delta("msg_a", "Hel"),
        text_delta("msg_a", "lo "),
        text_delta("msg_a", "world"),
        annotated,  # carries an annotation: sent as it is
        text_delta("msg_a", "!"),
        text_delta("msg_a", "image next", index=1),  # another content part
        event(1),
        text_delta("msg_b", "x"),
        text_delta("msg_c", "y"),  # another message
    ]
    async with bus.subscribe("run_1") as lagging:
        for e in published:
            bus.publish("run_1", e)
        bus.end("run_1")
        await asyncio.sleep(DEFAULT_COALESCE_AFTER_S * 2)  # the subscriber is behind
        got = [described(e) async for e in lagging.events()]
    assert got == [
        ("thread.message.delta", "msg_a", "0", "Hello world"),
        ("thread.message.delta", "msg_a", "0", "[1]"),
        ("thread.message.delta", "msg_a", "0", "!"),
        ("thread.message.delta", "msg_a", "1", "image next"),
        ("e1",),
        ("thread.message.delta", "msg_b", "0", "x"),
        ("thread.message.delta", "msg_c", "0", "y"),
    ]
    assert published[0].message_delta.delta.content[0].text.value == "Hel"  # shared events untouched


async def test_a_subscriber_that_keeps_up_gets_every_delta_unmerged() -> None:
    bus = EventBus()
    async with bus.subscribe("run_1") as reader:
        stream = reader.events().__aiter__()
        for text in ("a", "b", "c"):
            bus.publish("run_1", text_delta("msg_a", text))
            assert described(await stream.__anext__())[-1] == text  # nothing is held back
        for text in ("d", "e", "f"):  # a burst taken at once, before any of it waited coalesce_after
            bus.publish("run_1", text_delta("msg_a", text))
        bus.end("run_1")
        assert [described(e)[-1] async for e in stream] == ["d", "e", "f"]


async def test_the_shared_bus_delivers_bursts_in_order_duplicates_and_large_events_included(
    pg_database: str,
) -> None:
    # Bursts go out as one statement of many notifications: PostgreSQL folds identical notifications of
    # one transaction, so identical events must still arrive once each, in order; so must a large event.
    sender = PostgresEventBus(pg_database, "sender")
    receiver = PostgresEventBus(pg_database, "receiver")
    await sender.start()
    await receiver.start()
    try:
        big = text_delta("msg_a", "x" * 20_000)
        published = [text_delta("msg_a", "same") for _ in range(50)] + [big]
        published += [text_delta("msg_a", f"t{i}") for i in range(300)]
        async with receiver.subscribe("run_1") as subscription:
            for e in published:
                sender.publish("run_1", e)
            sender.end("run_1")
            got = [e async for e in subscription.events()]  # ends when the "end" arrives
        texts = "".join(e.message_delta.delta.content[0].text.value for e in got)
        assert texts == "".join(e.message_delta.delta.content[0].text.value for e in published)
        assert len(got) <= len(published)  # merged only when the reader lags (it may here)
    finally:
        await sender.close()
        await receiver.close()


async def test_coalescing_can_be_turned_off() -> None:
    bus = EventBus(coalesce_after=0.0)
    async with bus.subscribe("run_1") as lagging:
        for text in ("a", "b", "c"):
            bus.publish("run_1", text_delta("msg_a", text))
        bus.end("run_1")
        await asyncio.sleep(0.1)
        assert [described(e)[-1] async for e in lagging.events()] == ["a", "b", "c"]


# ---------------------------------------------------------------------- across the processes of a SQLite file


async def test_a_watcher_in_another_process_gets_the_snapshot_then_every_event_in_order(
    tmp_path: Path,
) -> None:
    directory = bus_directory(str(tmp_path / "db.sqlite"))
    owner, watcher = SocketEventBus(directory, "owner"), SocketEventBus(directory, "watcher")
    executing: dict[str, list[runs_pb2.RunEvent]] = {"run_1": [event(0), event(1)]}
    owner.snapshot_provider = executing.get
    await owner.start()
    await watcher.start()
    try:
        owner.publish("run_2", event(99))  # nobody elsewhere follows run_2: it stays in its process
        assert await watcher.watch_remote("run_2") is None
        subscription = await watcher.watch_remote("run_1")
        assert subscription is not None
        for i in range(2, 200):
            owner.publish("run_1", event(i))
        owner.end("run_1")
        async with subscription:
            got = [e.event async for e in subscription.events()]
        assert got == [f"e{i}" for i in range(200)]
        assert not owner._watchers  # the run's stream ended: nothing more is sent for it
    finally:
        await watcher.close()
        await owner.close()
    assert not list(directory.glob("*.sock"))


async def test_alone_or_beside_a_dead_process_a_watch_finds_no_owner_at_once(tmp_path: Path) -> None:
    directory = bus_directory(str(tmp_path / "db.sqlite"))
    bus = SocketEventBus(directory, "alone")
    await bus.start()
    try:
        started = time.monotonic()
        assert await bus.watch_remote("run_1") is None
        dead = directory / "dead.sock"  # what a killed process leaves: a socket file nobody listens on
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(str(dead))
        os.utime(dead, (time.time() - 60, time.time() - 60))
        assert await bus.watch_remote("run_1") is None
        assert time.monotonic() - started < 1.0  # no peer to wait for
        assert not dead.exists()  # cleaned up
    finally:
        await bus.close()


def test_the_bus_directory_fits_a_unix_socket_path(tmp_path: Path) -> None:
    assert bus_directory("/srv/pygentic/a.db") == Path("/srv/pygentic/.a.db.bus")
    deep = tmp_path / ("d" * 120) / "a.db"
    far = bus_directory(str(deep))
    assert len(str(far / ("x" * 32 + ".sock"))) <= 100
    assert far == bus_directory(str(deep))  # every process of the file finds the same one
