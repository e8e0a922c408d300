"""The client's one error type: a failed call's gRPC status, its message and when to try again."""

from __future__ import annotations

import grpc
from grpc import aio


class PygenticError(Exception):
    """A call the server refused or could not answer. ``code`` is the gRPC status (NOT_FOUND,
    INVALID_ARGUMENT, FAILED_PRECONDITION, UNAUTHENTICATED, RESOURCE_EXHAUSTED, UNAVAILABLE, ...),
    ``message`` the server's explanation, ``retry_after`` the seconds a rate limit asks to wait."""

    def __init__(self, code: grpc.StatusCode, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @classmethod
    def of(cls, error: aio.AioRpcError) -> PygenticError:
        """The error a failed gRPC call ended with."""
        retry_after = None
        for key, value in error.trailing_metadata() or ():
            if key == "retry-after":
                try:
                    retry_after = float(value)
                except ValueError:
                    pass
        return cls(error.code(), error.details() or "", retry_after)
