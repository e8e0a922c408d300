"""/docs renders in a real browser, offline: every operation of the OpenAPI document is listed (issue 8,
defect 11). Needs Debian's `chromium` (.ci/run installs it); skips with that reason when it is absent."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import make_settings
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OPERATION = re.compile(r'opblock-summary-method">(\w+)</span>.*?data-path="([^"]+)"', re.DOTALL)


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    with ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'docs.db'}", upstream)) as running:
        yield running


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_docs_render_every_operation_in_headless_chromium_offline(
    server: ThreadedServer, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{server.app.http_port}"
    document = httpx.get(f"{base}/openapi.json").json()
    expected = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert len(expected) >= 28  # assistants, threads, messages, runs, steps, files
    page = httpx.get(f"{base}/docs").text
    assert not re.search(r"(src|href)=\"https?://(?!127\.0\.0\.1)", page)  # every asset is served here

    dom = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            # The network is off: no host resolves but this machine.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=20000",
            "--dump-dom",
            f"{base}/docs",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "Unable to render this definition" not in dom
    rendered = {(method.upper(), path) for method, path in OPERATION.findall(dom)}
    assert rendered == expected
