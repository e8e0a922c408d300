"""connectors.toml parsing: the seed's layout, defaults, and errors that name file, table and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pygentic.config import ConfigError, Settings, load_settings, resolve_config_path

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "connectors.toml"
    path.write_text(body)
    return path


def test_shipped_file_uses_sqlite_and_the_local_model() -> None:
    settings = load_settings(REPO / "connectors.toml")
    assert settings.database.url.startswith("sqlite:///")
    assert settings.llm_service.type == "local"


def test_defaults_without_a_file() -> None:
    settings = load_settings(None)
    assert settings == Settings()
    assert settings.database.url == "sqlite:///./pygentic.db"
    assert settings.llm_service.type == "local" and settings.runs.expires_after == 600


def test_seed_layout(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            """
[connectors]
    [connectors.database]
    url = "postgres://user:password@localhost/dbname"

    [connectors.llm_service]
    model = "gpt-4"

    [connectors.serverless_service]
    endpoint = "https://example.com/serverless"

    [connectors.mycustomconnector]
    custom_setting = "value"
""",
        )
    )
    assert settings.database.url == "postgres://user:password@localhost/dbname"
    assert settings.llm_service.type == "openai" and settings.llm_service.model == "gpt-4"
    (serverless,) = settings.serverless
    assert serverless.name == "serverless_service" and serverless.endpoint == "https://example.com/serverless"
    assert [(p.name, dict(p.options)) for p in settings.plugins] == [
        ("mycustomconnector", {"custom_setting": "value"})
    ]


def test_typed_llm_tables(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            """
[connectors.llm_service]
type = "local"
[connectors.vllm]
type = "openai"
base_url = "http://127.0.0.1:8001/v1"
models = ["llama-*"]
max_concurrency = 4
timeout = 12.5
""",
        )
    )
    (vllm,) = settings.llms
    assert (vllm.name, vllm.base_url, vllm.models, vllm.max_concurrency, vllm.timeout) == (
        "vllm",
        "http://127.0.0.1:8001/v1",
        ("llama-*",),
        4,
        12.5,
    )


def test_interpreter_table(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            """
[connectors.interpreter]
dir = "/srv/pygentic/interpreter"
max_concurrency = 4
cpu_seconds = 10
wall_seconds = 20.5
memory_mb = 2048
max_processes = 32
max_output_bytes = 65536
[connectors.interpreter.languages.ruby]
command = ["ruby", "--disable-gems", "{file}"]
suffix = ".rb"
""",
        )
    )
    ci = settings.interpreter
    assert (ci.enabled, ci.sandbox, ci.allow_unsandboxed) == (True, "auto", False)
    assert (ci.max_concurrency, ci.cpu_seconds, ci.wall_seconds, ci.memory_mb, ci.max_processes) == (
        4,
        10,
        20.5,
        2048,
        32,
    )
    assert str(ci.resolved_dir("sqlite:///./x.db")) == "/srv/pygentic/interpreter"
    (ruby,) = ci.languages
    assert (ruby.name, ruby.command, ruby.suffix) == ("ruby", ("ruby", "--disable-gems", "{file}"), ".rb")
    assert any(line.startswith("interpreter: sandbox=auto") for line in settings.describe())
    assert Settings().interpreter.resolved_dir("sqlite:///./data/app.db") == Path("data/app-interpreter")


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("[connectors.database]\nurl = 5\n", ["[connectors.database]", "'url'", "expected a string"]),
        ('[connectors.database]\nurl = "mysql://x"\n', ["[connectors.database]", "'url'", "sqlite"]),
        (
            '[connectors.database]\nurl = "sqlite:///x.db"\nusername = "u"\n',
            ["[connectors.database]", "'username'", "unknown key"],
        ),
        ('[connectors.llm_service]\ntype = "magic"\n', ["[connectors.llm_service]", "'type'", "'local'"]),
        (
            "[connectors.llm_service]\ntimeout = -1\n",
            ["[connectors.llm_service]", "'timeout'", "greater than 0"],
        ),
        (
            "[connectors.llm_service]\nmax_concurrency = 0\n",
            ["[connectors.llm_service]", "'max_concurrency'"],
        ),
        (
            '[connectors.llm_service]\noptional = "yes"\n',
            ["[connectors.llm_service]", "'optional'", "true or false"],
        ),
        (
            "[connectors.serverless_service]\nfunctions = { f = 1 }\n",
            ["[connectors.serverless_service]", "'functions.f'"],
        ),
        (
            '[connectors.serverless_service]\non_error = "explode"\n',
            ["[connectors.serverless_service]", "'on_error'"],
        ),
        ('[runs]\nexpires_after = "ten"\n', ["[runs]", "'expires_after'"]),
        ("[runs]\ncoalesce_after = -1\n", ["[runs]", "'coalesce_after'", "0 or more"]),
        (
            '[connectors.llm_service]\ntype = "openai"\ntoken_limit = "tokens"\n',
            ["[connectors.llm_service]", "'token_limit'", "'max_completion_tokens'"],
        ),
        ('[connectors.llm_service]\nvision = "yes"\n', ["[connectors.llm_service]", "'vision'"]),
        ("[keys]\nactive_runs = -1\n", ["[keys]", "'active_runs'"]),
        ("[telemetry]\nsample_ratio = 2\n", ["[telemetry]", "'sample_ratio'", "between 0 and 1"]),
        ('[telemetry]\notlp_endpoint = "collector:4318"\n', ["[telemetry]", "'otlp_endpoint'", "http"]),
        ("[keys]\nrequests_per_hour = 5\n", ["[keys]", "requests_per_hour"]),
        (
            '[connectors.files]\nimage_base_url = "pygentic.internal"\n',
            ["[connectors.files]", "'image_base_url'", "http"],
        ),
        (
            '[connectors.interpreter]\nsandbox = "docker"\n',
            ["[connectors.interpreter]", "'sandbox'", "'bubblewrap'"],
        ),
        (
            '[connectors.interpreter]\nsandbox = "none"\n',
            ["[connectors.interpreter]", "'sandbox'", "allow_unsandboxed = true"],
        ),
        (
            "[connectors.interpreter]\nmemory_mb = 8\n",
            ["[connectors.interpreter]", "'memory_mb'", "at least 64"],
        ),
        (
            "[connectors.interpreter]\nwall_time = 5\n",
            ["[connectors.interpreter]", "'wall_time'", "unknown key"],
        ),
        (
            "[connectors.interpreter.languages.ruby]\nsuffix = '.rb'\n",
            ["[connectors.interpreter.languages.ruby]", "'command'", "non-empty list"],
        ),
        (
            "[connectors.interpreter.languages.Ruby]\ncommand = ['ruby']\n",
            ["[connectors.interpreter.languages.Ruby]", "lowercase"],
        ),
        (
            '[connectors.interpreter]\n[connectors.sandbox2]\ntype = "interpreter"\n',
            ["[connectors.sandbox2]", "only one code interpreter"],
        ),
        (
            "[connectors.embeddings]\nprobe_fraction = 1.5\n",
            ["[connectors.embeddings]", "'probe_fraction'", "at most 1"],
        ),
        (
            "[connectors.embeddings]\napproximate_above = -1\n",
            ["[connectors.embeddings]", "'approximate_above'", "at least 0"],
        ),
        ("connectors = 3\n", ["[top level]", "'connectors'"]),
        ("[connectors]\nfoo = 1\n", ["[connectors]", "'foo'"]),
        ("[server]\nport = 1\n", ["[server]", "'port'", "unknown key"]),
        ("[webserver]\nport = 1\n", ["[top level]", "'webserver'", "unknown key"]),
        ("[connectors.database\n", ["not valid TOML"]),
    ],
)
def test_errors_name_file_table_and_key(tmp_path: Path, body: str, fragments: list[str]) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.toml")


def test_config_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYGENTIC_CONFIG", raising=False)
    assert resolve_config_path(None) is None
    (tmp_path / "connectors.toml").write_text("")
    assert resolve_config_path(None) == Path("connectors.toml")
    monkeypatch.setenv("PYGENTIC_CONFIG", "/etc/pyg.toml")
    assert resolve_config_path(None) == Path("/etc/pyg.toml")
    assert resolve_config_path("mine.toml") == Path("mine.toml")


def test_search_index_keys(tmp_path: Path) -> None:
    embeddings = load_settings(None).embeddings
    assert (embeddings.approximate_above, embeddings.probe_fraction) == (20_000, 0.0625)
    path = write(tmp_path, "[connectors.embeddings]\napproximate_above = 0\nprobe_fraction = 0.25\n")
    embeddings = load_settings(path).embeddings
    assert (embeddings.approximate_above, embeddings.probe_fraction) == (0, 0.25)


def test_runs_table(tmp_path: Path) -> None:
    path = tmp_path / "connectors.toml"
    path.write_text("[runs]\nlease = 30\ncoalesce_after = 0\n")
    runs = load_settings(path).runs
    assert (runs.lease, runs.coalesce_after, runs.deadline) == (30.0, 0.0, 600.0)
    assert load_settings(None).runs.coalesce_after == 0.05


def test_vision_token_limit_and_image_urls(tmp_path: Path) -> None:
    path = tmp_path / "connectors.toml"
    path.write_text(
        '[connectors.llm_service]\ntype = "openai"\nvision = false\ntoken_limit = "max_tokens"\n'
        '[connectors.files]\nimage_base_url = "https://pygentic.internal/v1/"\n'
    )
    settings = load_settings(path)
    assert (settings.llm_service.vision, settings.llm_service.token_limit) == (False, "max_tokens")
    assert settings.files.image_base_url == "https://pygentic.internal/v1"
    defaults = load_settings(None)
    assert (defaults.llm_service.vision, defaults.llm_service.token_limit) == (True, "auto")
    assert defaults.files.image_base_url is None
    path.write_text("[keys]\nrequests_per_minute = 60\nactive_runs = 4\n")
    keys = load_settings(path).keys
    assert (keys.requests_per_minute, keys.active_runs) == (60, 4)
