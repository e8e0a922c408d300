"""``connectors.toml`` -> typed settings.

The file has one ``[connectors.NAME]`` table per connector (the seed's layout)::

    [connectors.database]
    url = "sqlite:///./pygentic.db"

    [connectors.llm_service]
    type = "local"

    [connectors.serverless_service]
    endpoint = "https://example.com/tools"

An invalid file raises :class:`ConfigError` whose message names the file, the table and the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

DEFAULT_CONFIG_NAME = "connectors.toml"
DEFAULT_DATABASE_URL = "sqlite:///./pygentic.db"
DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
LLM_TYPES = ("local", "openai")


class ConfigError(Exception):
    """The configuration file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class DatabaseSettings:
    """``[connectors.database]``: where objects are stored."""

    url: str = DEFAULT_DATABASE_URL
    echo: bool = False
    pool_size: int = 10


@dataclass(frozen=True)
class LLMSettings:
    """An LLM connector: ``[connectors.llm_service]`` or any table with ``type = "openai" | "local"``."""

    name: str = "llm_service"
    type: str = "local"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    model_path: str | None = None
    timeout: float = 60.0
    max_retries: int = 2
    max_concurrency: int | None = None
    models: tuple[str, ...] = ()
    n_ctx: int = 4096
    n_threads: int | None = None
    optional: bool = False
    # OpenAI-compatible connectors: whether the model takes image parts (false: a run with images fails
    # with invalid_prompt), and how a run's token cap is sent: "auto" tries max_completion_tokens and
    # falls back to max_tokens once, for good, when the server refuses the newer name.
    vision: bool = True
    token_limit: str = "auto"


TOKEN_LIMIT_MODES = ("auto", "max_completion_tokens", "max_tokens")


@dataclass(frozen=True)
class ServerlessSettings:
    """``[connectors.serverless_service]`` or ``type = "serverless"``: function tools executed by HTTP
    endpoints."""

    name: str = "serverless_service"
    endpoint: str | None = None
    functions: Mapping[str, str] = field(default_factory=dict)
    secret_env: str | None = None
    timeout: float = 30.0
    max_retries: int = 2
    on_error: str = "output"
    optional: bool = False


@dataclass(frozen=True)
class RunSettings:
    """``[runs]``: run engine knobs."""

    expires_after: float = 600.0
    lease: float = 15.0
    # The longest a run may execute in one stretch (from in_progress until it ends or waits for tool
    # outputs), whatever the upstream does; the per-chunk timeout alone lets a dribbling upstream go on.
    deadline: float = 600.0
    # How long an event may wait for a slow subscriber before the text deltas waiting behind it are sent
    # merged with it (0: never merge).
    coalesce_after: float = 0.05


@dataclass(frozen=True)
class FilesSettings:
    """``[connectors.files]``: where uploaded files' bytes are kept."""

    # A directory (shared by every replica when several serve one PostgreSQL database); by default
    # ``<database file>-files`` next to a SQLite database, else ``./pygentic-files``.
    dir: str | None = None
    max_bytes: int = DEFAULT_MAX_FILE_BYTES
    # An S3-compatible object store instead of a directory: ``s3://bucket`` or ``s3://bucket/prefix``.
    url: str | None = None
    endpoint_url: str | None = None  # e.g. a MinIO or Ceph server; default AWS S3
    region: str | None = None
    access_key_id_env: str = "AWS_ACCESS_KEY_ID"
    secret_access_key_env: str = "AWS_SECRET_ACCESS_KEY"
    # The gateway's base URL as the LLM upstream can reach it (e.g. "https://pygentic.internal/v1"):
    # image files then go upstream as {image_base_url}/files/{id}/content; by default as data URLs.
    image_base_url: str | None = None

    def resolved_dir(self, database_url: str) -> Path:
        if self.dir:
            return Path(self.dir)
        return _beside_database(database_url, "files")


