"""Running one program in a sandbox, within limits, and killing everything it started.

Two mechanisms build the command line:

- :class:`Bubblewrap` (``bwrap``, Debian's ``bubblewrap``): new user, PID, network, IPC, UTS and cgroup
  namespaces (no network at all), a read-only view of the system directories only (``/usr`` and the
  runtimes' own directories; no ``/root``, ``/home``, ``/srv``, no server files, no ``/etc/shadow``), a
  private ``/tmp``, the work directory at ``/mnt/data``, an unprivileged uid with every capability
  dropped, an empty environment but for a few variables; everything but ``/tmp``, the work directory and
  the home directory is read-only. The sandbox's PID 1 dies with the server
  (``--die-with-parent``) and takes every process of the sandbox with it, so nothing outlives a call.
- :class:`Unisolated` (only with ``allow_unsandboxed = true``): the same limits, no isolation.

Both run under ``prlimit``: CPU seconds, address space (per process), file size; processes, threads and
the program's total memory in a cgroup of their own where the server may create one (:mod:`.cgroups`),
else processes by RLIMIT_NPROC. The
runner enforces the wall time and the output size, killing the whole process group at either limit and
on cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pygentic.interpreter.cgroups import Cgroups, ProgramCgroup, destroy, join_command

SANDBOX_UID = 65534
SANDBOX_HOME = "/home/sandbox"
WORK_DIR = "/mnt/data"
READ_CHUNK = 64 * 1024
REAP_S = 5.0
# System directories shown read-only (when they exist); /bin, /lib... may be symlinks into /usr.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt/node")
SYSTEM_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/mime.types",
    "/etc/fonts",
)


@dataclass(frozen=True)
class Limits:
    """What one program may use."""

    cpu_seconds: int = 30
    wall_seconds: float = 60.0
    memory_bytes: int = 1024 * 1024 * 1024
    processes: int = 64
    output_bytes: int = 1024 * 1024
    file_bytes: int = 100 * 1024 * 1024


@dataclass(frozen=True)
class Mount:
    """A host path shown inside the sandbox at ``target``."""

    source: Path
    target: str
    writable: bool = False


@dataclass(frozen=True)
class Outcome:
    """How a program ended."""

    exit_code: int | None  # None: killed by the runner (see ``limit``)
    output: str  # stdout and stderr interleaved, cut at the output limit
    limit: str | None = None  # the limit that stopped it: "wall", "cpu", "output", "memory", or None
    seconds: float = 0.0
    signal: int | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit is None


class Mechanism(Protocol):
    """Turns a program's argv into the command that runs it isolated."""

    name: str

    def command(
        self, argv: Sequence[str], mounts: Sequence[Mount], env: Mapping[str, str], cwd: str
    ) -> tuple[list[str], dict[str, str], str | None]:
        """(the command, the environment it is started with, the host directory to start it in)."""
        ...


@dataclass
class Bubblewrap:
    """Isolation with bubblewrap; ``extra`` are host directories shown read-only at the same path (the
    Python environment and its base installation)."""

    bwrap: str
    etc_dir: Path  # a private directory with passwd, group and hosts files for the sandbox
    extra: Sequence[Path] = ()
    tmp_bytes: int = 100 * 1024 * 1024
    name: str = field(default="bubblewrap", init=False)

    @classmethod
    def find(
        cls, etc_dir: Path, extra: Sequence[Path] = (), tmp_bytes: int = 100 * 1024 * 1024
    ) -> Bubblewrap | None:
        found = shutil.which("bwrap")
        return cls(found, etc_dir, extra, tmp_bytes) if found else None

    def command(
        self, argv: Sequence[str], mounts: Sequence[Mount], env: Mapping[str, str], cwd: str
    ) -> tuple[list[str], dict[str, str], str | None]:
        args = [
            self.bwrap,
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--cap-drop", "ALL",
            "--uid", str(SANDBOX_UID),
            "--gid", str(SANDBOX_UID),
            "--hostname", "sandbox",
            # First the private /tmp, so that host paths under /tmp shown below are not hidden by it.
            "--proc", "/proc",
            "--dev", "/dev",
            "--size", str(self.tmp_bytes), "--tmpfs", "/tmp",
        ]  # fmt: skip
        for path in SYSTEM_DIRS:
            p = Path(path)
            if p.is_symlink():
                args += ["--symlink", os.readlink(p), path]
            elif p.is_dir():
                args += ["--ro-bind", path, path]
        for path in SYSTEM_FILES:
            if os.path.exists(path):
                args += ["--ro-bind", path, path]
        for name in ("passwd", "group", "hosts"):
            args += ["--ro-bind", str(self.etc_dir / name), f"/etc/{name}"]
        for path in self.extra:
            args += ["--ro-bind", str(path), str(path)]
        for mount in mounts:
            args += ["--bind" if mount.writable else "--ro-bind", str(mount.source), mount.target]
        args += ["--remount-ro", "/", "--chdir", cwd, "--clearenv"]  # writable: /tmp and the mounts
        for key, value in env.items():
            args += ["--setenv", key, value]
        args += ["--", *argv]
        return args, {"PATH": "/usr/bin:/bin"}, None


