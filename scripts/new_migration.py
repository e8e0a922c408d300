"""Write the next schema migration from the difference between the models and the migrated schema.

    make migration m="add a column for X"

It migrates a scratch SQLite database to the newest revision, compares it with the tables in
``pygentic/storage/tables.py`` and writes ``pygentic/storage/migrations/versions/NNNN_<slug>.py``. Read
and edit what it wrote (data moves, PostgreSQL specifics, batch mode for SQLite) before committing.
"""

from __future__ import annotations

import re
import sys

import sqlalchemy as sa
from alembic import command

from pygentic.storage import migrations


def main(message: str) -> None:
    number = f"{len(migrations.history()) + 1:04d}"
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "change"
    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        migrations.upgrade(connection)
        command.revision(migrations.config(connection), message=message, autogenerate=True, rev_id=number)
    print(f"wrote pygentic/storage/migrations/versions/{number}_{slug}.py (check it before committing)")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].strip():
        raise SystemExit('usage: make migration m="what changed"')
    main(sys.argv[1])
