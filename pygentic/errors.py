"""The errors every operation raises, independent of the front door (gRPC or REST).

The gRPC layer turns an :class:`ApiError` into a status code with its message; the REST gateway turns it
into an HTTP status with the OpenAI error envelope.
"""

from __future__ import annotations

import enum
import secrets

# Error messages stay far below gRPC's status size limit (a few kB with headers), whatever value they echo.
MAX_ERROR_MESSAGE = 1000


class ErrorKind(enum.Enum):
    """What went wrong, named after the gRPC status code it maps to."""

    INVALID_ARGUMENT = "invalid_argument"
    NOT_FOUND = "not_found"
    FAILED_PRECONDITION = "failed_precondition"
    ALREADY_EXISTS = "already_exists"
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class ApiError(Exception):
    """An error to report to the caller: its kind, a readable message, the offending field and, for a
    limit, when to retry (if any)."""

    def __init__(
        self, kind: ErrorKind, message: str, *, param: str | None = None, retry_after: float | None = None
    ) -> None:
        if len(message) > MAX_ERROR_MESSAGE:
            message = message[: MAX_ERROR_MESSAGE - 3] + "..."
        if param is not None and len(param) > 200:
            param = param[:197] + "..."
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.param = param
        self.retry_after = retry_after  # seconds, for RESOURCE_EXHAUSTED: sent as Retry-After

    def __repr__(self) -> str:
        return f"ApiError({self.kind.name}, {self.message!r}, param={self.param!r})"


def invalid(param: str, message: str) -> ApiError:
    """An INVALID_ARGUMENT error about ``param``; the message always names the field."""
    return ApiError(ErrorKind.INVALID_ARGUMENT, f"Invalid '{param}': {message}", param=param)


def missing(param: str, condition: str = "") -> ApiError:
    """An INVALID_ARGUMENT error for a field that must be given (``condition``: when, e.g. "for a function
    tool"), in OpenAI's words."""
    when = f" ({condition})" if condition else ""
    return ApiError(ErrorKind.INVALID_ARGUMENT, f"Missing required parameter: '{param}'{when}.", param=param)


def unsupported(param: str, value: object, choices: tuple[str, ...] | list[str]) -> ApiError:
    """An INVALID_ARGUMENT error for a value outside a field's choices, in OpenAI's words: "Invalid value
    for 'p': 'x'. Supported values are: 'a', 'b' and 'c'." (an empty value is a missing parameter)."""
    if value in ("", None):
        return missing(param)
    shown = [f"'{c}'" for c in choices]
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    return ApiError(
        ErrorKind.INVALID_ARGUMENT,
        f"Invalid value for '{param}': {quoted(value)}. Supported values are: {listed}.",
        param=param,
    )


def quoted(value: object, limit: int = 80) -> str:
    """A value as an error message echoes it: a string in quotes, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'" if isinstance(value, str) else text


def not_found(kind: str, object_id: str, param: str | None = None) -> ApiError:
    """A NOT_FOUND error naming the id that matched nothing."""
    return ApiError(ErrorKind.NOT_FOUND, f"No {kind} found with id '{object_id}'.", param=param)


def precondition(message: str) -> ApiError:
    """A FAILED_PRECONDITION error: the request is valid but the object's state does not allow it."""
    return ApiError(ErrorKind.FAILED_PRECONDITION, message)


def error_reference() -> str:
    """A short id that ties an internal error's log line to what the client was told."""
    return f"err_{secrets.token_hex(6)}"


def internal_error_message(reference: str) -> str:
    """What a client is told about an unexpected failure: no exception text, a reference to the log."""
    return f"The server had an error while processing your request (reference {reference})."
