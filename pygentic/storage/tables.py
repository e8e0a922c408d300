"""The SQLModel tables.

Scalar fields are columns; nested structures (tools, content parts, step details, ...) are JSON columns
holding the OpenAI JSON shape. ``seq`` is an insertion counter: lists are ordered by ``(created_at, seq)``,
which is stable when several objects share a ``created_at`` second.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, LargeBinary, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from pygentic.storage.tenancy import DEFAULT_PROJECT


def _new_list() -> list[Any]:
    return []


def _new_dict() -> dict[str, Any]:
    return {}


# Pydantic inspects a default factory's signature on every instance; for builtins such as ``list`` that
# means parsing their text signature (about 45 us each, several per row: a profile of streamed runs showed
# it), for a Python function it is a code-object lookup (3 us).
_FACTORIES = {list: _new_list, dict: _new_dict}


def _json(default: Any = None) -> Any:
    if callable(default):
        return Field(default_factory=_FACTORIES.get(default, default), sa_type=JSON)
    return Field(default=default, sa_type=JSON, nullable=True)


def _project() -> Any:
    """The owning project (see :mod:`pygentic.storage.tenancy`); rows from before projects are the
    default project's."""
    return Field(
        default=DEFAULT_PROJECT,
        max_length=64,
        index=True,
        sa_column_kwargs={"server_default": DEFAULT_PROJECT},
    )


def _meta() -> Any:
    return Field(default_factory=_new_dict, sa_type=JSON, sa_column_kwargs={"name": "metadata"})


class AssistantRow(SQLModel, table=True):
    """An assistant."""

    __tablename__ = "assistants"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True, unique=True, max_length=64)
    project_id: str = _project()
    created_at: int = Field(sa_type=BigInteger, index=True)
    name: str | None = None
    description: str | None = None
    model: str
    instructions: str | None = None
    tools: list[dict[str, Any]] = _json(list)
    tool_resources: dict[str, Any] | None = _json()
    meta: dict[str, str] = _meta()
    temperature: float | None = None
    top_p: float | None = None
    response_format: Any = _json()
    reasoning_effort: str | None = None


class ThreadRow(SQLModel, table=True):
    """A thread."""

    __tablename__ = "threads"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True, unique=True, max_length=64)
    project_id: str = _project()
    created_at: int = Field(sa_type=BigInteger, index=True)
    tool_resources: dict[str, Any] | None = _json()
    meta: dict[str, str] = _meta()


class MessageRow(SQLModel, table=True):
    """A message of a thread."""

    __tablename__ = "messages"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True, unique=True, max_length=64)
    project_id: str = _project()
    created_at: int = Field(sa_type=BigInteger, index=True)
    thread_id: str = Field(index=True, max_length=64)
    status: str = "completed"
    role: str
    content: list[dict[str, Any]] = _json(list)
    assistant_id: str | None = None
    run_id: str | None = Field(default=None, index=True, max_length=64)
    attachments: list[dict[str, Any]] = _json(list)
    meta: dict[str, str] = _meta()
    incomplete_details: dict[str, Any] | None = _json()
    completed_at: int | None = Field(default=None, sa_type=BigInteger)
    incomplete_at: int | None = Field(default=None, sa_type=BigInteger)


