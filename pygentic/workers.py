"""``pygentic serve --workers N``: N server processes on the same ports and database, supervised.

The supervisor binds nothing it serves itself: the workers share the gRPC port through SO_REUSEPORT (the
kernel spreads connections over their listening sockets) and serve HTTP on one listening socket the
supervisor opens and hands down. Each worker is a complete ``pygentic serve`` with the cross-process
event bus (PostgreSQL LISTEN/NOTIFY, or Unix sockets beside a SQLite file), so any worker can stream any
run, and run leases let a live worker take over the runs of one that died. The supervisor restarts a
worker that exits unexpectedly, forwards SIGINT/SIGTERM to all of them and waits for their graceful
shutdown.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from prometheus_client import multiprocess

from pygentic.metrics import MULTIPROCESS_ENV

log = logging.getLogger("pygentic.workers")

RESTART_DELAY_S = 1.0
# A worker that dies this soon after it started, this many times in a row, means it cannot start at all.
EARLY_EXIT_S = 10.0
MAX_EARLY_EXITS = 5


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)


def reserve_port(host: str, port: int) -> tuple[socket.socket, int]:
    """A socket bound (not listening) to ``host:port`` with SO_REUSEPORT, which keeps a free port (0)
    chosen for the workers' gRPC servers; they bind the same port with SO_REUSEPORT."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock, int(sock.getsockname()[1])


def listen(host: str, port: int) -> socket.socket:
    """The HTTP gateway's listening socket, inherited by every worker."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def supervise(workers: int, worker_args: list[str], host: str, grpc_port: int, http_port: int | None) -> int:
    """Run ``workers`` copies of ``pygentic serve worker_args`` until SIGINT/SIGTERM; restart any that
    dies. ``http_port`` None: no gateway."""
    reserved, port = reserve_port(host, grpc_port)
    http = listen(host, http_port) if http_port is not None else None
    command = [sys.executable, "-m", "pygentic.cli", "serve", *worker_args, "--workers", "1"]
    command += ["--grpc-port", str(port), "--reuse-port"]
    pass_fds: tuple[int, ...] = ()
    if http is not None:
        command += ["--http-fd", str(http.fileno())]
        pass_fds = (http.fileno(),)
    else:
        command += ["--no-gateway"]
    stopping = False
    # The workers' metrics samples (prometheus_client's multiprocess mode): /metrics on any worker adds
    # them up. The operator's directory if PROMETHEUS_MULTIPROC_DIR names one, else a temporary one.
    given = os.environ.get(MULTIPROCESS_ENV)
    metrics_dir = given or tempfile.mkdtemp(prefix="pygentic-metrics-")

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def spawn(index: int) -> _Worker:
        env = {**os.environ, "PYGENTIC_WORKER": str(index), MULTIPROCESS_ENV: metrics_dir}
        process = subprocess.Popen(command, pass_fds=pass_fds, env=env)
        log.info("worker started", extra={"worker": index, "pid": process.pid})
        return _Worker(index, process)

    where = f"{host}:{port}" + (f" and http {host}:{http.getsockname()[1]}" if http is not None else "")
    log.info("supervising workers", extra={"workers": workers, "address": where})
    running = [spawn(i) for i in range(workers)]
    early_exits = 0
    status = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for slot, worker in enumerate(running):
                code = worker.process.poll()
                if code is None or stopping:
                    continue
                multiprocess.mark_process_dead(worker.process.pid, metrics_dir)
                lived = time.monotonic() - worker.started
                early_exits = early_exits + 1 if lived < EARLY_EXIT_S else 0
                log.warning(
                    "worker exited; restarting it",
                    extra={"worker": worker.index, "pid": worker.process.pid, "exit_code": code},
                )
                if early_exits >= MAX_EARLY_EXITS:
                    log.error("workers keep failing at startup; stopping", extra={"exit_code": code})
                    stopping, status = True, 1
                    break
                time.sleep(RESTART_DELAY_S)
                running[slot] = spawn(worker.index)
    finally:
        for worker in running:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for worker in running:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
        reserved.close()
        if http is not None:
            http.close()
        if not given:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        log.info("workers stopped")
    return status
