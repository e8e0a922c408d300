"""Hot-path statements: SQLAlchemy Core statements run on the database driver directly.

A small write through SQLAlchemy (a session, its transaction, three Core statements, a commit) costs
about 600 us of CPU on SQLite; the same statements through ``sqlite3`` cost 35 us. On PostgreSQL a
statement through SQLAlchemy's asyncpg adaptation (a greenlet switch, the adapted cursor, the result
wrapping) costs several times what ``asyncpg`` itself spends on it. The request and run paths (create a
message, a run, its transitions) run a handful of statements per operation, so they use
:class:`Statement`: SQLAlchemy still writes the SQL, from the table definitions, but once per driver; each
execution is one driver call (``sqlite3``'s ``execute``, asyncpg's ``fetch``/``execute`` of a statement it
prepared once per connection) with its parameters in order and converted by the column types' own
processors (JSON encoded, booleans as integers, ...). An in-memory SQLite database (one connection, held
by SQLAlchemy's pool) runs the same statements as Core (:class:`CoreTransaction`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import asyncpg
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

_SQLITE = sqlite.dialect(paramstyle="qmark")
_POSTGRESQL = pg_asyncpg.dialect()  # numeric_dollar: $1, $2, ...
_FLOAT8 = 701  # PostgreSQL's type oid of double precision
_EXPANDING = re.compile(r"__\[POSTCOMPILE_(\w+)\]")
_PLACEHOLDER = re.compile(r"\$(\d+)|__\[POSTCOMPILE_(\w+)\]")


class _DriverForm:
    """A statement compiled for one driver: its SQL with positional placeholders (``?`` for sqlite3,
    ``$n`` for asyncpg), its parameters in order (each a name to take from the call's values, or a
    constant from the statement), their converters, and the result columns' converters."""

    def __init__(self, core: Any, dialect: Dialect) -> None:
        compiled = core.compile(dialect=dialect)
        self.constants = compiled.params
        self.binds = compiled.binds
        self.dialect = dialect
        # The parameters: constants (from the statement) as they are, the rest named, then converted.
        self.template: list[Any] = []
        self.named: list[tuple[int, str]] = []
        self.converted: list[tuple[int, Callable[[Any], Any]]] = []
        if dialect.paramstyle == "qmark":
            self.sql = self._qmark(compiled)
        else:
            self.sql = self._numbered(compiled)
        self.simple = len(self.named) == len(self.template)  # no constants: the names in order
        self.names = [name for _, name in self.named]
        columns = getattr(core, "selected_columns", None) or ()
        self.results = [
            (i, p) for i, c in enumerate(columns) if (p := _result_processor(c.type, dialect)) is not None
        ]

    def _qmark(self, compiled: Any) -> str:
        """``?`` placeholders are in the order of ``positiontup``; an expanding list becomes one per value."""
        expanded: dict[str, int] = {}
        for name in compiled.positiontup:
            expanded_count = self._add(name)
            if expanded_count is not None:
                expanded[name] = expanded_count
        return _EXPANDING.sub(lambda m: ", ".join("?" * expanded[m.group(1)]), compiled.string)

    def _numbered(self, compiled: Any) -> str:
        """``$n`` placeholders number the non-expanding parameters of ``positiontup``; they are numbered
        again in the order the SQL holds them, an expanding list taking one number per value."""
        numbered = [name for name in compiled.positiontup if not self.binds[name].expanding]
        seen: dict[str, str] = {}

        def renumber(match: re.Match[str]) -> str:
            name = numbered[int(match.group(1)) - 1] if match.group(1) else match.group(2)
            if name in seen:
                return seen[name]
            first = len(self.template) + 1
            count = self._add(name)
            seen[name] = placeholder = (
                f"${first}" if count is None else ", ".join(f"${first + k}" for k in range(count))
            )
            return placeholder

        return _PLACEHOLDER.sub(renumber, compiled.string)

    def _add(self, name: str) -> int | None:
        """Append the parameter ``name`` to the template; for an expanding list, its number of values."""
        bind = self.binds[name]
        process = bind.type.dialect_impl(self.dialect).bind_processor(self.dialect)
        if bind.expanding:  # a literal IN list: one placeholder per value
            values = self.constants[name]
            if values is None:
                raise ValueError(f"{name}: expanding parameters need their values in the statement")
            self.template.extend(process(v) if process else v for v in values)
            return len(values)
        if self.constants.get(name) is not None:  # a constant (LIMIT 1, a literal value)
            constant = self.constants[name]
            self.template.append(process(constant) if process else constant)
            return None
        if process is not None:
            self.converted.append((len(self.template), process))
        self.named.append((len(self.template), name))
        self.template.append(None)
        return None

    def parameters(self, values: dict[str, Any]) -> list[Any]:
        if self.simple:
            out = [values[name] for name in self.names]
        else:
            out = list(self.template)
            for i, name in self.named:
                out[i] = values[name]
        for i, process in self.converted:
            out[i] = process(out[i])
        return out

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        if not self.results:
            return tuple(raw)
        values = list(raw)
        for i, process in self.results:
            values[i] = process(values[i])
        return tuple(values)