@dataclass
class Unisolated:
    """No isolation (``allow_unsandboxed = true``): the program sees the host; only the limits hold. The
    work directory is the program's current directory; ``/mnt/data`` in the code means nothing here."""

    name: str = field(default="none (unsandboxed)", init=False)

    def command(
        self, argv: Sequence[str], mounts: Sequence[Mount], env: Mapping[str, str], cwd: str
    ) -> tuple[list[str], dict[str, str], str | None]:
        host = {m.target: m.source for m in mounts}
        work = host.get(WORK_DIR)
        for mount in mounts:  # read-only inputs shown in the work directory: links to their copies
            parent, _, name = mount.target.rpartition("/")
            if work is not None and parent == WORK_DIR and not mount.writable:
                link = Path(work) / name
                if not link.is_symlink() and not link.exists():
                    link.symlink_to(mount.source)
        paths = [str(host[a]) if a in host else a for a in argv]
        return paths, dict(env), str(host.get(cwd, cwd))


def write_sandbox_etc(etc_dir: Path) -> None:
    """The passwd, group and hosts files the sandbox sees (the host's own stay hidden)."""
    etc_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "passwd": f"sandbox:x:{SANDBOX_UID}:{SANDBOX_UID}:sandbox:{SANDBOX_HOME}:/bin/sh\n",
        "group": f"sandbox:x:{SANDBOX_UID}:\n",
        "hosts": "127.0.0.1 localhost sandbox\n::1 localhost\n",
    }
    for name, text in files.items():
        path = etc_dir / name
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)


def limited(argv: Sequence[str], limits: Limits, nproc: int | None) -> list[str]:
    """``argv`` under ``prlimit`` with the kernel-enforced limits (CPU: SIGXCPU at the limit, SIGKILL a
    second later); ``nproc``: RLIMIT_NPROC, when no cgroup bounds the processes."""
    prlimit = shutil.which("prlimit") or "prlimit"
    return [
        prlimit,
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
        f"--as={limits.memory_bytes}",
        *([f"--nproc={nproc}"] if nproc is not None else []),
        f"--fsize={limits.file_bytes}",
        "--core=0",
        "--",
        *argv,
    ]


def rlimit_processes(limits: Limits) -> int | None:
    """RLIMIT_NPROC for a program when no cgroup is available: it counts every process and thread of the
    server's user, so the limit is what the user runs now plus the program's allowance. None for root,
    whom the kernel does not limit."""
    uid = os.geteuid()
    if uid == 0:
        return None
    tasks = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if proc.stat().st_uid == uid:
                tasks += len(os.listdir(proc / "task"))
    return tasks + limits.processes


