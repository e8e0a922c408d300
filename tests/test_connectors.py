"""Connectors and plugins: the seed's custom connector, plugin errors, LLM routing, serverless tools and
per-connector concurrency."""

from __future__ import annotations

import asyncio
import json
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from conftest import PYGENTIC, Stubs, connect, make_settings, running
from fake_upstream import FakeUpstream
from runhelpers import (
    assistant_and_thread,
    collect,
    delta_text,
    messages_of,
    names,
    wait_for_status,
    weather_tool,
)
from threaded_server import ThreadedServer
from tool_endpoint import ToolEndpoint

from pygentic.app import Pygentic, ServeOptions
from pygentic.config import LLMSettings, ServerlessSettings, Settings, parse_settings
from pygentic.connectors.plugins import PluginError
from pygentic.connectors.registry import ConnectorStartupError
from pygentic.connectors.serverless import verify
from pygentic.proto.v1 import runs_pb2 as pb

SEED_CONNECTOR = """
from pygentic.connectors import BaseConnector

class MyCustomConnector(BaseConnector):

    def initialize(self, config: dict):
        self.config = config
        self.connected = False

    async def connect(self):
        self.connected = True

    async def disconnect(self):
        self.connected = False

    async def generate_text(self, prompt: str) -> str:
        if not self.connected:
            await self.connect()
        return "Generated text based on prompt: " + prompt
"""

SEED_ROUTE = """
from fastapi import APIRouter as App, Request

app = App()

@app.get("/custom_action")
async def custom_action(request: Request):
    result = await request.state.mycustomconnector.generate_text("Hello, Pygentic!")
    return {"result": result}
"""


def plugin_dir(tmp_path: Path, **modules: str) -> Path:
    directory = tmp_path / "custom_connectors"
    directory.mkdir(exist_ok=True)
    for name, source in modules.items():
        (directory / f"{name}.py").write_text(textwrap.dedent(source))
    return directory


def settings_with(base: Settings, body: str) -> Settings:
    """``base`` (database + fake upstream) plus the plugin-related parts of a connectors.toml body."""
    import tomllib

    parsed = parse_settings(tomllib.loads(body))
    return replace(
        base,
        plugins=parsed.plugins,
        llms=parsed.llms,
        serverless=parsed.serverless,
        routers=parsed.routers,
        plugin_dir=parsed.plugin_dir,
    )


@pytest.fixture
def seed_settings(tmp_path: Path, settings: Settings) -> Settings:
    directory = plugin_dir(tmp_path, my_connectors=SEED_CONNECTOR, custom_routes=SEED_ROUTE)
    return settings_with(
        settings,
        f'''
plugin_dir = "{directory}"
routers = ["custom_routes:app"]
[connectors.mycustomconnector]
custom_setting = "value"
models = ["seed-*"]
''',
    )


def test_seed_connector_and_custom_route(seed_settings: Settings) -> None:
    server = ThreadedServer(seed_settings).start()
    try:
        root = server.base_url.removesuffix("/v1")
        answer = httpx.get(f"{root}/custom_action").json()
        assert answer == {"result": "Generated text based on prompt: Hello, Pygentic!"}
        plugin = server.app.connectors.plugins["mycustomconnector"]
        assert plugin.config == {"custom_setting": "value", "models": ["seed-*"]}  # type: ignore[attr-defined]
        assert plugin.connected  # type: ignore[attr-defined]
    finally:
        server.stop()
    assert not plugin.connected  # type: ignore[attr-defined]  # disconnected at shutdown