@dataclass(frozen=True)
class EmbeddingSettings:
    """``[connectors.embeddings]``: the model that embeds vector store chunks and search queries."""

    name: str = "embeddings"
    type: str = "local"
    model: str = "text-embedding-3-small"
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    dimensions: int | None = None
    batch_size: int = 32
    timeout: float = 60.0
    max_retries: int = 2
    # Search: a store of more chunks than this is searched through clusters (0: always exactly), each
    # query scanning this fraction of them, nearest first (see pygentic/ingestion/clusters.py).
    approximate_above: int = 20_000
    probe_fraction: float = 0.0625


@dataclass(frozen=True)
class LanguageSettings:
    """``[connectors.interpreter.languages.NAME]``: how to run one language's programs."""

    name: str
    # argv; "{file}" is replaced by the program's path inside the sandbox (appended when absent).
    command: tuple[str, ...]
    suffix: str = ""


@dataclass(frozen=True)
class InterpreterSettings:
    """``[connectors.interpreter]``: the code interpreter's sandbox, limits and languages."""

    enabled: bool = True
    # "auto": bubblewrap when it works here, else refuse (unless allow_unsandboxed); "bubblewrap"; "none".
    sandbox: str = "auto"
    allow_unsandboxed: bool = False
    # Per-thread work directories; by default ``<database file>-interpreter`` next to a SQLite database,
    # else ``./pygentic-interpreter``.
    dir: str | None = None
    # The Python environment (a venv) programs run in: ``$PYGENTIC_INTERPRETER_ENV``, else this.
    python_env: str = ".interpreter-env"
    max_concurrency: int = 2
    cpu_seconds: int = 30
    wall_seconds: float = 60.0
    memory_mb: int = 1024
    max_processes: int = 64
    max_output_bytes: int = 1024 * 1024
    max_file_mb: int = 100
    languages: tuple[LanguageSettings, ...] = ()

    def resolved_dir(self, database_url: str) -> Path:
        if self.dir:
            return Path(self.dir)
        return _beside_database(database_url, "interpreter")

    def resolved_python_env(self) -> Path:
        return Path(os.environ.get("PYGENTIC_INTERPRETER_ENV") or self.python_env)


def _beside_database(database_url: str, what: str) -> Path:
    """``<database file>-WHAT`` next to a SQLite database file, else ``./pygentic-WHAT``."""
    scheme, _, rest = database_url.partition("://")
    if scheme.split("+", 1)[0] == "sqlite" and rest.startswith("/") and rest != "/:memory:":
        database = Path(rest[1:])
        return database.with_name(f"{database.stem}-{what}")
    return Path(f"pygentic-{what}")


@dataclass(frozen=True)
class ServerSettings:
    """``[server]``: limits of both front doors."""

    # The largest request accepted: a gRPC message or a REST body (checked before it is parsed).
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    # The Host names the HTTP gateway answers ("api.example.com", "*.example.com", "*"); None: loopback
    # names when bound to a loopback address, any name otherwise.
    allowed_hosts: tuple[str, ...] | None = None
    # Origins browsers may call the gateway from (CORS); none by default, "*" for any.
    cors_origins: tuple[str, ...] = ()
    tls: TLSSettings | None = None
    metrics: bool = True  # serve Prometheus metrics at the gateway's /metrics (no key needed)


@dataclass(frozen=True)
class TelemetrySettings:
    """``[telemetry]``: OpenTelemetry tracing, off unless ``otlp_endpoint`` is set."""

    otlp_endpoint: str | None = None  # an OTLP/HTTP collector, e.g. "http://otel-collector:4318"
    service_name: str = "pygentic"
    sample_ratio: float = 1.0  # the share of traces kept (a caller's sampled trace is always continued)


@dataclass(frozen=True)
class KeySettings:
    """``[keys]``: the limits of every API key (0: none); a key made with its own limits keeps those."""

    requests_per_minute: int = 0  # per key, per server process (a replica counts its own)
    active_runs: int = 0  # per key: queued, in_progress, requires_action or cancelling at once