def _result_processor(column_type: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """How a result column of ``column_type`` is converted. PostgreSQL's numeric types need the type
    the server reports: a ``Float`` column is ``double precision`` (FLOAT8), which asyncpg returns as a
    float."""
    impl = column_type.dialect_impl(dialect)
    coltype = _FLOAT8 if dialect is _POSTGRESQL and isinstance(impl, sqltypes.Float) else None
    return impl.result_processor(dialect, coltype)  # type: ignore[no-any-return]


class Statement:
    """A Core statement (with ``bindparam`` parameters) prepared for the hot path; see the module."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self._sqlite: _DriverForm | None = None
        self._postgresql: _DriverForm | None = None

    @property
    def sqlite(self) -> _DriverForm:
        """The statement for ``sqlite3``."""
        if self._sqlite is None:
            self._sqlite = _DriverForm(self.core, _SQLITE)
        return self._sqlite

    @property
    def postgresql(self) -> _DriverForm:
        """The statement for ``asyncpg``."""
        if self._postgresql is None:
            self._postgresql = _DriverForm(self.core, _POSTGRESQL)
        return self._postgresql


class Transaction(Protocol):
    """One write transaction of :meth:`pygentic.storage.Database.transaction`."""

    async def rows(self, statement: Statement, values: dict[str, Any]) -> Sequence[tuple[Any, ...]]:
        """The result rows of a SELECT."""
        ...

    async def first(self, statement: Statement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first result row of a SELECT, or None."""
        ...

    async def execute(self, statement: Statement, values: dict[str, Any]) -> int:
        """Run an INSERT, UPDATE or DELETE; the number of rows it changed."""
        ...


class SqliteTransaction:
    """Statements on a ``sqlite3`` connection in a transaction (``BEGIN IMMEDIATE`` .. ``COMMIT``)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    async def rows(self, statement: Statement, values: dict[str, Any]) -> Sequence[tuple[Any, ...]]:
        form = statement.sqlite
        raw = self.connection.execute(form.sql, form.parameters(values)).fetchall()
        return [form.row(r) for r in raw] if form.results else raw

    async def first(self, statement: Statement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        form = statement.sqlite
        raw = self.connection.execute(form.sql, form.parameters(values)).fetchone()
        return None if raw is None else form.row(raw)

    async def execute(self, statement: Statement, values: dict[str, Any]) -> int:
        form = statement.sqlite
        return self.connection.execute(form.sql, form.parameters(values)).rowcount


class AsyncpgTransaction:
    """Statements on an ``asyncpg`` connection (in a transaction for writes), each prepared once per
    connection (asyncpg's statement cache) and then executed with its parameters only."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def rows(self, statement: Statement, values: dict[str, Any]) -> Sequence[tuple[Any, ...]]:
        form = statement.postgresql
        return [form.row(r) for r in await self.connection.fetch(form.sql, *form.parameters(values))]

    async def first(self, statement: Statement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        form = statement.postgresql
        raw = await self.connection.fetchrow(form.sql, *form.parameters(values))
        return None if raw is None else form.row(raw)

    async def execute(self, statement: Statement, values: dict[str, Any]) -> int:
        form = statement.postgresql
        status = await self.connection.execute(form.sql, *form.parameters(values))
        return int(status.rsplit(" ", 1)[-1])  # "UPDATE 3", "INSERT 0 1", "DELETE 0"


class CoreTransaction:
    """The same statements as Core on an SQLAlchemy connection (an ORM session's, an in-memory SQLite
    database's)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def rows(self, statement: Statement, values: dict[str, Any]) -> Sequence[tuple[Any, ...]]:
        return [tuple(r) for r in (await self.connection.execute(statement.core, values)).all()]

    async def first(self, statement: Statement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        row = (await self.connection.execute(statement.core, values)).first()
        return None if row is None else tuple(row)

    async def execute(self, statement: Statement, values: dict[str, Any]) -> int:
        return int((await self.connection.execute(statement.core, values)).rowcount)


async def connect_asyncpg_pool(dsn: str, size: int) -> asyncpg.Pool:
    """The hot path's ``asyncpg`` pool for a plain ``postgresql://`` DSN: connections opened as needed
    (up to ``size``), JSON exchanged as text (SQLAlchemy's JSON types encode it; the codec decodes it, as
    SQLAlchemy's asyncpg dialect sets it up), statements prepared once per connection. A connection the
    server closed is replaced when it is next taken from the pool. A connection going back to the pool
    only has an unfinished transaction rolled back: the hot path's statements leave no session state
    (no ``SET``, ``LISTEN``, cursors or session locks), so asyncpg's full reset (``RESET ALL``,
    ``UNLISTEN *``, ...) would be a round trip to the server per transaction for nothing."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=size,
        init=_asyncpg_codecs,
        reset=_keep_session,
        statement_cache_size=1024,
    )
    assert pool is not None
    return pool


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """The pool's reset, after asyncpg's own rollback of an unfinished transaction: nothing more."""


async def _asyncpg_codecs(connection: asyncpg.Connection) -> None:
    """JSON and JSONB as SQLAlchemy's asyncpg dialect exchanges them (JSONB's binary form has a version
    byte in front)."""
    await connection.set_type_codec(
        "json", encoder=str.encode, decoder=json.loads, schema="pg_catalog", format="binary"
    )
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda text: b"\x01" + text.encode(),
        decoder=lambda data: json.loads(data[1:]),
        schema="pg_catalog",
        format="binary",
    )


WAL_SIZE_LIMIT = 16 * 1024 * 1024  # bytes of WAL file kept when the WAL starts over


def sqlite_pragmas(timeout: float, *, writer: bool) -> list[str]:
    """Every SQLite connection's settings: WAL, the busy timeout, ``synchronous=NORMAL``, foreign keys
    on; a writer's also never checkpoints on commit (checkpoints run off the loop) and truncates the
    WAL file to ``WAL_SIZE_LIMIT`` when the WAL starts over."""
    pragmas = [
        "journal_mode=WAL",
        f"busy_timeout={int(timeout * 1000)}",
        "synchronous=NORMAL",
        "foreign_keys=ON",
    ]
    if writer:
        pragmas += ["wal_autocheckpoint=0", f"journal_size_limit={WAL_SIZE_LIMIT}"]
    return pragmas


def connect_sqlite(path: str, timeout: float) -> sqlite3.Connection:
    """The hot path's ``sqlite3`` connection: autocommit mode (transactions are explicit) and a writer's
    settings (:func:`sqlite_pragmas`)."""
    connection = sqlite3.connect(
        path, timeout=timeout, isolation_level=None, check_same_thread=False, cached_statements=256
    )
    for pragma in sqlite_pragmas(timeout, writer=True):
        connection.execute(f"PRAGMA {pragma}")
    return connection
