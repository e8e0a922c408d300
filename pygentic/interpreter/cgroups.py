"""A process limit per program through the kernel's ``pids`` cgroup controller, where the server may use it.

``RLIMIT_NPROC`` alone cannot bound a program run by root (the kernel does not apply it to uid 0, which the
sandbox's uid is outside its user namespace when the server runs as root), and for other users it counts
all of that user's processes. A ``pids`` cgroup counts exactly the program's processes and threads: each
execution gets its own child cgroup with ``pids.max``, joined before the sandbox starts and removed after
its processes are killed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import uuid
from pathlib import Path

log = logging.getLogger("pygentic.interpreter")

V1_ROOT = Path("/sys/fs/cgroup/pids")
V2_ROOT = Path("/sys/fs/cgroup")


class PidsCgroup:
    """A cgroup directory this process created, under which each execution gets a child."""

    def __init__(self, base: Path) -> None:
        self.base = base

    @classmethod
    def find(cls) -> PidsCgroup | None:
        """A usable pids cgroup (v1 hierarchy, or v2 with the controller enabled), or None."""
        for root, own in _own_cgroups():
            base = root / own.lstrip("/") / f"pygentic-{os.getpid()}"
            try:
                base.mkdir(exist_ok=True)
            except OSError:
                continue
            if (base / "pids.max").exists():
                if root == V2_ROOT:  # v2: the controller must be enabled for base's own children
                    with contextlib.suppress(OSError):
                        (base / "cgroup.subtree_control").write_text("+pids")
                found = cls(base)
                try:
                    found.destroy(found.create(1))
                except OSError:
                    pass
                else:
                    return found
            with contextlib.suppress(OSError):
                base.rmdir()
        return None

    def create(self, limit: int) -> Path:
        """A new child cgroup allowing ``limit`` processes and threads."""
        path = self.base / uuid.uuid4().hex[:16]
        path.mkdir()
        (path / "pids.max").write_text(str(limit))
        return path

    @staticmethod
    def destroy(path: Path) -> None:
        """Kill whatever is still in the child cgroup, then remove it."""
        for _ in range(50):
            try:
                pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
            except OSError:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            try:
                path.rmdir()
                return
            except OSError:
                time.sleep(0.01)  # the kernel is still reaping them
        log.warning("interpreter cgroup not removed", extra={"path": str(path)})

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.base.rmdir()


def _own_cgroups() -> list[tuple[Path, str]]:
    """(hierarchy root, this process's path in it) for the pids controller: v1 first, then v2."""
    found: list[tuple[Path, str]] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(",") and V1_ROOT.is_dir():
            found.append((V1_ROOT, path))
    for line in lines:
        hierarchy, controllers, path = line.split(":", 2)
        if hierarchy == "0" and controllers == "" and (V2_ROOT / "cgroup.controllers").is_file():
            found.append((V2_ROOT, path))
    return found


def join_command(cgroup: Path, argv: list[str]) -> list[str]:
    """``argv`` started inside ``cgroup`` (the shell joins it, then becomes the command)."""
    return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup), *argv]
