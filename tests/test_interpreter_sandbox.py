"""Escape and abuse attempts against the code interpreter's sandbox, each run as a real program through a
real server (the openai SDK, the gateway, bubblewrap): every one is contained with a clear output, nothing
is left running, and the server goes on serving. Also: bounded concurrency, ``pygentic exec``, and the
refusal when no sandbox can run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from conftest import PYGENTIC, make_settings, with_files
from fake_upstream import FakeUpstream
from test_code_interpreter_runs import REPO, logs_of, run_code, with_interpreter
from threaded_server import ThreadedServer

from pygentic.config import InterpreterSettings
from pygentic.interpreter.service import Interpreter

SECRET = "pygentic-test-secret-7f3a9"
LIMITS = {"wall_seconds": 8.0, "cpu_seconds": 3, "memory_mb": 512, "max_processes": 48}


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Any]:
    """One server for the module, started with a secret in its environment."""
    tmp_path = tmp_path_factory.mktemp("sandbox")
    os.environ["PYGENTIC_TEST_SECRET"] = SECRET
    settings = with_files(make_settings(f"sqlite:///{tmp_path / 'sb.db'}", upstream), tmp_path / "blobs")
    settings = with_interpreter(settings, tmp_path, **LIMITS)
    try:
        with ThreadedServer(settings) as server:
            with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as client:
                yield server, client, tmp_path
    finally:
        os.environ.pop("PYGENTIC_TEST_SECRET", None)


def run_abuse(sandboxed: Any, code: str, language: str = "python", thread_id: str | None = None) -> str:
    """Run ``code``; check the run completed and the server still serves and runs code; the logs."""
    _, client, _ = sandboxed
    run, call, _ = run_code(client, code, language, thread_id=thread_id)
    assert run.status == "completed", run.last_error
    assert client.beta.assistants.list(limit=1).data  # the server answers
    deadline = time.monotonic() + 2  # the kernel reaps a dead sandbox's processes in a moment
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sandbox_processes(), "a sandboxed process outlived its call"
    return logs_of(call)


def sandbox_processes() -> list[str]:
    """Command lines of host processes that run a sandboxed program."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"/run/program/main" in cmdline:
                found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def test_no_network_not_even_the_servers_own_port(sandboxed: Any) -> None:
    server, _, _ = sandboxed
    code = f"""
import socket
for host, port in (("127.0.0.1", {server.app.http_port}), ("1.1.1.1", 53), ("pypi.org", 443)):
    try:
        socket.create_connection((host, port), timeout=3)
        print("connected", host)
    except OSError as exc:
        print("blocked", host, type(exc).__name__)
"""
    logs = run_abuse(sandboxed, code)
    assert "connected" not in logs
    assert logs.count("blocked") == 3


