"""Hot-path statements: SQLAlchemy Core statements run on SQLite's driver directly, or as Core elsewhere.

A small write through SQLAlchemy (a session, its transaction, three Core statements, a commit) costs
about 600 us of CPU on SQLite; the same statements through ``sqlite3`` cost 35 us. The request and run
paths (create a message, a run, its transitions) run a handful of statements per operation, so on SQLite
they use :class:`Statement`: SQLAlchemy still writes the SQL, from the table definitions, but once; each
execution is a ``sqlite3`` call with its parameters in order and converted by the column types' own
processors (JSON encoded, booleans as integers, ...). On PostgreSQL (and an in-memory SQLite database) the
same statements run as Core on a pooled connection (:class:`CoreTransaction`), without an ORM session.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

_SQLITE = sqlite.dialect(paramstyle="qmark")
_EXPANDING = re.compile(r"__\[POSTCOMPILE_(\w+)\]")

Processor = Callable[[Any], Any] | None


class _SqliteForm:
    """A statement compiled for ``sqlite3``: SQL with ``?`` placeholders, its parameters in order (each a
    name to take from the call's values, or a constant from the statement), their converters, and the
    result columns' converters."""

    def __init__(self, core: Any) -> None:
        compiled = core.compile(dialect=_SQLITE)
        constants = compiled.params
        binds = compiled.binds
        self.order: list[tuple[str | None, Any, Processor]] = []
        expanded: dict[str, int] = {}
        for name in compiled.positiontup:
            bind = binds[name]
            if bind.expanding:  # a literal IN list: one placeholder per value
                values = constants[name]
                if values is None:
                    raise ValueError(f"{name}: expanding parameters need their values in the statement")
                expanded[name] = len(values)
                process = bind.type.bind_processor(_SQLITE)
                self.order.extend((None, process(v) if process else v, None) for v in values)
            elif constants.get(name) is not None:  # a constant (LIMIT 1, a literal value)
                self.order.append((None, constants[name], None))
            else:
                self.order.append((name, None, bind.type.bind_processor(_SQLITE)))
        self.sql = _EXPANDING.sub(lambda m: ", ".join("?" * expanded[m.group(1)]), compiled.string)
        columns = getattr(core, "selected_columns", None) or ()
        self.results: list[Processor] = [c.type.result_processor(_SQLITE, None) for c in columns]
        self.converts = any(p is not None for p in self.results)

    def parameters(self, values: dict[str, Any]) -> list[Any]:
        out = []
        for name, constant, process in self.order:
            if name is None:
                out.append(constant)
            else:
                value = values[name]
                out.append(value if process is None else process(value))
        return out

    def row(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.converts:
            return raw
        return tuple(v if p is None else p(v) for p, v in zip(self.results, raw, strict=True))


class Statement:
    """A Core statement (with ``bindparam`` parameters) prepared for the hot path; see the module."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self._sqlite: _SqliteForm | None = None

    @property
    def sqlite(self) -> _SqliteForm:
        if self._sqlite is None:
            self._sqlite = _SqliteForm(self.core)
        return self._sqlite


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
        return [form.row(r) for r in raw] if form.converts else raw

    async def first(self, statement: Statement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        form = statement.sqlite
        raw = self.connection.execute(form.sql, form.parameters(values)).fetchone()
        return None if raw is None else form.row(raw)

    async def execute(self, statement: Statement, values: dict[str, Any]) -> int:
        form = statement.sqlite
        return self.connection.execute(form.sql, form.parameters(values)).rowcount


class CoreTransaction:
    """The same statements as Core on an SQLAlchemy connection in a transaction (PostgreSQL)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def rows(self, statement: Statement, values: dict[str, Any]) -> Sequence[tuple[Any, ...]]:
        return [tuple(r) for r in (await self.connection.execute(statement.core, values)).all()]

    async def first(self, statement: Statement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        row = (await self.connection.execute(statement.core, values)).first()
        return None if row is None else tuple(row)

    async def execute(self, statement: Statement, values: dict[str, Any]) -> int:
        return int((await self.connection.execute(statement.core, values)).rowcount)


def connect_sqlite(path: str, timeout: float) -> sqlite3.Connection:
    """The hot path's ``sqlite3`` connection: autocommit mode (transactions are explicit), WAL, the busy
    timeout, ``synchronous=NORMAL``, foreign keys on, no checkpoint on commit (they run off the loop)."""
    connection = sqlite3.connect(
        path, timeout=timeout, isolation_level=None, check_same_thread=False, cached_statements=256
    )
    for pragma in (
        "journal_mode=WAL",
        f"busy_timeout={int(timeout * 1000)}",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "wal_autocheckpoint=0",
    ):
        connection.execute(f"PRAGMA {pragma}")
    return connection
