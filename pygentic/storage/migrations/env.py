"""Alembic's environment: migrations run on the connection Pygentic hands over (see ``__init__``)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import pygentic.storage.tables  # noqa: F401  (registers every table on SQLModel.metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