def test_no_view_of_secrets_config_database_or_environment(sandboxed: Any) -> None:
    server, _, tmp_path = sandboxed
    targets = [
        "/etc/shadow",
        str(REPO / "connectors.toml"),
        str(tmp_path / "sb.db"),
        str(tmp_path / "blobs"),
        str(server.app.interpreter.root),
        "/root",
    ]
    listing = " ".join(f"'{t}'" for t in targets)
    code = f'for t in {listing}; do cat "$t" >/dev/null 2>&1 && echo "READ $t" || echo "no $t"; done\nenv'
    logs = run_abuse(sandboxed, code, "shell")
    assert "GOT:" not in logs
    assert logs.count("no ") == len(targets)
    assert SECRET not in logs and "PYGENTIC" not in logs
    env_names = {
        line.split("=", 1)[0] for line in logs.splitlines() if "=" in line and " " not in line.split("=")[0]
    }
    assert "PATH" in env_names and "HOME" in env_names
    # What a program finds instead of the server's own process: its own sandbox only.
    logs = run_abuse(
        sandboxed, "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    )
    assert max(eval(logs)) < 10  # a new PID namespace: a handful of processes


def test_writes_outside_the_work_directory_fail(sandboxed: Any) -> None:
    marker = f"escape-{time.monotonic_ns()}"
    code = f"""
import os
for path in ("/usr/lib/{marker}", "/etc/{marker}", "/{marker}", "/mnt/{marker}", "/tmp/{marker}"):
    try:
        with open(path, "w") as handle:
            handle.write("x")
        print("wrote", path)
    except OSError as exc:
        print("refused", path, exc.strerror)
"""
    logs = run_abuse(sandboxed, code)
    assert logs.count("refused") == 4
    assert f"wrote /tmp/{marker}" in logs  # its private /tmp ...
    assert not Path(f"/tmp/{marker}").exists()  # ... is not the host's
    assert not any(Path(p).exists() for p in (f"/usr/lib/{marker}", f"/etc/{marker}", f"/{marker}"))


def test_fork_bomb_is_contained(sandboxed: Any) -> None:
    logs = run_abuse(sandboxed, ":(){ :|:& };:\necho survived", "shell")
    # The shell goes on (or the wall time limit stops it); when it ends, the whole bomb goes with it.
    assert "survived" in logs or "wall time limit of 8 s reached" in logs


def test_process_limit_stops_spawning(sandboxed: Any) -> None:
    server, _, _ = sandboxed
    cgroups = server.app.interpreter.cgroups
    if os.geteuid() == 0 and (cgroups is None or "pids" not in cgroups.names):
        pytest.skip("running as root without a pids cgroup: the kernel enforces no process limit here")
    code = """
import subprocess
children = []
try:
    for i in range(200):
        children.append(subprocess.Popen(["sleep", "30"]))
except OSError as exc:
    print("stopped after", len(children), "children:", exc.strerror)
"""
    logs = run_abuse(sandboxed, code)
    assert "Resource temporarily unavailable" in logs
    assert int(logs.split()[2]) < LIMITS["max_processes"]


def test_memory_bomb_gets_memory_error(sandboxed: Any) -> None:
    logs = run_abuse(sandboxed, "x = bytearray(8 * 1024 ** 3)\nprint('allocated')")
    assert "MemoryError" in logs and "allocated" not in logs


def test_memory_of_all_processes_together_is_bounded(sandboxed: Any) -> None:
    """Three processes of 300 MB each under a 512 MB limit: RLIMIT_AS (per process) lets each one
    allocate, the memory cgroup (the program as a whole) has the kernel kill some."""
    server, _, _ = sandboxed
    cgroups = server.app.interpreter.cgroups
    if cgroups is None or "memory" not in cgroups.names:
        pytest.skip("the server cannot create a memory cgroup here (no v1 hierarchy or v2 delegation)")
    code = """
import os, time
children = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        block = bytearray(300 * 1024 * 1024)
        for j in range(0, len(block), 4096):
            block[j] = 1
        time.sleep(3)
        os._exit(0)
    children.append(pid)
print(sorted(os.waitstatus_to_exitcode(os.waitpid(c, 0)[1]) for c in children))
"""
    logs = run_abuse(sandboxed, code)
    statuses = eval(logs.splitlines()[0])
    assert -9 in statuses  # killed by the kernel for the program's memory
    assert statuses.count(0) < 3


def test_infinite_loops_hit_the_cpu_and_wall_limits(sandboxed: Any) -> None:
    started = time.monotonic()
    logs = run_abuse(sandboxed, "while True:\n    pass")
    assert "CPU time limit of 3 s reached" in logs
    logs = run_abuse(sandboxed, "sleep 1000", "shell")
    assert "wall time limit of 8 s reached" in logs
    assert time.monotonic() - started < 40


def test_huge_output_is_cut_at_the_limit(sandboxed: Any) -> None:
    server, _, _ = sandboxed
    logs = run_abuse(sandboxed, "import sys\nsys.stdout.write('x' * 100_000_000)")
    limit = server.app.interpreter.limits.output_bytes
    assert logs.startswith("x" * 1000) and len(logs) < limit + 200
    assert f"output limit of {limit} bytes reached" in logs


def test_killing_the_parent_and_everything_harms_only_the_sandbox(sandboxed: Any) -> None:
    logs = run_abuse(sandboxed, "kill -9 $PPID; kill -9 1; kill -9 -1; echo still here", "shell")
    del logs  # whatever it killed was inside its own sandbox: the run completed, the server serves
    assert run_abuse(sandboxed, "print('next call works')") == "next call works\n"


def test_background_processes_do_not_outlive_the_call(sandboxed: Any) -> None:
    marker = 300 + (time.monotonic_ns() % 500)
    code = (
        f"(sleep {marker} &)\nnohup sleep {marker + 1} >/dev/null 2>&1 &\n"
        f"setsid sleep {marker + 2} &\necho started"
    )
    logs = run_abuse(sandboxed, code, "shell")
    assert logs.startswith("started")
    time.sleep(0.2)
    assert not [p for p in _host_commands() if any(f"sleep {marker + i}" in p for i in range(3))]


def _host_commands() -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def test_one_thread_cannot_read_another_threads_work_directory(sandboxed: Any) -> None:
    server, client, _ = sandboxed
    _, _, message = run_code(client, "open('/mnt/data/secret.txt', 'w').write('thread A only')")
    thread_a = message.thread_id
    host_dir = server.app.interpreter.root / thread_a / "data"
    assert (host_dir / "secret.txt").is_file()
    # (the pattern is split so that this program's own text does not match it; the read-only Python
    # environment, shown under /tmp when the checkout is there, is skipped: scanning its thousands of
    # files can outlast the wall-time limit on a loaded machine)
    env = server.app.settings.interpreter.resolved_python_env().resolve().name
    code = (
        f"cat '{host_dir}/secret.txt'; ls /mnt/data; "
        f"grep -rls --exclude-dir='{env}' 'thread A'' only' /mnt /home /tmp; echo end"
    )
    logs = run_abuse(sandboxed, code, "shell")
    lines = logs.splitlines()
    assert lines[0].endswith("secret.txt: No such file or directory")  # the host path means nothing here
    assert lines[1:] == ["end"]  # its own /mnt/data is empty, and the text is nowhere
    assert "thread A only" not in logs


async def test_executions_are_bounded_and_never_block_the_event_loop(tmp_path: Path) -> None:
    settings = InterpreterSettings(
        dir=str(tmp_path / "ci"), python_env=str(REPO / ".interpreter-env"), max_concurrency=2
    )
    interpreter = Interpreter(settings, "sqlite:///:memory:")
    await interpreter.start()
    assert interpreter.unavailable is None
    code = "import time\nstart = time.time()\ntime.sleep(0.6)\nprint(start, time.time())"
    lags: list[float] = []

    async def watch() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - before - 0.01)

    watcher = asyncio.create_task(watch())
    workspaces = [interpreter.workspace(f"thread_c{i}") for i in range(5)]
    results = await asyncio.gather(*(interpreter.execute("python", code, w) for w in workspaces))
    watcher.cancel()
    interpreter.close()
    spans = [tuple(float(x) for x in r.logs.split()) for r in results]
    assert all(r.exit_code == 0 for r in results)
    for start, _ in spans:  # never more than two programs at once; the others queued
        assert sum(1 for s, e in spans if s <= start < e) <= 2
    assert max(e for _, e in spans) - min(s for s, _ in spans) >= 1.8  # five 0.6 s programs, two lanes
    assert max(lags) < 0.25