async def test_generate_text_plugin_answers_runs_and_routing(
    seed_settings: Settings, upstream: FakeUpstream
) -> None:
    settings = replace(
        seed_settings,
        llms=(LLMSettings(name="other", type="openai", base_url=upstream.url, timeout=5, max_retries=0),),
    )
    async with running(settings) as app, connect(app) as stubs:
        by_glob, thread = await assistant_and_thread(stubs, "seed-1", "Say hi")
        events = await collect(
            stubs.runs.StreamRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=by_glob.id))
        )
        assert names(events)[-2] == "thread.run.completed"
        text = delta_text(events)
        assert text.startswith("Generated text based on prompt: ") and "User: Say hi" in text
        assert (await messages_of(stubs, thread.id))[-1].content[0].text.value == text

        default, thread2 = await assistant_and_thread(stubs, "echo", "default route")
        run = await stubs.runs.CreateRun(pb.CreateRunRequest(thread_id=thread2.id, assistant_id=default.id))
        await wait_for_status(stubs, thread2.id, run.id)
        assert (await messages_of(stubs, thread2.id))[-1].content[0].text.value == "Echo: default route"

        by_name, thread3 = await assistant_and_thread(stubs, "other/echo:0", "named route")
        run = await stubs.runs.CreateRun(pb.CreateRunRequest(thread_id=thread3.id, assistant_id=by_name.id))
        await wait_for_status(stubs, thread3.id, run.id)
        assert (await messages_of(stubs, thread3.id))[-1].content[0].text.value == "Echo: named route"
        assert upstream.requests_for("echo:0")[-1]["messages"][-1]["content"] == "named route"


CLASS_FORM = """
from pygentic.connectors import BaseConnector

class Greeter(BaseConnector):
    async def generate_text(self, prompt: str) -> str:
        return self.config["greeting"]
"""


async def test_class_form(tmp_path: Path, settings: Settings) -> None:
    directory = plugin_dir(tmp_path, greeters=CLASS_FORM)
    configured = settings_with(
        settings,
        f'''
plugin_dir = "{directory}"
[connectors.hello]
class = "greeters:Greeter"
greeting = "Hello from a plugin"
''',
    )
    async with running(configured) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "hello/any")
        events = await collect(
            stubs.runs.StreamRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        )
        assert delta_text(events) == "Hello from a plugin"