@dataclass(frozen=True)
class TLSSettings:
    """``[server.tls]``: TLS for both doors (gRPC and HTTPS) from PEM files; with ``client_ca``, mutual
    TLS: only clients presenting a certificate signed by that CA are served."""

    cert: str
    key: str
    client_ca: str | None = None

    def read(self) -> tuple[bytes, bytes, bytes | None]:
        """The certificate chain, key and client CA bundle (bytes of PEM)."""
        ca = Path(self.client_ca).read_bytes() if self.client_ca else None
        return Path(self.cert).read_bytes(), Path(self.key).read_bytes(), ca


@dataclass(frozen=True)
class PluginSettings:
    """Any other ``[connectors.NAME]`` table: a connector class from the plugin directory.

    ``options`` is the whole table, handed to the class's ``initialize``. The loader itself reads
    ``class``, ``optional``, and for plugins that act as LLMs ``models`` and ``max_concurrency``.
    """

    name: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class Settings:
    """Everything ``connectors.toml`` configures."""

    source: Path | None = None
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    files: FilesSettings = field(default_factory=FilesSettings)
    embeddings: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    interpreter: InterpreterSettings = field(default_factory=InterpreterSettings)
    llm_service: LLMSettings = field(default_factory=LLMSettings)
    llms: tuple[LLMSettings, ...] = ()
    serverless: tuple[ServerlessSettings, ...] = ()
    runs: RunSettings = field(default_factory=RunSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    keys: KeySettings = field(default_factory=KeySettings)
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)
    plugins: tuple[PluginSettings, ...] = ()
    plugin_dir: str | None = None
    routers: tuple[str, ...] = ()

    def resolved_plugin_dir(self) -> str | None:
        """``plugin_dir`` from the file, else ``$PYGENTIC_PLUGIN_DIR``."""
        return self.plugin_dir or os.environ.get("PYGENTIC_PLUGIN_DIR") or None

    def describe(self) -> list[str]:
        """One line per resolved connector, for ``pygentic check``."""
        lines = [f"config: {self.source if self.source else 'built-in defaults'}"]
        lines.append(f"database: url={redact_url(self.database.url)}")
        if self.files.url:
            endpoint = redact_url(self.files.endpoint_url) if self.files.endpoint_url else "AWS S3"
            where = f"url={self.files.url} endpoint={endpoint}"
        else:
            where = f"dir={self.files.resolved_dir(self.database.url)}"
        lines.append(f"files: {where} max_bytes={self.files.max_bytes}")
        embedding = self.embeddings
        if embedding.type == "local":
            lines.append("embeddings: type=local model=all-MiniLM-L6-v2")
        else:
            base = (
                redact_url(embedding.base_url) if embedding.base_url else "$OPENAI_BASE_URL or api.openai.com"
            )
            lines.append(f"embeddings: type=openai model={embedding.model} base_url={base}")
        ci = self.interpreter
        if ci.enabled:
            languages = ", ".join(
                sorted({"python", "javascript", "shell", *(lang.name for lang in ci.languages)})
            )
            lines.append(
                f"interpreter: sandbox={ci.sandbox} dir={ci.resolved_dir(self.database.url)} "
                f"python_env={ci.resolved_python_env()} languages=[{languages}] "
                f"max_concurrency={ci.max_concurrency} cpu={ci.cpu_seconds}s wall={ci.wall_seconds:g}s "
                f"memory={ci.memory_mb}MB processes={ci.max_processes}"
            )
        else:
            lines.append("interpreter: disabled")
        for llm in (self.llm_service, *self.llms):
            detail = f"type={llm.type} model={llm.model or '(default)'}"
            if llm.type == "openai":
                base = redact_url(llm.base_url) if llm.base_url else "$OPENAI_BASE_URL or api.openai.com"
                detail += f" base_url={base}"
                detail += f" api_key_env={llm.api_key_env}"
            if llm.type == "local":
                detail += f" model_path={llm.model_path or '(bundled SmolLM2-135M-Instruct)'}"
            lines.append(f"{llm.name}: {detail}")
        for s in self.serverless:
            endpoint = redact_url(s.endpoint) if s.endpoint else "(none)"
            lines.append(f"{s.name}: type=serverless endpoint={endpoint} functions={sorted(s.functions)}")
        for plugin in self.plugins:
            lines.append(f"{plugin.name}: plugin keys={sorted(plugin.options)}")
        lines.append(
            f"runs: expires_after={self.runs.expires_after:g}s lease={self.runs.lease:g}s "
            f"deadline={self.runs.deadline:g}s"
        )
        lines.append(f"server: max_request_bytes={self.server.max_request_bytes}")
        if self.resolved_plugin_dir():
            lines.append(f"plugin_dir: {self.resolved_plugin_dir()}")
        for router in self.routers:
            lines.append(f"router: {router}")
        return lines


