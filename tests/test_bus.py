"""The event bus: fan-out, slow subscribers cut off, no leftovers."""

from __future__ import annotations

from pygentic.proto.v1 import runs_pb2
from pygentic.runtime.bus import EventBus


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
                fast.buffer.popleft()  # the fast one keeps up
        assert slow.overflowed and slow.closed and len(slow.buffer) == 5
        assert not fast.overflowed
        bus.publish("run_1", event(99))
        assert len(slow.buffer) == 5  # nothing more is held for it
    assert bus.subscriber_count("run_1") == 1
    bus.unsubscribe(fast)
    assert bus.subscriber_count() == 0
