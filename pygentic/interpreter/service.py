"""The code interpreter service: which sandbox runs here, the languages, the limits, the work
directories, and bounded concurrency. Used by the ``code_interpreter`` tool and by ``pygentic exec``."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pygentic.config import InterpreterSettings
from pygentic.interpreter import sandbox
from pygentic.interpreter.cgroups import Cgroups
from pygentic.interpreter.languages import SYSTEM_PATH, Languages
from pygentic.interpreter.sandbox import Bubblewrap, Limits, Mechanism, Mount, Outcome, Unisolated
from pygentic.interpreter.workspace import SAFE_ID, InputFile, Workspace, WrittenFile

log = logging.getLogger("pygentic.interpreter")

PROGRAM_DIR = "/run/program"
LIMIT_NOTES = {
    "wall": "wall time limit of {wall:g} s reached; the program and everything it started were killed",
    "cpu": "CPU time limit of {cpu} s reached; the program was killed",
    "output": "output limit of {output} bytes reached; the program was killed",
    "memory": "memory limit of {memory} MB reached; the kernel killed the program",
}


class InterpreterUnavailable(Exception):
    """No sandbox can run here and unsandboxed execution is not allowed; the message says why."""


@dataclass
class Execution:
    """One program's run: what the step shows and the model reads."""

    language: str
    logs: str
    outcome: Outcome | None = None  # None: not run (refused, unknown language, missing runtime)
    written: list[WrittenFile] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.outcome is None:
            return 127
        if self.outcome.exit_code is None:
            return 137 if self.outcome.limit else 1
        return self.outcome.exit_code