async def run(
    mechanism: Mechanism,
    limits: Limits,
    argv: Sequence[str],
    mounts: Sequence[Mount],
    env: Mapping[str, str],
    cwd: str = WORK_DIR,
    cgroups: Cgroups | None = None,
) -> Outcome:
    """Run ``argv`` isolated by ``mechanism`` within ``limits`` (processes and memory also in a cgroup of
    its own when ``cgroups`` has the controllers, else processes by RLIMIT_NPROC); the whole process tree
    is gone when this returns or is cancelled."""
    command, outer_env, host_cwd = mechanism.command(argv, mounts, env, cwd)
    started = time.monotonic()
    group: ProgramCgroup | None = None
    if cgroups is not None:  # + bwrap's monitor and its PID 1
        group = await asyncio.to_thread(cgroups.create, limits.processes + 2, limits.memory_bytes)
    nproc = None
    if cgroups is None or "pids" not in cgroups.names:
        nproc = await asyncio.to_thread(rlimit_processes, limits)
    full = limited(command, limits, nproc)
    if group is not None:
        full = join_command(group, full)
    try:
        outcome = await _supervise(full, outer_env, host_cwd, limits, mechanism, started)
        if group is not None and outcome.limit is None and outcome.exit_code != 0 and group.oom_killed():
            return Outcome(None, outcome.output, "memory", outcome.seconds, outcome.signal)
        return outcome
    finally:
        if group is not None:
            await asyncio.shield(asyncio.to_thread(destroy, group))


async def _supervise(
    full: list[str],
    outer_env: dict[str, str],
    host_cwd: str | None,
    limits: Limits,
    mechanism: Mechanism,
    started: float,
) -> Outcome:
    process = await asyncio.create_subprocess_exec(
        *full,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=outer_env,
        cwd=host_cwd,
        start_new_session=True,
    )
    collected = bytearray()
    stopped_by: str | None = None

    async def pump() -> None:
        nonlocal stopped_by
        assert process.stdout is not None
        while chunk := await process.stdout.read(READ_CHUNK):
            room = limits.output_bytes - len(collected)
            collected.extend(chunk[: max(room, 0)])
            if len(chunk) > room:
                stopped_by = "output"
                _kill(process)
                return
        await process.wait()

    try:
        await asyncio.wait_for(pump(), limits.wall_seconds)
    except TimeoutError:
        stopped_by = "wall"
    finally:
        _kill(process)
        await asyncio.shield(_reap(process))
    code = process.returncode
    seconds = time.monotonic() - started
    killed_by = _signal_of(code, mechanism)
    if stopped_by is None and _cpu_exhausted(killed_by, seconds, limits):
        stopped_by = "cpu"
    output = collected.decode("utf-8", errors="replace")
    if stopped_by is not None:
        return Outcome(None, output, stopped_by, seconds, killed_by)
    return Outcome(code, output, None, seconds, killed_by)


def _kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the process group (bwrap's PID 1 then takes the whole sandbox down)."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Wait for the killed process. Its output pipe is drained first: asyncio's ``wait`` also waits for
    the pipe to close, which a paused (full) pipe never reports. A pipe still held open by an escaped
    process (unsandboxed only) is closed after a few seconds."""
    assert process.stdout is not None
    try:
        async with asyncio.timeout(REAP_S):
            while await process.stdout.read(READ_CHUNK):
                pass
    except TimeoutError:
        transport = getattr(process, "_transport", None)
        if transport is not None:
            transport.close()
    with contextlib.suppress(ProcessLookupError, TimeoutError):
        async with asyncio.timeout(REAP_S):
            await process.wait()


def _signal_of(code: int | None, mechanism: Mechanism) -> int | None:
    """The signal that ended the program: a negative code, or bwrap's 128 + signal."""
    if code is None:
        return None
    if code < 0:
        return -code
    if isinstance(mechanism, Bubblewrap) and code > 128:
        return code - 128
    return None


def _cpu_exhausted(killed_by: int | None, seconds: float, limits: Limits) -> bool:
    """Whether the kernel's CPU limit ended it: SIGXCPU (sent only at that limit), or SIGKILL after at
    least the limit's time (a program that ignores SIGXCPU is killed a second later)."""
    if killed_by == signal.SIGXCPU:
        return True
    return killed_by == signal.SIGKILL and seconds >= limits.cpu_seconds
