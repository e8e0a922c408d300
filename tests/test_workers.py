"""``pygentic serve --workers N``: N real server processes share the gRPC port (SO_REUSEPORT) and the HTTP
socket on one database (PostgreSQL, or a SQLite file); a killed worker is restarted; SIGTERM stops them
all; an in-memory database is refused."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import openai
import pytest
from asgi_thread import free_port
from conftest import PYGENTIC, _reset_pg
from fake_upstream import FakeUpstream
from google.protobuf import struct_pb2
from runhelpers import delta_text, names

from pygentic.proto.v1 import (
    assistants_pb2,
    assistants_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    runs_pb2,
    runs_pb2_grpc,
    threads_pb2,
    threads_pb2_grpc,
)

FRESH = [("grpc.use_local_subchannel_pool", 1)]  # a connection of its own: the kernel picks its worker


class Served:
    """A supervisor process and the log lines it and its workers wrote."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, pattern: str, count: int = 1, within: float = 60) -> list[re.Match[str]]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = [m for line in list(self.lines) if (m := re.search(pattern, line))]
            if len(found) >= count:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        pytest.fail(f"no {count} x {pattern!r} in the log:\n{''.join(self.lines)}")


def write_config(tmp_path: Path, database: str, upstream: FakeUpstream) -> Path:
    """A connectors.toml: ``database``, the fake upstream, the interpreter's directory under tmp_path."""
    config = tmp_path / "connectors.toml"
    config.write_text(
        f'[connectors.database]\nurl = "{database}"\n'
        f'[connectors.llm_service]\ntype = "openai"\nbase_url = "{upstream.url}"\nmax_retries = 0\n'
        f'[connectors.interpreter]\ndir = "{tmp_path / "ci"}"\n'
    )
    return config