class Interpreter:
    """Runs programs in the configured sandbox, at most ``max_concurrency`` at once (others queue)."""

    def __init__(self, settings: InterpreterSettings, database_url: str) -> None:
        self.settings = settings
        self.root = settings.resolved_dir(database_url).resolve()
        self.limits = Limits(
            cpu_seconds=settings.cpu_seconds,
            wall_seconds=settings.wall_seconds,
            memory_bytes=settings.memory_mb * 1024 * 1024,
            processes=settings.max_processes,
            output_bytes=settings.max_output_bytes,
            file_bytes=settings.max_file_mb * 1024 * 1024,
        )
        self.python_env = settings.resolved_python_env().absolute()
        env_python = self.python_env / "bin" / "python"
        self.managed_python = env_python.is_file()
        python = str(env_python) if self.managed_python else "python3"
        self.languages = Languages(python, settings.languages)
        self.mechanism: Mechanism | None = None
        self.unavailable: str | None = None
        self.cgroups: Cgroups | None = None
        self._slots: asyncio.Semaphore | None = None
        self._started = False

    # ------------------------------------------------------------------ setup

    def _visible(self) -> list[Path]:
        """Host directories the sandbox shows besides the system: the managed Python environment and
        the installation its interpreter comes from."""
        if not self.managed_python:
            return []
        paths = [self.python_env.resolve()]
        config = self.python_env / "pyvenv.cfg"
        for line in config.read_text().splitlines() if config.is_file() else []:
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                prefix = Path(value.strip()).resolve().parent
                if not str(prefix).startswith("/usr"):
                    paths.append(prefix)
        return paths

    def search_path(self) -> list[str]:
        env_bin = [str(self.python_env / "bin")] if self.managed_python else []
        return [*env_bin, *SYSTEM_PATH]

    async def start(self) -> None:
        """Choose the mechanism: bubblewrap, tried once here; else unsandboxed only if allowed."""
        if self._started:
            return
        self._started = True
        self._slots = asyncio.Semaphore(self.settings.max_concurrency)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.cgroups = await asyncio.to_thread(Cgroups.find)
        if (self.cgroups is None or "pids" not in self.cgroups.names) and os.geteuid() == 0:
            log.warning(
                "interpreter: no pids cgroup can be created and the kernel does not apply RLIMIT_NPROC to "
                "root: the process limit is not enforced (the wall time limit still ends every program)"
            )
        if not self.managed_python:
            log.warning(
                "interpreter: the managed Python environment is missing; Python runs on the system's "
                "python3 without pandas, numpy or matplotlib (run `make install` to create it)",
                extra={"python_env": str(self.python_env)},
            )
        if self.settings.sandbox == "none":
            self.mechanism = Unisolated()
            log.warning("interpreter: running code WITHOUT a sandbox (sandbox = 'none')")
            return
        reason = await self._try_bubblewrap()
        if reason is None:
            return
        if self.settings.allow_unsandboxed and self.settings.sandbox == "auto":
            self.mechanism = Unisolated()
            log.warning(
                "interpreter: running code WITHOUT a sandbox (allow_unsandboxed)", extra={"reason": reason}
            )
            return
        self.unavailable = (
            f"The code interpreter cannot run code on this server: {reason}. Install bubblewrap "
            "(Debian: apt install bubblewrap) or set allow_unsandboxed = true in [connectors.interpreter]."
        )
        log.error("interpreter unavailable", extra={"reason": reason})

    async def _try_bubblewrap(self) -> str | None:
        """None if bubblewrap works here (it is then the mechanism), else why not."""
        etc_dir = self.root / ".etc"
        sandbox.write_sandbox_etc(etc_dir)
        candidate = Bubblewrap.find(etc_dir, self._visible(), self.limits.file_bytes)
        if candidate is None:
            return "bubblewrap (bwrap) is not installed"
        if shutil.which("prlimit") is None:
            return "prlimit (util-linux) is not installed"
        probe = Workspace(self.root / ".probe")
        try:
            outcome = await sandbox.run(
                candidate, Limits(wall_seconds=10), ["/bin/sh", "-c", "exit 0"], probe.mounts(), {}
            )
        except OSError as exc:
            return f"bubblewrap cannot start ({exc})"
        finally:
            probe.remove()
        if not outcome.ok:
            return f"bubblewrap does not work here: {outcome.output.strip() or outcome.exit_code}"
        self.mechanism = candidate
        return None

    def describe(self) -> str:
        """The mechanism in use, for ``pygentic connectors``."""
        if not self.settings.enabled:
            return "disabled"
        if self.unavailable:
            return "unavailable: " + self.unavailable
        assert self.mechanism is not None
        python = "managed env" if self.managed_python else "system python3, no pandas"
        names = self.cgroups.names if self.cgroups is not None else []
        if "pids" in names:
            processes = "pids cgroup"
        else:
            processes = "unenforced (root, no cgroup)" if os.geteuid() == 0 else "RLIMIT_NPROC"
        memory = "memory cgroup" if "memory" in names else "RLIMIT_AS per process"
        return (
            f"sandbox={self.mechanism.name} languages={','.join(self.languages.names())} python={python} "
            f"process_limit={processes} memory_limit={memory}"
        )

    def close(self) -> None:
        """Remove this process's cgroup (its executions' children are gone by now)."""
        if self.cgroups is not None:
            self.cgroups.close()

    # ------------------------------------------------------------------ work directories

    def workspace(self, thread_id: str) -> Workspace:
        if not SAFE_ID.match(thread_id):
            raise ValueError(f"not a thread id: {thread_id!r}")
        return Workspace(self.root / thread_id)

    def remove_workspace(self, thread_id: str) -> None:
        """Delete a thread's work directory (its thread was deleted)."""
        if SAFE_ID.match(thread_id):
            path = self.root / thread_id
            if path.exists():
                shutil.rmtree(path, ignore_errors=True)
                log.info("interpreter work directory removed", extra={"thread_id": thread_id})

    # ------------------------------------------------------------------ execution

    def environment(self, workspace: Workspace) -> dict[str, str]:
        threads = str(min(4, os.cpu_count() or 1))
        home = sandbox.SANDBOX_HOME if isinstance(self.mechanism, Bubblewrap) else str(workspace.home)
        return {
            "PATH": ":".join(self.search_path()),
            "HOME": home,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TMPDIR": "/tmp",
            "MPLBACKEND": "Agg",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "OPENBLAS_NUM_THREADS": threads,
            "OMP_NUM_THREADS": threads,
        }

    async def execute(
        self, language: str, code: str, workspace: Workspace, inputs: Sequence[InputFile] = ()
    ) -> Execution:
        """Run ``code`` in ``workspace``; waits for a free slot first."""
        if not self._started:
            await self.start()
        lang = self.languages.get(language)
        if lang is None:
            known = ", ".join(self.languages.names())
            return Execution(language, f"Unknown language {language!r}; this interpreter runs: {known}.")
        if self.unavailable or self.mechanism is None:
            return Execution(lang.name, self.unavailable or "The code interpreter is not available.")
        if lang.runtime(self.search_path()) is None:
            return Execution(
                lang.name,
                f"The {lang.name} runtime ({lang.command[0]!r}) is not installed on this server; "
                f"use one of: {', '.join(n for n in self.languages.names() if n != lang.name)}.",
            )
        program = workspace.root / f".program-{uuid.uuid4().hex}{lang.suffix}"
        program.write_text(code, encoding="utf-8")
        target = f"{PROGRAM_DIR}/main{lang.suffix}"
        mounts: list[Mount] = [*workspace.mounts(inputs), Mount(program, target)]
        argv = lang.argv(target)
        assert self._slots is not None
        try:
            async with self._slots:
                before = await asyncio.to_thread(workspace.snapshot)  # (a large directory is a walk)
                outcome = await sandbox.run(
                    self.mechanism,
                    self.limits,
                    argv,
                    mounts,
                    self.environment(workspace),
                    cgroups=self.cgroups,
                )
                written = await asyncio.to_thread(workspace.written, before, inputs)
        finally:
            program.unlink(missing_ok=True)
        logs = outcome.output
        if outcome.limit:
            note = LIMIT_NOTES[outcome.limit].format(
                wall=self.limits.wall_seconds,
                cpu=self.limits.cpu_seconds,
                output=self.limits.output_bytes,
                memory=self.settings.memory_mb,
            )
            logs += ("\n" if logs and not logs.endswith("\n") else "") + f"[{note}]"
        elif outcome.signal:
            logs += (
                "\n" if logs and not logs.endswith("\n") else ""
            ) + f"[killed by signal {outcome.signal}]"
        log.info(
            "code executed",
            extra={
                "language": lang.name,
                "exit_code": outcome.exit_code,
                "limit": outcome.limit,
                "seconds": round(outcome.seconds, 3),
                "files_written": len(written),
            },
        )
        return Execution(lang.name, logs, outcome, written)
