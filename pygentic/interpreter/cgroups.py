"""Per-program process and memory limits through the kernel's ``pids`` and ``memory`` cgroup controllers,
where the server may create cgroups (cgroup v1 hierarchies, or v2 with the controllers delegated).

``RLIMIT_NPROC`` alone cannot bound a program run by root (the kernel does not apply it to uid 0, which the
sandbox's uid is outside its user namespace when the server runs as root), and for other users it counts
all of that user's processes; ``RLIMIT_AS`` bounds each process, not a program of many. A child cgroup per
execution counts exactly the program's processes and threads (``pids.max``) and all of its memory,
including what it writes to its ``/tmp`` (``memory.limit_in_bytes`` / ``memory.max``, no swap). The
program joins it before the sandbox starts; it is removed after its processes are killed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("pygentic.interpreter")

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class _Controller:
    name: str  # "pids" or "memory"
    base: Path  # the directory this process created; executions get children
    v2: bool


@dataclass(frozen=True)
class ProgramCgroup:
    """One execution's cgroup directories (one per hierarchy)."""

    paths: tuple[Path, ...]
    memory: Path | None
    v2: bool

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the program for exceeding the memory limit."""
        if self.memory is None:
            return False
        try:
            if self.v2:
                text = (self.memory / "memory.events").read_text()
            else:
                text = (self.memory / "memory.oom_control").read_text()
                if "oom_kill " not in text:
                    return int((self.memory / "memory.failcnt").read_text()) > 0
        except OSError:
            return False
        counts = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
        return int(counts.get("oom_kill", "0")) > 0


class Cgroups:
    """The cgroups this process may create for programs: ``pids``, ``memory``, or both."""

    def __init__(self, controllers: list[_Controller]) -> None:
        self.controllers = controllers

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.controllers]

    @classmethod
    def find(cls) -> Cgroups | None:
        """The usable controllers (each tried by creating a child), or None when there are none."""
        found = []
        for name in ("pids", "memory"):
            controller = _find(name)
            if controller is not None:
                found.append(controller)
        return cls(found) if found else None

    def create(self, processes: int, memory_bytes: int) -> ProgramCgroup:
        """A new cgroup allowing ``processes`` processes and threads and ``memory_bytes`` of memory."""
        child = uuid.uuid4().hex[:16]
        paths: list[Path] = []
        memory = None
        v2 = False
        try:
            for controller in self.controllers:
                path = controller.base / child
                if path in paths:
                    continue  # v2: one directory holds both controllers
                path.mkdir()
                paths.append(path)
            for controller in self.controllers:
                path = controller.base / child
                v2 = v2 or controller.v2
                if controller.name == "pids":
                    (path / "pids.max").write_text(str(processes))
                elif controller.v2:
                    (path / "memory.max").write_text(str(memory_bytes))
                    with contextlib.suppress(OSError):
                        (path / "memory.swap.max").write_text("0")
                    memory = path
                else:
                    (path / "memory.limit_in_bytes").write_text(str(memory_bytes))
                    with contextlib.suppress(OSError):  # where swap accounting exists
                        (path / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
                    memory = path
        except OSError:
            destroy(ProgramCgroup(tuple(paths), memory, v2))
            raise
        return ProgramCgroup(tuple(paths), memory, v2)

    def close(self) -> None:
        for controller in self.controllers:
            with contextlib.suppress(OSError):
                controller.base.rmdir()


def destroy(group: ProgramCgroup) -> None:
    """Kill whatever is still in the program's cgroups, then remove them."""
    for path in group.paths:
        for _ in range(50):
            try:
                pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
            except OSError:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            try:
                path.rmdir()
                break
            except OSError:
                time.sleep(0.01)  # the kernel is still reaping them
        else:
            log.warning("interpreter cgroup not removed", extra={"path": str(path)})


def join_command(group: ProgramCgroup, argv: list[str]) -> list[str]:
    """``argv`` started inside the program's cgroups (the shell joins them, then becomes the command)."""
    script = 'for g in "$@"; do case "$g" in --) break;; esac; echo $$ > "$g/cgroup.procs" || exit 126; done'
    script += '; while [ "$1" != "--" ]; do shift; done; shift; exec "$@"'
    return ["/bin/sh", "-c", script, "sh", *(str(p) for p in group.paths), "--", *argv]


def _remove_stale(parent: Path) -> None:
    """Remove the (empty) cgroups that processes which are gone left here (a crash, a kill -9)."""
    with contextlib.suppress(OSError):
        for stale in parent.glob("pygentic-*"):
            pid = stale.name.removeprefix("pygentic-")
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                for child in stale.iterdir():
                    if child.is_dir():
                        with contextlib.suppress(OSError):
                            child.rmdir()
                with contextlib.suppress(OSError):
                    stale.rmdir()


def _find(name: str) -> _Controller | None:
    for root, own, v2 in _own_cgroups(name):
        _remove_stale(root / own.lstrip("/"))
        base = root / own.lstrip("/") / f"pygentic-{os.getpid()}"
        try:
            base.mkdir(exist_ok=True)
        except OSError:
            continue
        limit_file = "pids.max" if name == "pids" else ("memory.max" if v2 else "memory.limit_in_bytes")
        if v2:  # the controller must be enabled for base's own children
            with contextlib.suppress(OSError):
                (base / "cgroup.subtree_control").write_text(f"+{name}")
        probe = base / "probe"
        try:
            probe.mkdir(exist_ok=True)
            usable = (probe / limit_file).exists()
            probe.rmdir()
        except OSError:
            usable = False
        if usable:
            return _Controller(name, base, v2)
        with contextlib.suppress(OSError):
            base.rmdir()
    return None


def _own_cgroups(name: str) -> list[tuple[Path, str, bool]]:
    """(hierarchy root, this process's path in it, is v2) for the controller: v1 first, then v2."""
    found: list[tuple[Path, str, bool]] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if name in controllers.split(",") and (CGROUP_ROOT / name).is_dir():
            found.append((CGROUP_ROOT / name, path, False))
    for line in lines:
        hierarchy, controllers, path = line.split(":", 2)
        if hierarchy == "0" and controllers == "" and (CGROUP_ROOT / "cgroup.controllers").is_file():
            found.append((CGROUP_ROOT, path, True))
    return found