def redact_url(url: str) -> str:
    """``url`` with the credentials in its authority replaced by ``***`` (the user name stays when a
    password follows it; a lone user part may itself be a token, so it goes)."""
    return _CREDENTIALS.sub(_redact_match, url)


_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s?#]+)@")


def _redact_match(match: re.Match[str]) -> str:
    user, colon, _ = match.group("userinfo").partition(":")
    return f"{match.group('scheme')}{user}:***@" if colon else f"{match.group('scheme')}***@"


class _Table:
    """Typed access to one TOML table, raising ConfigError that names file, table and key."""

    def __init__(self, source: str, name: str, data: Mapping[str, Any]) -> None:
        self.source = source
        self.name = name
        self.data = dict(data)
        self.used: set[str] = set()

    def error(self, key: str | None, message: str) -> ConfigError:
        where = f"[{self.name}]" + (f" key '{key}'" if key else "")
        return ConfigError(f"{self.source}: {where}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"expected {_kind_name(kinds)}, got {value!r}")
        if not isinstance(value, kinds):
            raise self.error(key, f"expected {_kind_name(kinds)}, got {value!r}")
        return value

    def number(self, key: str, default: float, *, minimum: float = 0.0, or_equal: bool = False) -> float:
        """A number above ``minimum`` (at least ``minimum`` with ``or_equal``)."""
        value = self.get(key, (int, float), default)
        if value < minimum or (value == minimum and not or_equal):
            expected = f"{minimum:g} or more" if or_equal else f"greater than {minimum:g}"
            raise self.error(key, f"must be {expected}, got {value!r}")
        return float(value)

    def integer(self, key: str, default: int | None, *, minimum: int = 0) -> int | None:
        value = self.get(key, int, default)
        if value is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value!r}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise self.error(key, f"must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
        return value

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], f"unknown key (known keys: {', '.join(sorted(self.used))})")


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    if set(kinds) == {int, float}:
        return "a number"
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _database(t: _Table) -> DatabaseSettings:
    url = t.get("url", str, DEFAULT_DATABASE_URL)
    scheme = url.split("://", 1)[0].split("+", 1)[0] if "://" in url else ""
    if scheme not in ("sqlite", "postgres", "postgresql"):
        raise t.error("url", f"expected a sqlite:/// or postgresql:// URL, got {url!r}")
    settings = DatabaseSettings(
        url=url,
        echo=t.get("echo", bool, False),
        pool_size=t.integer("pool_size", 10, minimum=1) or 10,
    )
    t.reject_unknown()
    return settings


def _files(t: _Table) -> FilesSettings:
    url = t.get("url", str)
    if url is not None:
        bucket = url.removeprefix("s3://").split("/", 1)[0]
        if not url.startswith("s3://") or not bucket:
            raise t.error("url", f"expected s3://bucket or s3://bucket/prefix, got {redact_url(url)!r}")
        if t.get("dir", str) is not None:
            raise t.error("dir", "give either dir or url, not both")
    settings = FilesSettings(
        dir=t.get("dir", str),
        max_bytes=t.integer("max_bytes", DEFAULT_MAX_FILE_BYTES, minimum=1) or DEFAULT_MAX_FILE_BYTES,
        url=url,
        endpoint_url=t.get("endpoint_url", str),
        region=t.get("region", str),
        access_key_id_env=t.get("access_key_id_env", str, "AWS_ACCESS_KEY_ID"),
        secret_access_key_env=t.get("secret_access_key_env", str, "AWS_SECRET_ACCESS_KEY"),
        image_base_url=_http_url(t, "image_base_url"),
    )
    t.reject_unknown()
    return settings


