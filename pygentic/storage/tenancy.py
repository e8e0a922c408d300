"""Which project a request acts for, and the rule that confines it there.

Every stored object belongs to a project (``project_id``). A front door sets the caller's project
(:func:`acting_for`) before an operation runs; from then on, in that task and every task it starts (a
run's engine task inherits it), the repositories find only that project's rows and stamp new rows with
it. Another project's ids are therefore simply not found (NOT_FOUND / 404: nothing tells a caller that
they exist). Work that belongs to no request (startup recovery, ingestion, expiry) runs with no project
set and sees every row; the engine sets a run's own project before executing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

StatementT = TypeVar("StatementT")

DEFAULT_PROJECT = "default"  # the project of an open server (no API keys) and of pre-tenancy data

_project: ContextVar[str | None] = ContextVar("pygentic_project", default=None)


def current_project() -> str | None:
    """The project the running task acts for (None: internal work, every project)."""
    return _project.get()


def set_project(project: str | None) -> None:
    """Act for ``project`` from now on in this task (and the tasks it creates)."""
    _project.set(project)


@contextmanager
def acting_for(project: str | None) -> Iterator[None]:
    """Act for ``project`` inside the block."""
    token = _project.set(project)
    try:
        yield
    finally:
        _project.reset(token)


def in_project(statement: StatementT, model: Any) -> StatementT:
    """``statement`` (a SELECT over ``model``) limited to the acting project's rows."""
    project = current_project()
    if project is None:
        return statement
    return statement.where(model.project_id == project)  # type: ignore[attr-defined,no-any-return]
