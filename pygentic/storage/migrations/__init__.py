"""Schema migrations (Alembic), applied at startup on SQLite and PostgreSQL.

``versions/`` holds one revision per schema change, from ``0001`` (the schema of release 0.1.0, the last
before migrations) on; the database's ``alembic_version`` table says which it has. A database of any
earlier version, made before migrations existed, has no such table: the baseline completes it (missing
tables, the nullable columns and indexes later versions added) and the revisions after it run as for any
other. ``pygentic db upgrade|current|history`` runs the same from the command line.

A model change in :mod:`pygentic.storage.tables` needs a revision (``tests/test_migrations.py`` fails
until the migrated schema matches the models again); write it with ``make migration m="what changed"``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

HERE = Path(__file__).parent


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for Pygentic's revisions, on ``connection`` when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def current(connection: Connection) -> str | None:
    """The database's revision (None: never migrated, an empty or pre-migration database)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection) -> list[str]:
    """Bring the database to the newest revision; the revisions applied, oldest first."""
    before = current(connection)
    command.upgrade(config(connection), "head")
    script = ScriptDirectory.from_config(config())
    applied = [r.revision for r in script.iterate_revisions("head", before or "base") if r.revision != before]
    return list(reversed(applied))


def baseline_metadata() -> Any:
    """The tables of the baseline revision (release 0.1.0's schema, without ``alembic_version``): what a
    database made before migrations holds, for upgrade tests and tools."""
    spec = importlib.util.spec_from_file_location("pygentic_baseline", HERE / "versions" / "0001_baseline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.METADATA


def history() -> list[tuple[str, str]]:
    """Every revision (id, description), oldest first."""
    script = ScriptDirectory.from_config(config())
    return [(r.revision, (r.doc or "").strip()) for r in reversed(list(script.walk_revisions()))]