def _http_url(t: _Table, key: str) -> str | None:
    url = t.get(key, str)
    if url is not None and not url.startswith(("http://", "https://")):
        raise t.error(key, f"expected an http:// or https:// URL, got {url!r}")
    return url.rstrip("/") if url else None


def _embeddings(t: _Table) -> EmbeddingSettings:
    settings = EmbeddingSettings(
        type=t.choice("type", ("local", "openai"), "local"),
        model=t.get("model", str, "text-embedding-3-small"),
        base_url=t.get("base_url", str),
        api_key_env=t.get("api_key_env", str, "OPENAI_API_KEY"),
        dimensions=t.integer("dimensions", None, minimum=1),
        batch_size=t.integer("batch_size", 32, minimum=1) or 32,
        timeout=t.number("timeout", 60.0),
        max_retries=t.integer("max_retries", 2) or 0,
        approximate_above=t.integer("approximate_above", 20_000) or 0,
        probe_fraction=t.number("probe_fraction", 0.0625),
    )
    if not 0.0 < settings.probe_fraction <= 1.0:
        raise t.error("probe_fraction", "must be greater than 0 and at most 1")
    t.reject_unknown()
    return settings


SANDBOXES = ("auto", "bubblewrap", "none")
LANGUAGE_NAME = re.compile(r"^[a-z][a-z0-9_+-]{0,31}$")


def _interpreter(t: _Table) -> InterpreterSettings:
    t.get("type", str)
    languages: list[LanguageSettings] = []
    for name, table in t.get("languages", dict, {}).items():
        lt = _Table(t.source, f"{t.name}.languages.{name}", table if isinstance(table, dict) else {})
        if not isinstance(table, dict):
            raise lt.error(None, "expected a table with command = [...]")
        if not LANGUAGE_NAME.match(name):
            raise lt.error(None, "a language name is lowercase letters, digits, '_', '+' or '-'")
        command = lt.get("command", list)
        if not command or not all(isinstance(c, str) and c for c in command):
            raise lt.error("command", 'expected a non-empty list of strings, e.g. ["ruby", "{file}"]')
        suffix = lt.get("suffix", str, "")
        if "/" in suffix:
            raise lt.error("suffix", f"a file suffix such as '.rb', got {suffix!r}")
        lt.reject_unknown()
        languages.append(LanguageSettings(name=name, command=tuple(command), suffix=suffix))
    defaults = InterpreterSettings()
    settings = InterpreterSettings(
        enabled=t.get("enabled", bool, True),
        sandbox=t.choice("sandbox", SANDBOXES, "auto"),
        allow_unsandboxed=t.get("allow_unsandboxed", bool, False),
        dir=t.get("dir", str),
        python_env=t.get("python_env", str, defaults.python_env),
        max_concurrency=t.integer("max_concurrency", defaults.max_concurrency, minimum=1)
        or defaults.max_concurrency,
        cpu_seconds=t.integer("cpu_seconds", defaults.cpu_seconds, minimum=1) or defaults.cpu_seconds,
        wall_seconds=t.number("wall_seconds", defaults.wall_seconds),
        memory_mb=t.integer("memory_mb", defaults.memory_mb, minimum=64) or defaults.memory_mb,
        max_processes=t.integer("max_processes", defaults.max_processes, minimum=1) or defaults.max_processes,
        max_output_bytes=t.integer("max_output_bytes", defaults.max_output_bytes, minimum=1024)
        or defaults.max_output_bytes,
        max_file_mb=t.integer("max_file_mb", defaults.max_file_mb, minimum=1) or defaults.max_file_mb,
        languages=tuple(languages),
    )
    if settings.sandbox == "none" and not settings.allow_unsandboxed:
        raise t.error("sandbox", "'none' runs code without isolation; it needs allow_unsandboxed = true")
    t.reject_unknown()
    return settings


