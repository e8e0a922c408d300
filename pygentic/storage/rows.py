"""Row objects made without SQLModel's per-attribute ``__init__``: for the hot path.

``MessageRow(...)`` sets each field through pydantic's and SQLAlchemy's attribute machinery, about 50 us a
row (a streamed run makes four); :func:`new_row` builds the same object (the same values, defaults and
``model_fields_set``) in about 3 us, the way the ORM makes the rows it loads: the mapper's new instance,
its attribute dictionary filled directly. :func:`loaded_row` does that for a row read by a hot-path
statement. Both are untracked: written with the repositories' Core ``insert`` / ``save``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic_core import PydanticUndefined
from sqlalchemy import inspect
from sqlalchemy.orm import configure_mappers
from sqlmodel import SQLModel

RowT = TypeVar("RowT", bound=SQLModel)


class _Spec:
    """What :func:`new_row` needs of one table model: its constructor, defaults and required fields."""

    def __init__(self, model: type[SQLModel]) -> None:
        configure_mappers()
        self.make: Callable[[], Any] = inspect(model).class_manager.new_instance
        self.defaults: dict[str, Any] = {}
        self.factories: dict[str, Callable[[], Any]] = {}
        self.required: set[str] = set()
        for name, field in model.model_fields.items():
            if field.default_factory is not None:
                self.factories[name] = field.default_factory  # type: ignore[assignment]
            elif field.default is PydanticUndefined:
                self.required.add(name)
            else:
                self.defaults[name] = field.default
        self.fields = set(model.model_fields)


_SPECS: dict[type[SQLModel], _Spec] = {}


def _spec(model: type[SQLModel]) -> _Spec:
    spec = _SPECS.get(model)
    if spec is None:
        spec = _SPECS[model] = _Spec(model)
    return spec


def new_row(table: type[RowT], /, **values: Any) -> RowT:
    """``table(**values)``, faster; a missing required field or an unknown one is a TypeError."""
    spec = _spec(table)
    if not spec.required <= values.keys() or not values.keys() <= spec.fields:
        missing = sorted(spec.required - values.keys())
        unknown = sorted(values.keys() - spec.fields)
        raise TypeError(f"{table.__name__}: missing {missing}, unknown {unknown}")
    row = spec.make()
    state = row.__dict__
    state.update(spec.defaults)
    for name, factory in spec.factories.items():
        if name not in values:
            state[name] = factory()
    state.update(values)
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    return row  # type: ignore[no-any-return]


def loaded_row(table: type[RowT], names: list[str], values: tuple[Any, ...]) -> RowT:
    """A row holding ``values`` for the attributes ``names`` (every column), as read from storage."""
    row = _spec(table).make()
    state = row.__dict__
    for name, value in zip(names, values, strict=True):
        state[name] = value
    return row  # type: ignore[no-any-return]