class RunRow(SQLModel, table=True):
    """A run of an assistant on a thread."""

    __tablename__ = "runs"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True, unique=True, max_length=64)
    project_id: str = _project()
    key_id: str | None = Field(default=None, max_length=64, index=True)  # the API key that made it
    created_at: int = Field(sa_type=BigInteger, index=True)
    thread_id: str = Field(index=True, max_length=64)
    assistant_id: str
    status: str = Field(index=True)
    required_action: dict[str, Any] | None = _json()
    last_error: dict[str, Any] | None = _json()
    expires_at: int | None = Field(default=None, sa_type=BigInteger)
    started_at: int | None = Field(default=None, sa_type=BigInteger)
    cancelled_at: int | None = Field(default=None, sa_type=BigInteger)
    failed_at: int | None = Field(default=None, sa_type=BigInteger)
    completed_at: int | None = Field(default=None, sa_type=BigInteger)
    incomplete_details: dict[str, Any] | None = _json()
    model: str
    instructions: str = ""
    tools: list[dict[str, Any]] = _json(list)
    meta: dict[str, str] = _meta()
    usage: dict[str, Any] | None = _json()
    temperature: float | None = None
    top_p: float | None = None
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    truncation_strategy: dict[str, Any] | None = _json()
    tool_choice: Any = _json()
    parallel_tool_calls: bool = True
    response_format: Any = _json()
    reasoning_effort: str | None = None
    include: list[str] | None = _json()  # extra step fields its streamed events carry
    # Resources of the run itself (a Responses API request names its vector stores and files in its
    # tools), read before the assistant's and the thread's.
    tool_resources: dict[str, Any] | None = _json()
    # Run ownership: the process executing the run renews its lease; another takes over when it lapses.
    owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: float | None = None


class ResponseRow(SQLModel, table=True):
    """A Responses API response: the request as given, and the run (and where in it) that answers it.
    Its status and output are read from that run's steps when asked for, so they are as current as the
    run, whichever process executes it."""

    __tablename__ = "responses"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True, unique=True, max_length=64)
    project_id: str = _project()
    created_at: int = Field(sa_type=BigInteger, index=True)
    thread_id: str = Field(index=True, max_length=64)
    run_id: str = Field(index=True, max_length=64)
    # The run's steps before this response began (a response that answers function calls continues its
    # previous response's run): its output is the run's steps from here to the next response's first.
    first_step: int = 0
    previous_response_id: str | None = Field(default=None, max_length=64)
    conversation_id: str | None = Field(default=None, max_length=64)
    model: str
    instructions: str | None = None
    tools: list[dict[str, Any]] = _json(list)
    tool_choice: Any = _json()
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    text: dict[str, Any] | None = _json()
    truncation: str = "disabled"
    meta: dict[str, str] = _meta()
    background: bool = False
    store: bool = True
    user: str | None = None
    input_items: list[dict[str, Any]] = _json(list)
    include: list[str] = _json(list)


class RunStepRow(SQLModel, table=True):
    """A step of a run."""

    __tablename__ = "run_steps"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True, unique=True, max_length=64)
    project_id: str = _project()
    created_at: int = Field(sa_type=BigInteger, index=True)
    thread_id: str = Field(index=True, max_length=64)
    run_id: str = Field(index=True, max_length=64)
    assistant_id: str
    type: str
    status: str
    step_details: dict[str, Any] = _json(dict)
    last_error: dict[str, Any] | None = _json()
    expired_at: int | None = Field(default=None, sa_type=BigInteger)
    cancelled_at: int | None = Field(default=None, sa_type=BigInteger)
    failed_at: int | None = Field(default=None, sa_type=BigInteger)
    completed_at: int | None = Field(default=None, sa_type=BigInteger)
    meta: dict[str, str] = _meta()
    usage: dict[str, Any] | None = _json()


class FileRow(SQLModel, table=True):
    """An uploaded file; its bytes are in the blob store under ``id``."""

    __tablename__ = "files"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True, unique=True, max_length=64)
    project_id: str = _project()
    created_at: int = Field(sa_type=BigInteger, index=True)
    filename: str
    purpose: str = Field(index=True, max_length=32)
    bytes: int = Field(sa_type=BigInteger)
    status: str = "processed"
    expires_at: int | None = Field(default=None, sa_type=BigInteger)