def _llm(t: _Table, name: str, default_type: str) -> LLMSettings:
    kind = t.choice("type", LLM_TYPES, default_type)
    models = t.get("models", list, [])
    if not all(isinstance(m, str) for m in models):
        raise t.error("models", "expected a list of strings (glob patterns)")
    settings = LLMSettings(
        name=name,
        type=kind,
        model=t.get("model", str),
        base_url=t.get("base_url", str),
        api_key_env=t.get("api_key_env", str, "OPENAI_API_KEY"),
        model_path=t.get("model_path", str),
        timeout=t.number("timeout", 60.0),
        max_retries=t.integer("max_retries", 2) or 0,
        max_concurrency=t.integer("max_concurrency", None, minimum=1),
        models=tuple(models),
        n_ctx=t.integer("n_ctx", 4096, minimum=256) or 4096,
        n_threads=t.integer("n_threads", None, minimum=1),
        optional=t.get("optional", bool, False),
        vision=t.get("vision", bool, True),
        token_limit=t.choice("token_limit", TOKEN_LIMIT_MODES, "auto"),
    )
    t.reject_unknown()
    return settings


def _serverless(t: _Table, name: str) -> ServerlessSettings:
    t.get("type", str)
    functions = t.get("functions", dict, {})
    for fname, url in functions.items():
        if not isinstance(url, str):
            raise t.error(f"functions.{fname}", f"expected a URL string, got {url!r}")
    settings = ServerlessSettings(
        name=name,
        endpoint=t.get("endpoint", str),
        functions=dict(functions),
        secret_env=t.get("secret_env", str),
        timeout=t.number("timeout", 30.0),
        max_retries=t.integer("max_retries", 2) or 0,
        on_error=t.choice("on_error", ("output", "fail"), "output"),
        optional=t.get("optional", bool, False),
    )
    t.reject_unknown()
    return settings


def _runs(t: _Table) -> RunSettings:
    settings = RunSettings(
        expires_after=t.number("expires_after", 600.0),
        lease=t.number("lease", 15.0),
        deadline=t.number("deadline", 600.0),
        coalesce_after=t.number("coalesce_after", 0.05, or_equal=True),
    )
    t.reject_unknown()
    return settings


def _telemetry(t: _Table) -> TelemetrySettings:
    ratio = t.number("sample_ratio", 1.0, or_equal=True)
    if ratio > 1:
        raise t.error("sample_ratio", f"must be between 0 and 1, got {ratio:g}")
    settings = TelemetrySettings(
        otlp_endpoint=_http_url(t, "otlp_endpoint"),
        service_name=t.get("service_name", str, "pygentic"),
        sample_ratio=ratio,
    )
    t.reject_unknown()
    return settings


def _keys(t: _Table) -> KeySettings:
    settings = KeySettings(
        requests_per_minute=t.integer("requests_per_minute", 0, minimum=0) or 0,
        active_runs=t.integer("active_runs", 0, minimum=0) or 0,
    )
    t.reject_unknown()
    return settings


def _server(t: _Table) -> ServerSettings:
    hosts = _strings(t, "allowed_hosts")
    settings = ServerSettings(
        max_request_bytes=t.integer("max_request_bytes", DEFAULT_MAX_REQUEST_BYTES, minimum=1024)
        or DEFAULT_MAX_REQUEST_BYTES,
        allowed_hosts=hosts,
        cors_origins=_strings(t, "cors_origins") or (),
        tls=_tls(t),
        metrics=t.get("metrics", bool, True),
    )
    t.reject_unknown()
    return settings


def _tls(server: _Table) -> TLSSettings | None:
    table = server.get("tls", dict)
    if table is None:
        return None
    t = _Table(server.source, f"{server.name}.tls", table)
    cert, key = t.get("cert", str), t.get("key", str)
    if not cert or not key:
        raise t.error("cert" if not cert else "key", "both cert and key (paths of PEM files) are required")
    settings = TLSSettings(cert=cert, key=key, client_ca=t.get("client_ca", str))
    for name in ("cert", "key", "client_ca"):
        path = getattr(settings, name)
        if path is not None and not Path(path).is_file():
            raise t.error(name, f"no such file: {path}")
    t.reject_unknown()
    return settings