@pytest.fixture(params=["sqlite", "postgresql"])
def workers(
    request: pytest.FixtureRequest, upstream: FakeUpstream, tmp_path: Path
) -> Iterator[tuple[Served, int, int]]:
    if request.param == "sqlite":
        database = f"sqlite:///{tmp_path / 'workers.db'}"
    else:
        database = request.getfixturevalue("pg_database")
        _reset_pg(database)
    config = write_config(tmp_path, database, upstream)
    http_port = free_port()
    command = [PYGENTIC, "serve", "--config", str(config), "--workers", "2", "--grpc-port", "0"]
    proc = subprocess.Popen(
        [*command, "--http-port", str(http_port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(proc)
    try:
        (match,) = served.wait_for(r'msg="supervising workers" workers=2 address="127\.0\.0\.1:(\d+)')
        served.wait_for(r'msg="http gateway listening"', count=2)
        yield served, int(match.group(1)), http_port
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def listening_pids(port: int) -> set[int]:
    """The processes holding a listening TCP socket on ``port`` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = str(fd.readlink())
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    pids.add(int(proc.name))
        except OSError:
            continue
    return pids


def worker_pids(supervisor: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(supervisor)], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}


def answers(grpc_port: int, http_port: int) -> None:
    """Both doors answer, on fresh connections (the kernel picks a worker for each)."""
    for _ in range(10):
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = assistants_pb2_grpc.AssistantsStub(channel)
            stub.ListAssistants(assistants_pb2.ListAssistantsRequest(limit=1), timeout=10)
    with openai.OpenAI(base_url=f"http://127.0.0.1:{http_port}/v1", api_key="x", max_retries=0) as client:
        assistant = client.beta.assistants.create(model="echo")
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
        )
        assert run.status == "completed"


def test_workers_share_the_ports_and_a_killed_one_is_restarted(workers: tuple[Served, int, int]) -> None:
    served, grpc_port, http_port = workers
    children = worker_pids(served.proc.pid)
    assert len(children) == 2
    assert listening_pids(grpc_port) == children  # one gRPC listener per worker on the same port
    assert children <= listening_pids(http_port)  # the one HTTP socket, served by both
    answers(grpc_port, http_port)

    victim = min(children)
    subprocess.run(["kill", "-9", str(victim)], check=True)
    served.wait_for(rf'msg="worker exited; restarting it" worker=\d pid={victim} exit_code=-9')
    served.wait_for(r'msg="grpc listening"', count=3)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(listening_pids(grpc_port)) < 2:
        time.sleep(0.1)
    now = worker_pids(served.proc.pid)
    assert len(now) == 2 and victim not in now and listening_pids(grpc_port) == now
    answers(grpc_port, http_port)

    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=60) == 0
    served.wait_for(r'msg="workers stopped"')
    for pid in now:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_every_worker_writes_and_follows_the_others_runs(workers: tuple[Served, int, int]) -> None:
    """Messages added at once over 16 connections (spread over both workers) are all stored, once each;
    a streamed run watched over 6 more connections reaches each watcher whole, whichever worker it
    landed on (one that does not execute the run follows it through the shared bus)."""
    _, grpc_port, _ = workers
    target = f"127.0.0.1:{grpc_port}"
    with grpc.insecure_channel(target) as channel:
        assistant = assistants_pb2_grpc.AssistantsStub(channel).CreateAssistant(
            assistants_pb2.CreateAssistantRequest(model="words:40:0.05"), timeout=30
        )
        thread = threads_pb2_grpc.ThreadsStub(channel).CreateThread(
            threads_pb2.CreateThreadRequest(), timeout=30
        )

    def add(i: int) -> list[str]:
        with grpc.insecure_channel(target, options=FRESH) as channel:
            stub = messages_pb2_grpc.MessagesStub(channel)
            return [
                stub.CreateMessage(
                    messages_pb2.CreateMessageRequest(
                        thread_id=thread.id, role="user", content=struct_pb2.Value(string_value=f"m{i}.{k}")
                    ),
                    timeout=30,
                ).id
                for k in range(10)
            ]

    with ThreadPoolExecutor(16) as pool:
        added = [i for ids in pool.map(add, range(16)) for i in ids]
    assert len(set(added)) == 160
    with grpc.insecure_channel(target, options=FRESH) as channel:
        stub = messages_pb2_grpc.MessagesStub(channel)
        stored: list[str] = []
        after = None
        while True:
            page = stub.ListMessages(
                messages_pb2.ListMessagesRequest(thread_id=thread.id, limit=100, order="asc", after=after),
                timeout=30,
            )
            stored += [m.id for m in page.data]
            if not page.has_more:
                break
            after = page.last_id
    assert sorted(stored) == sorted(added)

    own: list[runs_pb2.RunEvent] = []
    halfway = threading.Event()

    def stream() -> None:
        with grpc.insecure_channel(target, options=FRESH) as channel:
            request = runs_pb2.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id)
            for event in runs_pb2_grpc.RunsStub(channel).StreamRun(request, timeout=60):
                own.append(event)
                if len(delta_text(own)) > 20:
                    halfway.set()

    def watch(run_id: str) -> list[runs_pb2.RunEvent]:
        with grpc.insecure_channel(target, options=FRESH) as channel:
            request = runs_pb2.WatchRunRequest(thread_id=thread.id, run_id=run_id)
            return list(runs_pb2_grpc.RunsStub(channel).WatchRun(request, timeout=60))

    streamer = threading.Thread(target=stream)
    streamer.start()
    assert halfway.wait(60)
    with ThreadPoolExecutor(6) as pool:
        watched = list(pool.map(watch, [own[0].run.id] * 6))
    streamer.join(60)
    with grpc.insecure_channel(target) as channel:
        answer = messages_pb2_grpc.MessagesStub(channel).ListMessages(
            messages_pb2.ListMessagesRequest(thread_id=thread.id, limit=1), timeout=30
        )
    text = answer.data[0].content[0].text.value
    assert text and delta_text(own) == text
    for events in watched:
        assert delta_text(events) == text  # the snapshot plus the live deltas: nothing lost or doubled
        assert names(events)[-2:] == ["thread.run.completed", "done"]


def test_workers_need_a_database_they_can_share(tmp_path: Path) -> None:
    config = tmp_path / "connectors.toml"
    config.write_text('[connectors.database]\nurl = "sqlite:///:memory:"\n')
    done = subprocess.run(
        [PYGENTIC, "serve", "--config", str(config), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--workers needs a database the processes can share" in done.stderr


def test_workers_stop_when_the_supervisor_is_killed(workers: tuple[Served, int, int]) -> None:
    served, grpc_port, _ = workers
    children = worker_pids(served.proc.pid)
    assert len(children) == 2
    served.proc.kill()  # SIGKILL: no chance to forward anything; the kernel tells the workers (PDEATHSIG)
    served.proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    assert not listening_pids(grpc_port)


def serve_by_default(database: str, upstream: FakeUpstream, tmp_path: Path) -> Served:
    """``pygentic serve`` without ``--workers`` (nor $PYGENTIC_WORKERS) on ``database``."""
    config = write_config(tmp_path, database, upstream)
    env = {k: v for k, v in os.environ.items() if k != "PYGENTIC_WORKERS"}
    proc = subprocess.Popen(
        [PYGENTIC, "serve", "--config", str(config), "--grpc-port", "0", "--no-gateway"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return Served(proc)


def stop(served: Served) -> None:
    served.proc.send_signal(signal.SIGTERM)
    served.proc.wait(timeout=60)


def test_workers_default_to_one_per_core_on_postgresql(
    pg_database: str, upstream: FakeUpstream, tmp_path: Path
) -> None:
    _reset_pg(pg_database)
    cores = len(os.sched_getaffinity(0))
    served = serve_by_default(pg_database, upstream, tmp_path)
    try:
        if cores == 1:
            served.wait_for(r'msg="grpc listening"')
            assert worker_pids(served.proc.pid) == set()  # one core: the process serves by itself
        else:
            served.wait_for(rf'msg="supervising workers" workers={cores} ')
            served.wait_for(r'msg="grpc listening"', count=cores)
            assert len(worker_pids(served.proc.pid)) == cores
    finally:
        stop(served)


def test_workers_default_to_one_process_on_sqlite(tmp_path: Path, upstream: FakeUpstream) -> None:
    served = serve_by_default(f"sqlite:///{tmp_path / 'w.db'}", upstream, tmp_path)
    try:
        served.wait_for(r'msg="grpc listening"')
        assert worker_pids(served.proc.pid) == set()
        assert not any("supervising workers" in line for line in served.lines)
    finally:
        stop(served)


def test_workers_must_be_a_count_or_auto(tmp_path: Path) -> None:
    for value in ("0", "many"):
        done = subprocess.run(
            [PYGENTIC, "serve", "--workers", value], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2
        assert "--workers" in done.stderr


def test_metrics_add_up_every_workers_samples(workers: tuple[Served, int, int]) -> None:
    """Whichever worker answers /metrics, it counts the requests all of them served."""
    _, _, http_port = workers
    base = f"http://127.0.0.1:{http_port}"
    for _ in range(20):  # new connections, spread over both workers by the shared socket
        httpx.get(f"{base}/v1/assistants", headers={"Connection": "close"}).raise_for_status()
    served_by = set()
    for _ in range(6):
        text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text
        (line,) = [
            row
            for row in text.splitlines()
            if row.startswith("pygentic_requests_total{")
            and 'method="GET /v1/assistants"' in row
            and 'door="http"' in row
        ]
        served_by.add(float(line.rsplit(" ", 1)[1]))
    assert min(served_by) >= 20  # not one worker's share
