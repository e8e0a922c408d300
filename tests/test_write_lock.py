"""The SQLite write lock across processes: a writer waits for another process's turn without stopping the
event loop, and a cancelled wait leaves nothing held. (Server processes writing one file at once:
tests/test_workers.py.)"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from pygentic.storage.write_lock import WriteLock, lock_file_of

HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()  # hold it until told
"""


def hold(database: Path) -> subprocess.Popen[str]:
    """Another process holding the database's write lock until its stdin gets a line."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, lock_file_of(str(database))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def let_go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.wait(timeout=10)


async def test_a_writer_waits_for_another_process_without_stopping_the_loop(tmp_path: Path) -> None:
    database = tmp_path / "a.db"
    lock = WriteLock(str(database))
    holder = hold(database)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        waiting = asyncio.create_task(lock.__aenter__())
        await asyncio.sleep(0.5)
        assert not waiting.done()  # the other process holds it
        assert ticks >= 20  # and the loop kept running meanwhile
        released_at = time.monotonic()
        await asyncio.to_thread(let_go, holder)
        await asyncio.wait_for(waiting, 5)
        assert time.monotonic() - released_at < 2
        assert lock.waits == 1
        await lock.__aexit__(None, None, None)
    finally:
        ticker.cancel()
        if holder.poll() is None:
            holder.kill()
    lock.close()


async def test_a_cancelled_wait_leaves_the_lock_free(tmp_path: Path) -> None:
    database = tmp_path / "a.db"
    lock = WriteLock(str(database))
    holder = hold(database)
    waiting = asyncio.create_task(lock.__aenter__())
    await asyncio.sleep(0.2)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert not lock.locked()
    await asyncio.to_thread(let_go, holder)
    await asyncio.sleep(0.2)  # the waiting thread takes the file and gives it back
    other = WriteLock(str(database))  # another open file: contends like another process would
    async with asyncio.timeout(5):
        async with other:
            assert other.waits == 0  # free at once
    async with asyncio.timeout(5):
        async with lock:
            pass
    lock.close()
    other.close()
