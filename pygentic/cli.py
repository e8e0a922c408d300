"""The ``pygentic`` command: ``serve`` (the default), ``check``, ``connectors``, ``db check`` and ``exec``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from pygentic import __version__
from pygentic.config import ConfigError, Settings, load_settings, resolve_config_path
from pygentic.logs import configure_logging

COMMANDS = ("serve", "check", "connectors", "db", "exec", "keys")
log = logging.getLogger("pygentic.cli")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"pygentic: ${name} must be a port number, got {value!r}") from None


def _workers(value: str) -> int | None:
    """``--workers``: a positive count, or ``auto`` (None: decided once the database is known)."""
    if value == "auto":
        return None
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {value!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return count


def auto_workers(database_url: str) -> int:
    """``--workers auto``: one process per usable core on PostgreSQL (processes share it and its event
    bus); one on SQLite (the zero-setup default: one writer at a time, and an embedded model is loaded
    by every process; ``--workers N`` on a SQLite file is correct, see the README)."""
    if database_url.startswith("sqlite"):
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pygentic",
        description="Pygentic: an OpenAI Assistants API compatible agent service, gRPC first.",
    )
    parser.add_argument("--version", action="version", version=f"pygentic {__version__}")
    sub = parser.add_subparsers(dest="command")

    config_help = "connectors.toml to use (default: $PYGENTIC_CONFIG, else ./connectors.toml, else built-ins)"
    serve = sub.add_parser("serve", help="run the service (the default command)")
    serve.add_argument("--config", metavar="FILE", help=config_help)
    serve.add_argument(
        "--host",
        default=os.environ.get("PYGENTIC_HOST", "127.0.0.1"),
        help="address to listen on (default: $PYGENTIC_HOST or 127.0.0.1)",
    )
    serve.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        default=os.environ.get("PYGENTIC_ALLOW_UNAUTHENTICATED", "") not in ("", "0", "false"),
        help="serve a non-loopback --host although no API key exists (default: refuse; "
        "$PYGENTIC_ALLOW_UNAUTHENTICATED=1)",
    )
    serve.add_argument(
        "--grpc-port",
        type=int,
        default=_env_int("PYGENTIC_GRPC_PORT", 50051),
        help="gRPC port (default: $PYGENTIC_GRPC_PORT or 50051; 0 picks a free port)",
    )
    serve.add_argument(
        "--http-port",
        type=int,
        default=_env_int("PYGENTIC_HTTP_PORT", 8000),
        help="REST gateway port (default: $PYGENTIC_HTTP_PORT or 8000)",
    )
    serve.add_argument("--no-gateway", action="store_true", help="serve gRPC only")
    serve.add_argument(
        "--workers",
        type=_workers,
        default=os.environ.get("PYGENTIC_WORKERS") or "auto",
        help="server processes sharing the ports and the database (more than 1: PostgreSQL or a SQLite "
        "file); 'auto' (the default, or $PYGENTIC_WORKERS): one per core on PostgreSQL, 1 on SQLite",
    )
    # Set by the supervisor for its workers.
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument("--http-fd", type=int, default=None, help=argparse.SUPPRESS)
    serve.add_argument(
        "--log-level",
        default=os.environ.get("PYGENTIC_LOG_LEVEL", "INFO"),
        help="DEBUG, INFO, WARNING or ERROR (default: $PYGENTIC_LOG_LEVEL or INFO)",
    )

    check = sub.add_parser("check", help="validate the configuration and print the resolved connectors")
    check.add_argument("--config", metavar="FILE", help=config_help)
    connectors = sub.add_parser(
        "connectors", help="connect every connector and list its name, type, source file and health"
    )
    connectors.add_argument("--config", metavar="FILE", help=config_help)
    run_code = sub.add_parser(
        "exec", help="run code in the code interpreter's sandbox (same limits); exits with its status"
    )
    run_code.add_argument("--config", metavar="FILE", help=config_help)
    run_code.add_argument("--language", "-l", default="python", help="python (default), javascript, shell...")
    source = run_code.add_mutually_exclusive_group()
    source.add_argument("-c", dest="code", metavar="CODE", help="the program text")
    source.add_argument("--file", "-f", metavar="FILE", help="a file with the program (default: stdin)")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_check = db_sub.add_parser(
        "check", help="read every stored object and list those that cannot be served (exit 1 if any)"
    )
    db_check.add_argument("--config", metavar="FILE", help=config_help)
    keys = sub.add_parser("keys", help="API keys: make, list and revoke them")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="make a key for a project and print it (shown only once)")
    create.add_argument("--project", default="default", help="the project it acts for (default: default)")
    create.add_argument("--name", default="", help="a label for lists")
    create.add_argument("--admin", action="store_true", help="may also manage keys through the Admin service")
    create.add_argument(
        "--requests-per-minute",
        type=int,
        default=None,
        help="this key's request rate limit (0: none; default: [keys])",
    )
    create.add_argument(
        "--active-runs",
        type=int,
        default=None,
        help="this key's limit of active runs (0: none; default: [keys])",
    )
    revoke = keys_sub.add_parser("revoke", help="revoke a key (every replica refuses it within seconds)")
    revoke.add_argument("key_id", help="the key's id (key_...)")
    listing = keys_sub.add_parser("list", help="list the keys (ids, projects, prefixes; never the secrets)")
    for command_parser in (create, revoke, listing):
        command_parser.add_argument("--config", metavar="FILE", help=config_help)
    for name, text in (
        ("upgrade", "apply the schema migrations the database lacks (the server does it at startup)"),
        ("current", "print the database's schema revision and the newest one"),
        ("history", "list the schema revisions, oldest first"),
    ):
        db_sub.add_parser(name, help=text).add_argument("--config", metavar="FILE", help=config_help)
    return parser


async def _check_database(settings: Settings) -> int:
    from pygentic.integrity import find_unreadable
    from pygentic.storage import Database

    db = Database(settings.database)
    try:
        await db.create_schema()
        checked, unreadable = await find_unreadable(db)
    finally:
        await db.close()
    for item in unreadable:
        print(f"unreadable {item.kind} {item.id}: {item.reason}")
    print(f"checked {checked} objects, {len(unreadable)} unreadable")
    if unreadable:
        print("lists skip these objects; delete them through the API (DELETE by id) or restore them.")
    return 1 if unreadable else 0


async def _migrations(settings: Settings, action: str) -> int:
    """``pygentic db upgrade|current|history``."""
    from pygentic.storage import Database, migrations

    if action == "history":
        newest = migrations.head()
        for revision, description in migrations.history():
            first_line = description.splitlines()[0] if description else ""
            print(f"{revision}{' (head)' if revision == newest else ''}: {first_line}")
        return 0
    db = Database(settings.database)
    try:
        if action == "upgrade":
            await db.create_schema()
        async with db.engine.connect() as conn:
            revision = await conn.run_sync(migrations.current)
    finally:
        await db.close()
    newest = migrations.head()
    state = "up to date" if revision == newest else f"behind (newest {newest}; run `pygentic db upgrade`)"
    print(f"database revision {revision or '(none)'}: {state}")
    return 0 if action == "current" or revision == newest else 1


async def _keys(settings: Settings, args: argparse.Namespace) -> int:
    """``pygentic keys create|list|revoke``."""
    from pygentic.errors import ApiError
    from pygentic.operations.api_keys import KeyStore
    from pygentic.storage import Database

    db = Database(settings.database)
    try:
        await db.create_schema()
        keys = KeyStore(db)
        if args.keys_command == "create":
            row, secret = await keys.create(
                args.project, args.name, args.requests_per_minute, args.active_runs
            )
            print(secret)
            print(
                f"made {row.id} for project {row.project_id}: the key above is shown only now",
                file=sys.stderr,
            )
        elif args.keys_command == "revoke":
            row = await keys.revoke(args.key_id)
            print(f"revoked {row.id} (project {row.project_id})")
        else:
            print(f"{'ID':<30} {'PROJECT':<20} {'PREFIX':<12} {'CREATED':<10} {'STATE':<7} RPM/RUNS NAME")
            for row in await keys.list():
                state = "revoked" if row.revoked_at else ("admin" if row.admin else "active")
                columns = f"{row.id:<30} {row.project_id:<20} {row.prefix:<12} {row.created_at:<10}"
                limits = f"{_limit(row.requests_per_minute)}/{_limit(row.active_runs)}"
                print(f"{columns} {state:<7} {limits:<8} {row.name}")
    except ApiError as exc:
        print(f"pygentic: {exc.message}", file=sys.stderr)
        return 2
    finally:
        await db.close()
    return 0


def _limit(value: int | None) -> str:
    return "default" if value is None else ("none" if value == 0 else str(value))


async def _open_to_the_network(settings: Settings, host: str) -> bool:
    """Whether serving ``host`` would be an open server on a non-loopback address."""
    from pygentic.gateway.hosts import is_loopback
    from pygentic.operations.api_keys import KeyStore
    from pygentic.storage import Database

    if is_loopback(host):
        return False
    db = Database(settings.database)
    try:
        await db.create_schema()
        return await KeyStore(db).is_open()
    finally:
        await db.close()


async def _list_connectors(settings: Settings) -> int:
    from pygentic.connectors.registry import ConnectorRegistry
    from pygentic.interpreter.service import Interpreter
    from pygentic.storage import Database

    registry = ConnectorRegistry(settings, Database(settings.database))
    await registry.connect_all(strict=False)
    try:
        report = await registry.health()
    finally:
        await registry.disconnect_all()
    rows = [("NAME", "TYPE", "SOURCE", "HEALTH")]
    for entry, health in report:
        rows.append((entry.connector.name, entry.connector.type, entry.source, health))
    interpreter = Interpreter(settings.interpreter, settings.database.url)
    if settings.interpreter.enabled:
        await interpreter.start()
    state = interpreter.describe()
    interpreter.close()
    rows.append(
        ("interpreter", "interpreter", "built-in", state if interpreter.unavailable else f"ok {state}")
    )
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    healthy = all(h == "ok" or e.optional for e, h in report) and not interpreter.unavailable
    return 0 if healthy else 1


def _supervise(args: argparse.Namespace, settings: Settings) -> int:
    """``serve --workers N``: N worker processes on PostgreSQL or a SQLite file (not an in-memory
    database, which only one process can hold)."""
    from pygentic.storage.database import Database
    from pygentic.workers import supervise

    if Database.is_in_memory(settings.database.url):
        print(
            "pygentic: --workers needs a database the processes can share: PostgreSQL or a SQLite file, "
            f"not {settings.database.url!r}",
            file=sys.stderr,
        )
        return 2
    worker_args = ["--host", args.host, "--log-level", args.log_level]
    if args.allow_unauthenticated:
        worker_args.append("--allow-unauthenticated")
    if settings.source is not None:
        worker_args += ["--config", str(settings.source.resolve())]
    try:
        return supervise(
            args.workers, worker_args, args.host, args.grpc_port, None if args.no_gateway else args.http_port
        )
    except OSError as exc:
        log.error("cannot start", extra={"reason": str(exc)})
        return 1


def _die_with_supervisor() -> None:
    """A worker gets SIGTERM (a graceful stop) when its supervisor dies, however it dies (Linux)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _load(config: str | None) -> Settings:
    return load_settings(resolve_config_path(config))


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0] not in COMMANDS and args_list[0] not in ("-h", "--help", "--version")):
        args_list.insert(0, "serve")
    args = build_parser().parse_args(args_list)

    try:
        settings = _load(args.config)
    except ConfigError as exc:
        print(f"pygentic: configuration error: {exc}", file=sys.stderr)
        return 2

    if args.command == "check":
        for line in settings.describe():
            print(line)
        print("configuration OK")
        return 0

    from pygentic.app import Pygentic, ServeOptions, StartupError

    if args.command == "exec":
        from pygentic.interpreter.exec_command import main as exec_main

        configure_logging("warning")
        return exec_main(settings, args.language, args.code, args.file)

    if args.command == "db":
        logging.basicConfig(level=logging.WARNING)
        if args.db_command == "check":
            return asyncio.run(_check_database(settings))
        return asyncio.run(_migrations(settings, args.db_command))

    if args.command == "keys":
        logging.basicConfig(level=logging.WARNING)
        return asyncio.run(_keys(settings, args))

    if args.command == "connectors":
        logging.basicConfig(level=logging.WARNING)
        try:
            return asyncio.run(_list_connectors(settings))
        except StartupError as exc:
            print(f"pygentic: {exc}", file=sys.stderr)
            return 2

    configure_logging(args.log_level)

    if args.workers is None:
        args.workers = auto_workers(settings.database.url)
    if args.workers > 1:
        if not args.allow_unauthenticated and asyncio.run(_open_to_the_network(settings, args.host)):
            print(
                f"pygentic: refusing to serve {args.host} with no API key; create one (`pygentic keys "
                "create`), bind 127.0.0.1 or pass --allow-unauthenticated",
                file=sys.stderr,
            )
            return 2
        return _supervise(args, settings)
    if os.environ.get("PYGENTIC_WORKER"):
        _die_with_supervisor()
    options = ServeOptions(
        host=args.host,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        gateway=not args.no_gateway,
        reuse_port=args.reuse_port,
        http_fd=args.http_fd,
        allow_unauthenticated=args.allow_unauthenticated,
    )
    try:
        app = Pygentic(settings, options)
    except StartupError as exc:
        print(f"pygentic: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(app.serve_forever())
    except (OSError, *StartupError) as exc:
        log.error("cannot start", extra={"reason": str(exc)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