@pytest.mark.parametrize(
    ("modules", "table", "use_dir", "fragments"),
    [
        (
            {},
            "[connectors.thing]\nx = 1\n",
            False,
            ["[connectors.thing]", "no plugin directory", "PYGENTIC_PLUGIN_DIR"],
        ),
        ({}, "[connectors.thing]\nx = 1\n", "missing", ["[connectors.thing]", "does not exist"]),
        (
            {"broken": "import not_a_module_anywhere\n"},
            '[connectors.thing]\nclass = "broken:Thing"\n',
            True,
            [
                "[connectors.thing]",
                "cannot import plugin module 'broken'",
                "ModuleNotFoundError: No module named 'not_a_module_anywhere'",
            ],
        ),
        (
            {"other": "class Something:\n    pass\n"},
            "[connectors.thing]\n",
            True,
            ["[connectors.thing]", "no class named 'thing'"],
        ),
        (
            {"things": "class Thing:\n    pass\n"},
            "[connectors.thing]\n",
            True,
            ["[connectors.thing]", "is not a subclass of pygentic.connectors.BaseConnector"],
        ),
        (
            {"things": "x = 1\n"},
            '[connectors.thing]\nclass = "things:Missing"\n',
            True,
            ["[connectors.thing]", "has no attribute 'Missing'"],
        ),
    ],
)
def test_plugin_errors_name_the_table(
    tmp_path: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    modules: dict[str, str],
    table: str,
    use_dir: bool | str,
    fragments: list[str],
) -> None:
    monkeypatch.delenv("PYGENTIC_PLUGIN_DIR", raising=False)
    directory = plugin_dir(tmp_path, **modules)
    head = ""
    if use_dir is True:
        head = f'plugin_dir = "{directory}"\n'
    elif use_dir == "missing":
        head = f'plugin_dir = "{tmp_path / "nowhere"}"\n'
    with pytest.raises(PluginError) as info:
        Pygentic(settings_with(settings, head + table), ServeOptions())
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)

    # The command stops the same way, with the message and exit status 2.
    config = tmp_path / "connectors.toml"
    config.write_text(head + f'[connectors.database]\nurl = "sqlite:///{tmp_path / "x.db"}"\n' + table)
    done = subprocess.run(
        [PYGENTIC, "serve", "--config", str(config), "--grpc-port", "0", "--no-gateway"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and fragments[0] in done.stderr


def test_duplicate_connector_names(tmp_path: Path) -> None:
    import tomllib

    from pygentic.config import ConfigError

    with pytest.raises(
        ConfigError, match=r"\[connectors.Thing\].*duplicate connector name.*\[connectors.thing\]"
    ):
        parse_settings(tomllib.loads("[connectors.thing]\n[connectors.Thing]\n"))


FAILING = """
from pygentic.connectors import BaseConnector

class Flaky(BaseConnector):
    async def connect(self):
        raise ConnectionError("service at 10.0.0.9 refused the connection")
"""


async def test_required_connector_failure_stops_startup_optional_continues(
    tmp_path: Path, settings: Settings
) -> None:
    directory = plugin_dir(tmp_path, flaky=FAILING)
    required = settings_with(settings, f'plugin_dir = "{directory}"\n[connectors.flaky]\n')
    app = Pygentic(required, ServeOptions(grpc_port=0, gateway=False))
    with pytest.raises(
        ConnectorStartupError, match=r"connector 'flaky' failed to connect: service at 10\.0\.0\.9"
    ):
        await app.start()
    optional = settings_with(settings, f'plugin_dir = "{directory}"\n[connectors.flaky]\noptional = true\n')
    async with running(optional) as started:
        report = dict((e.connector.name, h) for e, h in await started.connectors.health())
        assert report["flaky"].startswith("failed: service at 10.0.0.9") and report["database"] == "ok"


def test_connectors_command(tmp_path: Path, upstream: FakeUpstream) -> None:
    directory = plugin_dir(tmp_path, my_connectors=SEED_CONNECTOR)
    config = tmp_path / "connectors.toml"
    config.write_text(f'''
plugin_dir = "{directory}"
[connectors.database]
url = "sqlite:///{tmp_path / "c.db"}"
[connectors.llm_service]
type = "openai"
base_url = "{upstream.url}"
[connectors.mycustomconnector]
custom_setting = "value"
''')
    done = subprocess.run(
        [PYGENTIC, "connectors", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "SOURCE", "HEALTH"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["database"][1] == "database" and rows["database"][-1] == "ok"
    assert rows["llm_service"][1] == "openai" and rows["llm_service"][2].endswith("openai_compatible.py")
    assert rows["mycustomconnector"][1] == "plugin"
    assert (
        rows["mycustomconnector"][2] == str(directory / "my_connectors.py")
        and rows["mycustomconnector"][-1] == "ok"
    )
    assert rows["interpreter"][:4] == ["interpreter", "interpreter", "built-in", "ok"]
    assert (
        "sandbox=bubblewrap" in rows["interpreter"]
        and "languages=python,javascript,shell" in rows["interpreter"]
    )


@pytest.fixture(scope="module")
def endpoint() -> Iterator[ToolEndpoint]:
    server = ToolEndpoint(secret="s3cret", flaky_failures=2).start()
    try:
        yield server
    finally:
        server.stop()


def serverless(endpoint: ToolEndpoint, path: str, **options: object) -> ServerlessSettings:
    defaults: dict[str, object] = {
        "functions": {"get_weather": endpoint.url(path)},
        "secret_env": "TOOL_SECRET",
        "timeout": 1.0,
        "max_retries": 2,
    }
    defaults.update(options)
    return ServerlessSettings(**defaults)  # type: ignore[arg-type]


async def _tool_run(stubs: Stubs) -> tuple[list[pb.RunEvent], str]:
    assistant, thread = await assistant_and_thread(
        stubs, "tools", "Weather in Paris?", tools=[weather_tool()]
    )
    events = await collect(
        stubs.runs.StreamRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
    )
    return events, thread.id


async def test_serverless_tool_signed_call_and_output(
    settings: Settings, endpoint: ToolEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOL_SECRET", "s3cret")
    async with (
        running(replace(settings, serverless=(serverless(endpoint, "weather"),))) as app,
        connect(app) as stubs,
    ):
        events, thread_id = await _tool_run(stubs)
        assert "thread.run.requires_action" not in names(events)
        assert names(events)[-2] == "thread.run.completed"
        assert delta_text(events) == "Tool said: Paris: 21C and clear"
        call = endpoint.calls_to("weather")[-1]
        assert call["signed"]
        stamp = int(call["headers"]["x-pygentic-timestamp"])
        assert abs(time.time() - stamp) < 10
        raw = call["raw"]
        signature = call["headers"]["x-pygentic-signature"]
        assert verify(b"s3cret", raw, str(stamp), signature)
        assert not verify(b"s3cret", raw + b" ", str(stamp), signature)  # another body
        assert not verify(b"s3cret", raw, str(stamp), signature, now=stamp + 301)  # replayed too late
        assert verify(b"s3cret", raw, str(stamp), signature, tolerance=600, now=stamp + 301)
        body = call["body"]
        run_id = events[0].run.id
        assert body == {
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
            "run_id": run_id,
            "thread_id": thread_id,
            "tool_call_id": "call_fake0",
        }
        steps = await stubs.runs.ListRunSteps(
            pb.ListRunStepsRequest(thread_id=thread_id, run_id=run_id, order="asc")
        )
        tool_step = steps.data[0]
        assert tool_step.type == "tool_calls" and tool_step.status == "completed"
        function = tool_step.step_details.tool_calls[0].function
        assert (function.name, function.arguments, function.output) == (
            "get_weather",
            '{"city": "Paris"}',
            "Paris: 21C and clear",
        )


async def test_unsigned_serverless_calls_are_warned_about_at_startup(
    settings: Settings, endpoint: ToolEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    unsigned = serverless(endpoint, "weather", secret_env=None)
    with caplog.at_level("WARNING", logger="pygentic.connectors.serverless"):
        async with running(replace(settings, serverless=(unsigned,))):
            pass
    warnings = [r for r in caplog.records if "unsigned" in r.getMessage()]
    assert warnings and getattr(warnings[0], "connector", None) == "serverless_service"


async def test_serverless_wrong_secret_is_rejected_by_the_endpoint(
    settings: Settings, endpoint: ToolEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOL_SECRET", "not-the-secret")
    async with (
        running(replace(settings, serverless=(serverless(endpoint, "weather"),))) as app,
        connect(app) as stubs,
    ):
        events, _ = await _tool_run(stubs)
        assert not endpoint.calls_to("weather")[-1]["signed"]
        assert delta_text(events).startswith(
            'Tool said: {"error": "function \'get_weather\' failed: HTTP 401'
        )


async def test_serverless_retries_5xx(
    settings: Settings, endpoint: ToolEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOL_SECRET", "s3cret")
    async with (
        running(replace(settings, serverless=(serverless(endpoint, "flaky"),))) as app,
        connect(app) as stubs,
    ):
        events, _ = await _tool_run(stubs)
        assert delta_text(events) == "Tool said: Paris: 21C and clear"
        run_id = events[0].run.id
        attempts = [c for c in endpoint.calls_to("flaky") if c["body"]["run_id"] == run_id]
        assert len(attempts) == 3  # two 503s, then the answer


@pytest.mark.parametrize("on_error", ["output", "fail"])
async def test_serverless_timeout(
    settings: Settings, endpoint: ToolEndpoint, monkeypatch: pytest.MonkeyPatch, on_error: str
) -> None:
    monkeypatch.setenv("TOOL_SECRET", "s3cret")
    config = serverless(endpoint, "slow", timeout=0.5, on_error=on_error)
    async with running(replace(settings, serverless=(config,))) as app, connect(app) as stubs:
        loop = asyncio.get_running_loop()
        start = loop.time()
        events, _ = await _tool_run(stubs)
        assert loop.time() - start < 4
        if on_error == "output":
            assert names(events)[-2] == "thread.run.completed"
            output = json.loads(delta_text(events).removeprefix("Tool said: "))
            assert "no answer within 0.5 s" in output["error"]
        else:
            assert names(events)[-2] == "thread.run.failed"
            assert (
                "function 'get_weather' failed: no answer within 0.5 s" in events[-2].run.last_error.message
            )


async def test_max_concurrency_queues_runs(database_url: str, upstream: FakeUpstream) -> None:
    settings = make_settings(database_url, upstream, max_concurrency=2)
    async with running(settings) as app, connect(app) as stubs:
        model = "words:10:0.1"  # each run streams for about a second
        pairs = [await assistant_and_thread(stubs, model) for _ in range(5)]
        upstream.reset_stats()
        runs = await asyncio.gather(
            *(stubs.runs.CreateRun(pb.CreateRunRequest(thread_id=t.id, assistant_id=a.id)) for a, t in pairs)
        )
        snapshots: list[list[str]] = []
        while True:
            statuses = [
                (await stubs.runs.GetRun(pb.GetRunRequest(thread_id=r.thread_id, run_id=r.id))).status
                for r in runs
            ]
            snapshots.append(statuses)
            if all(s == "completed" for s in statuses):
                break
            await asyncio.sleep(0.05)
        # A run read "queued" was queued from its creation until that read; three such reads in one sweep
        # mean three runs waited at once (the reads of one sweep are not simultaneous, so in_progress
        # counts prove nothing; the upstream's own count below does).
        assert any(s.count("queued") == 3 for s in snapshots), snapshots[:5]
        assert upstream.max_in_flight == 2


def test_connectors_command_reports_an_unreachable_upstream(tmp_path: Path) -> None:
    from asgi_thread import free_port

    config = tmp_path / "connectors.toml"
    config.write_text(f"""
[connectors.database]
url = "sqlite:///{tmp_path / "c.db"}"
[connectors.llm_service]
type = "openai"
base_url = "http://127.0.0.1:{free_port()}/v1"
timeout = 2
""")
    done = subprocess.run(
        [PYGENTIC, "connectors", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    row = next(line for line in done.stdout.splitlines() if line.startswith("llm_service"))
    assert "unhealthy: GET /models failed: APIConnectionError" in row


async def test_streamed_runs_reuse_the_upstream_connection(database_url: str, upstream: FakeUpstream) -> None:
    # A stream closed before its body's end closes its connection: every run would pay a new one.
    async with running(make_settings(database_url, upstream)) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "echo")
        first = len(upstream.client_ports)
        for _ in range(3):
            events = await collect(
                stubs.runs.StreamRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
            )
            assert "thread.run.completed" in names(events)
        ports = upstream.client_ports[first:]
        assert len(ports) == 3
        assert len(set(ports)) == 1, f"each run opened a connection: client ports {ports}"


@pytest.mark.parametrize("line_end", ["crlf", "cr"])
async def test_upstream_streams_with_any_line_end_and_long_lines_are_read_whole(
    line_end: str, upstream: FakeUpstream, tmp_path: Path
) -> None:
    # SSE lines may end with CRLF or CR; the reader meets them split across reads, a character split
    # across reads, and a 300 kB line.
    settings = make_settings(f"sqlite:///{tmp_path / 'f.db'}", upstream)
    async with running(settings) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, f"framing:{line_end}")
        events = await collect(
            stubs.runs.StreamRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        )
        assert "thread.run.completed" in names(events), names(events)
        assert delta_text(events) == "Framé ☃ " + "y" * 300_000 + " end"


class _ForwardingProxy:
    """A plain HTTP forward proxy: takes absolute-form requests (``POST http://host:port/path``), sends
    them on in origin form and pipes the bytes both ways. Records every request line it was sent."""

    def __init__(self) -> None:
        self.request_lines: list[str] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line, _, rest = head.partition(b"\r\n")
        method, target, version = line.decode().split(" ")
        self.request_lines.append(f"{method} {target}")
        url = httpx.URL(target)
        up_reader, up_writer = await asyncio.open_connection(url.host, url.port)
        path = url.raw_path.decode()
        up_writer.write(f"{method} {path} {version}\r\n".encode() + rest)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)


async def test_the_upstream_is_reached_through_the_proxy_the_environment_names(
    database_url: str, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read once when the connector connects (not per request), as the SDK and httpx take them.
    proxy = _ForwardingProxy()
    async with proxy as proxy_url:
        for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        async with running(make_settings(database_url, upstream)) as app, connect(app) as stubs:
            assistant, thread = await assistant_and_thread(stubs, "echo")
            events = await collect(
                stubs.runs.StreamRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
            )
            assert delta_text(events) == "Echo: Hello there"
    assert f"POST {upstream.url}/chat/completions" in proxy.request_lines, proxy.request_lines