class VectorStoreRow(SQLModel, table=True):
    """A vector store. Its file counts, usage and status are derived from its files when read."""

    __tablename__ = "vector_stores"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True, unique=True, max_length=64)
    project_id: str = _project()
    created_at: int = Field(sa_type=BigInteger, index=True)
    name: str = ""
    description: str | None = None
    meta: dict[str, str] = _meta()
    expires_after: dict[str, Any] | None = _json()
    expires_at: int | None = Field(default=None, sa_type=BigInteger)
    last_active_at: int | None = Field(default=None, sa_type=BigInteger)
    # Bumped in every transaction that adds or removes chunks, so searches know when cached vectors are stale.
    chunks_version: int | None = None


class VectorStoreFileRow(SQLModel, table=True):
    """A file in a vector store; ``id`` is the file's id. Rows ``in_progress`` are the ingestion queue: a
    worker claims one with a lease, so a dead worker's files are taken up again."""

    __tablename__ = "vector_store_files"
    __table_args__ = (UniqueConstraint("vector_store_id", "id", name="uq_vector_store_file"),)

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True, max_length=64)
    project_id: str = _project()
    vector_store_id: str = Field(index=True, max_length=64)
    created_at: int = Field(sa_type=BigInteger, index=True)
    status: str = Field(default="in_progress", index=True, max_length=16)
    usage_bytes: int = Field(default=0, sa_type=BigInteger)
    last_error: dict[str, Any] | None = _json()
    attributes: dict[str, Any] | None = _json()
    chunking_strategy: dict[str, Any] | None = _json()
    batch_id: str | None = Field(default=None, index=True, max_length=64)
    owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: float | None = None


class VectorStoreFileBatchRow(SQLModel, table=True):
    """A batch of files added to a vector store; its counts are its files' (``batch_id``)."""

    __tablename__ = "vector_store_file_batches"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True, unique=True, max_length=64)
    project_id: str = _project()
    vector_store_id: str = Field(index=True, max_length=64)
    created_at: int = Field(sa_type=BigInteger, index=True)
    cancelled_at: int | None = Field(default=None, sa_type=BigInteger)


class ChunkRow(SQLModel, table=True):
    """One indexed piece of a vector store file: its text, its embedding (float32 bytes) and, when the
    model read it in parts, those parts' vectors (``passages``: float32 rows of the same size)."""

    __tablename__ = "chunks"

    seq: int | None = Field(default=None, primary_key=True)
    vector_store_id: str = Field(index=True, max_length=64)
    file_id: str = Field(index=True, max_length=64)
    position: int
    text: str
    tokens: int
    embedding: bytes = Field(sa_type=LargeBinary)
    passages: bytes | None = Field(default=None, sa_type=LargeBinary)


class IdempotencyRow(SQLModel, table=True):
    """A request made with an idempotency key (``digest``: what it was) and, once it succeeded, its
    answer, which every retry with the key gets (see :mod:`pygentic.operations.idempotency`)."""

    __tablename__ = "idempotency_keys"

    key: str = Field(primary_key=True, max_length=255)
    digest: str = Field(max_length=64)
    state: str = Field(max_length=16)  # "pending" while the first attempt runs, then "done"
    status: int | None = None
    content_type: str | None = Field(default=None, max_length=100)
    body: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: float = Field(index=True)


class ApiKeyRow(SQLModel, table=True):
    """An API key: the project it acts for and the SHA-256 of its secret (the secret itself is shown
    once, when it is made, and never stored)."""

    __tablename__ = "api_keys"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True, unique=True, max_length=64)
    project_id: str = Field(index=True, max_length=64)
    name: str = Field(default="", max_length=256)
    prefix: str = Field(max_length=32)  # the secret's first characters, to tell keys apart in lists
    digest: str = Field(index=True, unique=True, max_length=64)
    created_at: int = Field(sa_type=BigInteger)
    revoked_at: int | None = Field(default=None, sa_type=BigInteger)
    # This key's own limits (None: [keys] in connectors.toml; 0: none).
    requests_per_minute: int | None = None
    active_runs: int | None = None
    admin: bool = Field(
        default=False, sa_column_kwargs={"server_default": false()}
    )  # may call the Admin service
