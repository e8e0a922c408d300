"""Checks shared by the operations. Every failure is INVALID_ARGUMENT naming the field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf.message import Message

from pygentic.codec import value_to_py
from pygentic.errors import invalid, missing, unsupported
from pygentic.ingestion.ranking import ranking_of
from pygentic.operations.json_values import check_json, check_json_schema, shorten
from pygentic.storage import PageParams

MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
MAX_NAME = 256
MAX_DESCRIPTION = 512
MAX_INSTRUCTIONS = 256_000
MAX_TOOLS = 128
MAX_MESSAGE_CHARS = 256_000
MAX_CONTENT_PARTS = 100
MAX_FUNCTION_DESCRIPTION = 1024
MAX_ID = 64
FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOOL_TYPES = ("code_interpreter", "file_search", "function")
REASONING_EFFORTS = ("low", "medium", "high")


# The strings tool_choice takes (beside an object naming a function), in every API.
TOOL_CHOICES = ("none", "auto", "required")


def require_id(value: str, param: str, prefix: str | None = None) -> str:
    """A non-empty id of sane length; ``prefix`` is not enforced (unknown ids are NOT_FOUND later)."""
    if not value:
        raise missing(param)
    if len(value) > MAX_ID:
        raise invalid(param, f"must be at most {MAX_ID} characters.")
    return value


def check_metadata(metadata: Mapping[str, str], param: str = "metadata") -> dict[str, str]:
    """At most 16 pairs, keys up to 64 characters, values up to 512."""
    if len(metadata) > MAX_METADATA_PAIRS:
        raise invalid(
            param, f"at most {MAX_METADATA_PAIRS} key-value pairs are allowed, got {len(metadata)}."
        )
    for key, value in metadata.items():
        if not key:
            raise invalid(param, "keys must not be empty.")
        if len(key) > MAX_METADATA_KEY:
            raise invalid(param, f"key '{key[:20]}...' is longer than {MAX_METADATA_KEY} characters.")
        if len(value) > MAX_METADATA_VALUE:
            raise invalid(
                f"{param}.{shorten(key, 64)}",
                f"string too long. Expected a string with maximum length {MAX_METADATA_VALUE}, "
                f"but got a string with length {len(value)} instead.",
            )
    return dict(metadata)


def check_text(value: str | None, param: str, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise invalid(param, f"must be at most {limit} characters, got {len(value)}.")
    return value


def check_model(value: str, param: str = "model") -> str:
    if not value or not value.strip():
        raise missing(param)
    return check_text(value, param, MAX_NAME) or value


def check_range(value: float | None, param: str, low: float, high: float) -> float | None:
    if value is not None and not (low <= value <= high):
        raise invalid(param, f"must be between {low:g} and {high:g}, got {value:g}.")
    return value


def check_tools(tools: Iterable[Any], param: str = "tools") -> None:
    """Known tool types; function tools with a valid name."""
    tools = list(tools)
    if len(tools) > MAX_TOOLS:
        raise invalid(param, f"at most {MAX_TOOLS} tools are allowed, got {len(tools)}.")
    names: set[str] = set()
    for i, tool in enumerate(tools):
        if tool.type not in TOOL_TYPES:
            raise unsupported(f"{param}[{i}].type", tool.type, TOOL_TYPES)
        if tool.type == "file_search" and tool.HasField("file_search"):
            options = tool.file_search
            if options.HasField("max_num_results") and not 1 <= options.max_num_results <= 50:
                raise invalid(
                    f"{param}[{i}].file_search.max_num_results",
                    f"must be between 1 and 50, got {options.max_num_results}.",
                )
            if options.HasField("ranking_options"):
                ranking_of(options.ranking_options, f"{param}[{i}].file_search.ranking_options")
        if tool.type == "function":
            if not tool.HasField("function"):
                raise missing(f"{param}[{i}].function", "for a function tool")
            name = tool.function.name
            if not FUNCTION_NAME_RE.match(name):
                raise invalid(
                    f"{param}[{i}].function.name",
                    f"{shorten(name)} must be 1-64 characters of a-z, A-Z, 0-9, underscores and dashes.",
                )
            if name in names:
                raise invalid(f"{param}[{i}].function.name", f"duplicate function name '{name}'.")
            names.add(name)
            check_text(
                tool.function.description if tool.function.HasField("description") else None,
                f"{param}[{i}].function.description",
                MAX_FUNCTION_DESCRIPTION,
            )
            if tool.function.HasField("parameters"):
                check_json_schema(
                    value_to_py(tool.function, "parameters"), f"{param}[{i}].function.parameters"
                )


def check_response_format(value: Any, param: str = "response_format") -> Any:
    """``"auto"``, ``{"type": "text" | "json_object"}`` or ``{"type": "json_schema", ...}``."""
    if value is None or value == "auto":
        return value
    if not isinstance(value, dict):
        raise invalid(param, "must be 'auto' or an object with a 'type'.")
    kind = value.get("type")
    if kind in ("text", "json_object"):
        return value
    if kind == "json_schema":
        schema = value.get("json_schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("name"), str) or not schema["name"]:
            raise missing(f"{param}.json_schema.name", "for a json_schema response format")
        check_json(value, param)
        if "schema" in schema:
            check_json_schema(schema["schema"], f"{param}.json_schema.schema")
        return value
    raise unsupported(f"{param}.type", kind, ("text", "json_object", "json_schema"))


def check_tool_resources(message: Message, param: str = "tool_resources") -> None:
    resources: Any = message
    if len(resources.code_interpreter.file_ids) > 20:
        raise invalid(f"{param}.code_interpreter.file_ids", "at most 20 files are allowed.")
    stores = len(resources.file_search.vector_store_ids) + len(
        getattr(resources.file_search, "vector_stores", ())
    )
    if stores > 1:
        raise invalid(f"{param}.file_search", "at most 1 vector store is allowed.")
    for i, helper in enumerate(getattr(resources.file_search, "vector_stores", ())):
        if len(helper.file_ids) > 10_000:
            raise invalid(
                f"{param}.file_search.vector_stores[{i}].file_ids", "at most 10000 files are allowed."
            )


def page_params(request: Any) -> PageParams:
    """limit (1-100, default 20), order (asc/desc, default desc), after, before."""
    limit = request.limit if request.HasField("limit") else 20
    if not 1 <= limit <= 100:
        raise invalid("limit", f"must be between 1 and 100, got {limit}.")
    order = request.order if request.HasField("order") else "desc"
    if order not in ("asc", "desc"):
        raise unsupported("order", order, ("asc", "desc"))
    after = request.after if request.HasField("after") and request.after else None
    before = request.before if request.HasField("before") and request.before else None
    return PageParams(limit=limit, order=order, after=after, before=before)


def fields_to_update(request: Message, candidates: tuple[str, ...]) -> set[str]:
    """The fields an Update request changes (AIP-134).

    With an ``update_mask``, exactly its paths (each must be one of ``candidates``); without one, every
    populated candidate: a set optional scalar or message, a non-empty list or map.
    """
    req: Any = request
    if req.HasField("update_mask") and req.update_mask.paths:
        paths = set(req.update_mask.paths)
        unknown = sorted(paths - set(candidates))
        if unknown:
            raise invalid(
                "update_mask", f"unknown field {shorten(unknown[0])} (updatable: {', '.join(candidates)})."
            )
        return paths
    chosen: set[str] = set()
    for name in candidates:
        field = request.DESCRIPTOR.fields_by_name[name]
        if field.is_repeated:
            if len(getattr(request, name)):
                chosen.add(name)
        elif request.HasField(name):
            chosen.add(name)
    return chosen
