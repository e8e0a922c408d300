"""API keys on the gateway (plain ASGI, inside the Host check): ``Authorization: Bearer <key>`` names
the caller's project, and every route runs acting for it (see :mod:`pygentic.storage.tenancy`); a key
past its requests-per-minute limit gets 429 with ``Retry-After``.

On an open server (no key ever made) every caller acts for the default project. ``/healthz``, ``/docs``
with its assets, ``/openapi.json`` and ``/metrics`` need no key.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from pygentic.errors import ApiError, ErrorKind
from pygentic.gateway.middleware import header_value, send_error
from pygentic.operations.api_keys import KeyStore, serving

PUBLIC_PATHS = ("/healthz", "/docs", "/openapi.json", "/metrics")
PUBLIC_PREFIXES = ("/docs-assets/",)


class AuthMiddleware:
    """Finds the caller of every request (401 without a valid key when keys are required)."""

    def __init__(self, app: ASGIApp, *, keys: KeyStore | None) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or self.keys is None
            or path in PUBLIC_PATHS
            or path.startswith(PUBLIC_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        try:
            caller = await self.keys.caller(header_value(scope, b"authorization"))
        except ApiError as exc:
            await _refuse(send, exc)
            return
        with serving(caller):
            await self.app(scope, receive, send)


async def _refuse(send: Send, exc: ApiError) -> None:
    """401 for a missing or wrong key (OpenAI's ``invalid_api_key``), 429 with Retry-After past a limit."""
    challenge = (
        {"WWW-Authenticate": 'Bearer realm="pygentic"'} if exc.kind is ErrorKind.UNAUTHENTICATED else {}
    )
    await send_error(send, exc, challenge)
