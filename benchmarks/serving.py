"""``pygentic serve`` as a subprocess on SQLite, for the benchmarks that measure it from outside."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

PYGENTIC = str(Path(sys.executable).parent / "pygentic")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Served:
    """A running server: its REST base URL and its SQLite database file."""

    base_url: str
    db_path: Path
    process: subprocess.Popen[str]


@contextlib.contextmanager
def serve_sqlite(extra_config: str = "", startup_s: float = 120.0) -> Iterator[Served]:
    """Start the server on a fresh SQLite database with the embedded models, wait for /healthz, stop it
    at the end. Its stderr (WARNING and above) is passed through."""
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        config = Path(tmp) / "connectors.toml"
        config.write_text(f'[connectors.database]\nurl = "sqlite:///{db_path}"\n{extra_config}')
        port = free_port()
        command = [PYGENTIC, "serve", "--config", str(config), "--grpc-port", "0"]
        command += ["--http-port", str(port), "--log-level", "WARNING"]
        process = subprocess.Popen(command, text=True)
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + startup_s
            while True:
                try:
                    if httpx.get(f"{base_url}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            yield Served(base_url, db_path, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