def _exec(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYGENTIC, "exec", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_pygentic_exec_runs_code_and_exits_with_its_status(tmp_path: Path) -> None:
    config = tmp_path / "connectors.toml"
    config.write_text(
        f'[connectors.interpreter]\ndir = "{tmp_path / "ci"}"\npython_env = "{REPO / ".interpreter-env"}"\n'
    )
    result = _exec("--config", str(config), "--language", "python", "-c", "print(1+1)")
    assert (result.returncode, result.stdout) == (0, "2\n")
    program = tmp_path / "prog.js"
    program.write_text("console.log('from a file'); process.exit(3)")
    result = _exec("--config", str(config), "-l", "javascript", "--file", str(program))
    assert (result.returncode, result.stdout) == (3, "from a file\n")
    result = _exec("--config", str(config), "-l", "shell", stdin="echo from stdin; exit 5")
    assert (result.returncode, result.stdout) == (5, "from stdin\n")
    result = _exec(
        "--config", str(config), "-c", "import pandas, numpy, matplotlib; print(pandas.__version__)"
    )
    assert result.returncode == 0 and result.stdout.strip()
    result = _exec("--config", str(config), "-c", "open('/mnt/data/out.txt', 'w').write('hi')")
    assert "wrote sandbox:/mnt/data/out.txt" in result.stderr


def test_without_a_sandbox_the_interpreter_refuses_unless_allowed(tmp_path: Path) -> None:
    """A machine without bwrap: PATH holds only the tools the interpreter needs besides bwrap."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("prlimit", "bash", "node"):
        found = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        (bin_dir / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bin_dir)}
    base = (
        f'[connectors.interpreter]\ndir = "{tmp_path / "ci"}"\npython_env = "{REPO / ".interpreter-env"}"\n'
    )
    config = tmp_path / "connectors.toml"
    config.write_text(base)
    result = _exec("--config", str(config), "-c", "print(1)", env=env)
    assert result.returncode == 2
    assert "bubblewrap (bwrap) is not installed" in result.stderr and "allow_unsandboxed" in result.stderr
    config.write_text(base + "allow_unsandboxed = true\n")
    result = _exec("--config", str(config), "-c", "import os; print(os.getcwd().endswith('data'))", env=env)
    assert (result.returncode, result.stdout) == (0, "True\n")
    assert "WITHOUT a sandbox" in result.stderr


def test_python_environment_under_tmp_is_visible(tmp_path: Path) -> None:
    """The sandbox's private /tmp must not hide a Python environment (or a checkout) under the host's /tmp."""
    env_dir = tmp_path / "env"
    subprocess.run(["python3", "-m", "venv", "--without-pip", str(env_dir)], check=True)
    config = tmp_path / "connectors.toml"
    config.write_text(f'[connectors.interpreter]\ndir = "{tmp_path / "ci"}"\npython_env = "{env_dir}"\n')
    result = _exec("--config", str(config), "-c", "import sys; print(sys.prefix)")
    assert (result.returncode, result.stdout) == (0, f"{env_dir}\n"), result.stderr
