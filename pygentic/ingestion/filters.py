"""Attribute filters of vector store searches, as OpenAI defines them.

A comparison ``{"type": "eq" | "ne" | "gt" | "gte" | "lt" | "lte", "key": ..., "value": ...}`` or a compound
``{"type": "and" | "or", "filters": [...]}``; attribute values are strings, numbers or booleans. A file
without the key does not match a comparison.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from pygentic.errors import invalid, missing, unsupported

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
MAX_ATTRIBUTES = 16
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_STRING = 512


def check_filter(value: Any, param: str = "filters") -> Any:
    """``value`` if it is a well-formed filter (or None)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(param, "must be a comparison or compound filter object.")
    kind = value.get("type")
    if kind in ("and", "or"):
        filters = value.get("filters")
        if not isinstance(filters, list) or not filters:
            raise invalid(f"{param}.filters", "must be a non-empty list of filters.")
        for i, item in enumerate(filters):
            check_filter(item, f"{param}.filters[{i}]")
        return value
    if kind not in COMPARISONS:
        raise unsupported(f"{param}.type", kind, (*COMPARISONS, "and", "or"))
    if not isinstance(value.get("key"), str) or not value["key"]:
        raise missing(f"{param}.key")
    if not isinstance(value.get("value"), str | int | float | bool):
        raise invalid(f"{param}.value", "must be a string, number or boolean.")
    return value


def matches(filter_: Any, attributes: Mapping[str, Any] | None) -> bool:
    """Whether a file with ``attributes`` passes ``filter_`` (checked by :func:`check_filter`)."""
    if filter_ is None:
        return True
    kind = filter_["type"]
    if kind == "and":
        return all(matches(f, attributes) for f in filter_["filters"])
    if kind == "or":
        return any(matches(f, attributes) for f in filter_["filters"])
    attributes = attributes or {}
    if filter_["key"] not in attributes:
        return False
    left, right = attributes[filter_["key"]], filter_["value"]
    numeric = (int, float)
    if isinstance(left, bool) != isinstance(right, bool) or (
        isinstance(left, numeric) != isinstance(right, numeric)
    ):
        return kind == "ne"  # different kinds of value are never equal, never ordered
    try:
        return bool(COMPARISONS[kind](left, right))
    except TypeError:
        return False


def check_attributes(
    attributes: Mapping[str, Any] | None, param: str = "attributes"
) -> dict[str, Any] | None:
    """At most 16 keys of up to 64 characters; values strings (up to 512), numbers or booleans."""
    if attributes is None:
        return None
    if len(attributes) > MAX_ATTRIBUTES:
        raise invalid(param, f"at most {MAX_ATTRIBUTES} attributes are allowed.")
    for key, value in attributes.items():
        if not key or len(key) > MAX_ATTRIBUTE_KEY:
            raise invalid(param, f"keys must be 1 to {MAX_ATTRIBUTE_KEY} characters.")
        if isinstance(value, str):
            if len(value) > MAX_ATTRIBUTE_STRING:
                raise invalid(f"{param}.{key}", f"must be at most {MAX_ATTRIBUTE_STRING} characters.")
        elif not isinstance(value, int | float | bool):
            raise invalid(f"{param}.{key}", "must be a string, number or boolean.")
    return dict(attributes)
