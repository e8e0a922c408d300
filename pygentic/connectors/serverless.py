"""Function tools executed by HTTP endpoints instead of the client.

For each call the connector POSTs ``{"name", "arguments", "run_id", "thread_id", "tool_call_id"}`` as JSON
to the function's URL, signed with HMAC-SHA256 when a secret is configured: ``X-Pygentic-Timestamp: <unix
seconds>`` and ``X-Pygentic-Signature: v1=<hex HMAC of "<timestamp>." + body>``, so an endpoint that checks
the timestamp (:func:`verify`) refuses a recorded call replayed later. The response body becomes the tool
output.
5xx answers and failures to connect are retried with backoff. An endpoint silent for ``timeout`` seconds is
not retried (the call may have had effects).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import time

import httpx

from pygentic.config import ServerlessSettings, redact_url
from pygentic.connectors.base import BaseConnector

log = logging.getLogger("pygentic.connectors.serverless")
SIGNATURE_HEADER = "X-Pygentic-Signature"
TIMESTAMP_HEADER = "X-Pygentic-Timestamp"
DEFAULT_TOLERANCE_S = 300  # how old a signed call an endpoint accepts, by default (clock skew included)
MAX_OUTPUT_CHARS = 512_000


class ToolCallError(Exception):
    """The endpoint failed for good (after retries)."""


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()


def verify(
    secret: bytes,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    tolerance: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """For endpoints: whether a call's headers sign ``body`` with ``secret`` and its timestamp is within
    ``tolerance`` seconds of ``now`` (so a replayed call is refused once it is that old)."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature, sign(secret, body, int(timestamp)))


class ServerlessConnector(BaseConnector):
    """Calls function tools over HTTP. ``endpoint`` serves every function not mapped in ``functions``."""

    type = "serverless"

    def __init__(self, settings: ServerlessSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.on_error = settings.on_error
        self.client: httpx.AsyncClient | None = None
        self._secret: bytes | None = None

    def describe(self) -> str:
        endpoint = redact_url(self.settings.endpoint) if self.settings.endpoint else "(none)"
        return f"serverless endpoint={endpoint} functions={sorted(self.settings.functions)}"

    async def connect(self) -> None:
        if self.settings.secret_env:
            secret = os.environ.get(self.settings.secret_env)
            if not secret:
                raise RuntimeError(f"the signing secret ${self.settings.secret_env} is not set")
            self._secret = secret.encode()
        else:
            log.warning(
                "serverless calls go unsigned: set secret_env so endpoints can tell Pygentic's calls from "
                "anyone else's",
                extra={"connector": self.name},
            )
        self.client = httpx.AsyncClient(timeout=self.settings.timeout)

    async def disconnect(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    def url_for(self, function: str) -> str | None:
        return self.settings.functions.get(function) or self.settings.endpoint

    def handles(self, function: str) -> bool:
        return self.url_for(function) is not None

    async def call(self, function: str, arguments: str, run_id: str, thread_id: str, call_id: str) -> str:
        """The endpoint's answer for one call; :class:`ToolCallError` when it fails after the retries."""
        url = self.url_for(function)
        if url is None or self.client is None:
            raise ToolCallError(f"no endpoint for function '{function}'")
        body = json.dumps(
            {
                "name": function,
                "arguments": arguments,
                "run_id": run_id,
                "thread_id": thread_id,
                "tool_call_id": call_id,
            }
        ).encode()
        attempts = self.settings.max_retries + 1
        reason = ""
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(min(0.25 * 2 ** (attempt - 1), 4.0))
            headers = {"Content-Type": "application/json"}
            if self._secret is not None:  # signed per attempt: a retry carries its own time
                stamp = int(time.time())
                headers[TIMESTAMP_HEADER] = str(stamp)
                headers[SIGNATURE_HEADER] = sign(self._secret, body, stamp)
            try:
                response = await self.client.post(url, content=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                reason = f"cannot connect: {exc}"
                continue
            except httpx.TimeoutException as exc:
                raise ToolCallError(f"no answer within {self.settings.timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise ToolCallError(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code >= 500:
                reason = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise ToolCallError(f"HTTP {response.status_code}: {response.text[:500]}")
            log.info(
                "serverless call", extra={"function": function, "run_id": run_id, "attempts": attempt + 1}
            )
            return response.text[:MAX_OUTPUT_CHARS]
        raise ToolCallError(f"{reason} after {attempts} attempt(s)")