def _strings(t: _Table, key: str) -> tuple[str, ...] | None:
    values = t.get(key, list)
    if values is None:
        return None
    if not all(isinstance(v, str) and v for v in values):
        raise t.error(key, "expected a list of non-empty strings")
    return tuple(values)


def parse_settings(data: Mapping[str, Any], source: Path | None = None) -> Settings:
    """Turn the parsed TOML document ``data`` into :class:`Settings`."""
    label = str(source) if source else "<defaults>"
    top = _Table(label, "top level", data)
    connectors = top.get("connectors", dict, {})
    runs_table = top.get("runs", dict, {})
    server_table = top.get("server", dict, {})
    keys_table = top.get("keys", dict, {})
    telemetry_table = top.get("telemetry", dict, {})
    plugin_dir = top.get("plugin_dir", str)
    routers = top.get("routers", list, [])
    if not all(isinstance(r, str) and ":" in r for r in routers):
        raise top.error(
            "routers", "expected a list of 'module:attribute' strings (modules in the plugin dir)"
        )
    top.reject_unknown()

    database = DatabaseSettings()
    files = FilesSettings()
    embeddings = EmbeddingSettings()
    interpreter: InterpreterSettings | None = None
    llm_service = LLMSettings()
    llms: list[LLMSettings] = []
    serverless: list[ServerlessSettings] = []
    plugins: list[PluginSettings] = []
    seen: dict[str, str] = {}
    for name, table in connectors.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{label}: [connectors] key '{name}': expected a table [connectors.{name}]")
        t = _Table(label, f"connectors.{name}", table)
        if name.lower() in seen:
            raise t.error(
                None, f"duplicate connector name: [connectors.{seen[name.lower()]}] has the same name"
            )
        seen[name.lower()] = name
        kind = table.get("type")
        if name == "database":
            database = _database(t)
        elif name == "files":
            files = _files(t)
        elif name == "embeddings":
            embeddings = _embeddings(t)
        elif name == "llm_service":
            # The seed's file names only a model: without a type, llm_service is an OpenAI-compatible service.
            llm_service = _llm(t, name, "openai")
        elif name == "serverless_service" or kind == "serverless":
            serverless.append(_serverless(t, name))
        elif kind in LLM_TYPES:
            llms.append(_llm(t, name, "openai"))
        elif name == "interpreter" or kind == "interpreter":
            if interpreter is not None:
                raise t.error(None, "only one code interpreter connector can be configured")
            interpreter = _interpreter(t)
        elif kind is not None and "class" not in table:
            raise t.error(
                "type",
                f"unknown connector type {kind!r} (built-in types: openai, local, serverless, interpreter)",
            )
        else:
            plugins.append(PluginSettings(name=name, options=dict(table)))
    return Settings(
        source=source,
        database=database,
        files=files,
        embeddings=embeddings,
        interpreter=interpreter or InterpreterSettings(),
        llm_service=llm_service,
        llms=tuple(llms),
        serverless=tuple(serverless),
        runs=_runs(_Table(label, "runs", runs_table)),
        server=_server(_Table(label, "server", server_table)),
        keys=_keys(_Table(label, "keys", keys_table)),
        telemetry=_telemetry(_Table(label, "telemetry", telemetry_table)),
        plugins=tuple(plugins),
        plugin_dir=plugin_dir,
        routers=tuple(routers),
    )


def resolve_config_path(explicit: str | None) -> Path | None:
    """``--config FILE``, else ``$PYGENTIC_CONFIG``, else ``./connectors.toml`` if present, else None."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("PYGENTIC_CONFIG")
    if env:
        return Path(env)
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.is_file() else None


def load_settings(path: Path | None) -> Settings:
    """Read and validate ``path``; None gives the built-in defaults (SQLite + the local model)."""
    if path is None:
        return Settings()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_settings(data, path)
