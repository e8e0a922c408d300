"""Baseline: the schema of release 0.1.0 (the last before migrations), table by table.

On an empty database it creates every table. On a database made before migrations (by 0.1.0 or an
earlier version, which created its tables itself) it creates the tables that are missing and adds the
nullable columns and the indexes that older versions lacked, as those versions' startup did; a missing
required column stops the upgrade with its name (that database needs a hand-written migration).

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

METADATA = sa.MetaData()

sa.Table(
    "assistants",
    METADATA,
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column("model", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("instructions", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column("tools", sa.JSON(), nullable=False),
    sa.Column("tool_resources", sa.JSON(), nullable=True),
    sa.Column("metadata", sa.JSON(), nullable=False),
    sa.Column("temperature", sa.Float(), nullable=True),
    sa.Column("top_p", sa.Float(), nullable=True),
    sa.Column("response_format", sa.JSON(), nullable=True),
    sa.Column("reasoning_effort", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint("seq"),
)
sa.Index("ix_assistants_created_at", METADATA.tables["assistants"].c.created_at)
sa.Index("ix_assistants_id", METADATA.tables["assistants"].c.id, unique=True)
sa.Table(
    "chunks",
    METADATA,
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("vector_store_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("file_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("tokens", sa.Integer(), nullable=False),
    sa.Column("embedding", sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint("seq"),
)
sa.Index("ix_chunks_file_id", METADATA.tables["chunks"].c.file_id)
sa.Index("ix_chunks_vector_store_id", METADATA.tables["chunks"].c.vector_store_id)
sa.Table(
    "files",
    METADATA,
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column("bytes", sa.BigInteger(), nullable=False),
    sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("expires_at", sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint("seq"),
)
sa.Index("ix_files_created_at", METADATA.tables["files"].c.created_at)
sa.Index("ix_files_id", METADATA.tables["files"].c.id, unique=True)
sa.Index("ix_files_purpose", METADATA.tables["files"].c.purpose)
sa.Table(
    "messages",
    METADATA,
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("thread_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("role", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("content", sa.JSON(), nullable=False),
    sa.Column("assistant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column("attachments", sa.JSON(), nullable=False),
    sa.Column("metadata", sa.JSON(), nullable=False),
    sa.Column("incomplete_details", sa.JSON(), nullable=True),
    sa.Column("completed_at", sa.BigInteger(), nullable=True),
    sa.Column("incomplete_at", sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint("seq"),
)
sa.Index("ix_messages_created_at", METADATA.tables["messages"].c.created_at)
sa.Index("ix_messages_id", METADATA.tables["messages"].c.id, unique=True)
sa.Index("ix_messages_run_id", METADATA.tables["messages"].c.run_id)
sa.Index("ix_messages_thread_id", METADATA.tables["messages"].c.thread_id)
sa.Table(
    "run_steps",
    METADATA,
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("thread_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("assistant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("step_details", sa.JSON(), nullable=False),
    sa.Column("last_error", sa.JSON(), nullable=True),
    sa.Column("expired_at", sa.BigInteger(), nullable=True),
    sa.Column("cancelled_at", sa.BigInteger(), nullable=True),
    sa.Column("failed_at", sa.BigInteger(), nullable=True),
    sa.Column("completed_at", sa.BigInteger(), nullable=True),
    sa.Column("metadata", sa.JSON(), nullable=False),
    sa.Column("usage", sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint("seq"),
)
sa.Index("ix_run_steps_created_at", METADATA.tables["run_steps"].c.created_at)
sa.Index("ix_run_steps_id", METADATA.tables["run_steps"].c.id, unique=True)
sa.Index("ix_run_steps_run_id", METADATA.tables["run_steps"].c.run_id)
sa.Index("ix_run_steps_thread_id", METADATA.tables["run_steps"].c.thread_id)
sa.Table(
    "runs",
    METADATA,
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("thread_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("assistant_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("required_action", sa.JSON(), nullable=True),
    sa.Column("last_error", sa.JSON(), nullable=True),
    sa.Column("expires_at", sa.BigInteger(), nullable=True),
    sa.Column("started_at", sa.BigInteger(), nullable=True),
    sa.Column("cancelled_at", sa.BigInteger(), nullable=True),
    sa.Column("failed_at", sa.BigInteger(), nullable=True),
    sa.Column("completed_at", sa.BigInteger(), nullable=True),
    sa.Column("incomplete_details", sa.JSON(), nullable=True),
    sa.Column("model", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("instructions", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("tools", sa.JSON(), nullable=False),
    sa.Column("metadata", sa.JSON(), nullable=False),
    sa.Column("usage", sa.JSON(), nullable=True),
    sa.Column("temperature", sa.Float(), nullable=True),
    sa.Column("top_p", sa.Float(), nullable=True),
    sa.Column("max_prompt_tokens", sa.Integer(), nullable=True),
    sa.Column("max_completion_tokens", sa.Integer(), nullable=True),
    sa.Column("truncation_strategy", sa.JSON(), nullable=True),
    sa.Column("tool_choice", sa.JSON(), nullable=True),
    sa.Column("parallel_tool_calls", sa.Boolean(), nullable=False),
    sa.Column("response_format", sa.JSON(), nullable=True),
    sa.Column("reasoning_effort", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column("include", sa.JSON(), nullable=True),
    sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column("lease_expires_at", sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint("seq"),
)
sa.Index("ix_runs_created_at", METADATA.tables["runs"].c.created_at)
sa.Index("ix_runs_id", METADATA.tables["runs"].c.id, unique=True)
sa.Index("ix_runs_status", METADATA.tables["runs"].c.status)
sa.Index("ix_runs_thread_id", METADATA.tables["runs"].c.thread_id)
sa.Table(
    "threads",
    METADATA,
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("tool_resources", sa.JSON(), nullable=True),
    sa.Column("metadata", sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint("seq"),
)
sa.Index("ix_threads_created_at", METADATA.tables["threads"].c.created_at)
sa.Index("ix_threads_id", METADATA.tables["threads"].c.id, unique=True)
sa.Table(
    "vector_store_file_batches",
    METADATA,
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("vector_store_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("cancelled_at", sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint("seq"),
)
sa.Index("ix_vector_store_file_batches_created_at", METADATA.tables["vector_store_file_batches"].c.created_at)
sa.Index("ix_vector_store_file_batches_id", METADATA.tables["vector_store_file_batches"].c.id, unique=True)
sa.Index(
    "ix_vector_store_file_batches_vector_store_id",
    METADATA.tables["vector_store_file_batches"].c.vector_store_id,
)
sa.Table(
    "vector_store_files",
    METADATA,
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("vector_store_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column("usage_bytes", sa.BigInteger(), nullable=False),
    sa.Column("last_error", sa.JSON(), nullable=True),
    sa.Column("attributes", sa.JSON(), nullable=True),
    sa.Column("chunking_strategy", sa.JSON(), nullable=True),
    sa.Column("batch_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column("lease_expires_at", sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint("seq"),
    sa.UniqueConstraint("vector_store_id", "id", name="uq_vector_store_file"),
)
sa.Index("ix_vector_store_files_batch_id", METADATA.tables["vector_store_files"].c.batch_id)
sa.Index("ix_vector_store_files_created_at", METADATA.tables["vector_store_files"].c.created_at)
sa.Index("ix_vector_store_files_id", METADATA.tables["vector_store_files"].c.id)
sa.Index("ix_vector_store_files_status", METADATA.tables["vector_store_files"].c.status)
sa.Index("ix_vector_store_files_vector_store_id", METADATA.tables["vector_store_files"].c.vector_store_id)
sa.Table(
    "vector_stores",
    METADATA,
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column("metadata", sa.JSON(), nullable=False),
    sa.Column("expires_after", sa.JSON(), nullable=True),
    sa.Column("expires_at", sa.BigInteger(), nullable=True),
    sa.Column("last_active_at", sa.BigInteger(), nullable=True),
    sa.Column("chunks_version", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("seq"),
)
sa.Index("ix_vector_stores_created_at", METADATA.tables["vector_stores"].c.created_at)
sa.Index("ix_vector_stores_id", METADATA.tables["vector_stores"].c.id, unique=True)


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in METADATA.sorted_tables:
        if not inspector.has_table(table.name):
            table.create(bind)
            continue
        existing = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in existing:
                continue
            if not column.nullable and column.server_default is None:
                raise RuntimeError(
                    f"table {table.name} lacks the required column {column.name}: "
                    "this database needs a hand-written migration"
                )
            kind = column.type.compile(dialect=bind.dialect)
            op.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
    inspector = sa.inspect(bind)
    for table in METADATA.sorted_tables:
        existing_indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in existing_indexes:
                index.create(bind)


def downgrade() -> None:
    for table in reversed(METADATA.sorted_tables):
        op.drop_table(table.name)
