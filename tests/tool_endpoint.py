"""A local HTTP endpoint that executes function tools, as a serverless platform would, for the tests.

Routes: ``/weather`` answers at once; ``/flaky`` answers 503 to the first ``flaky_failures`` calls of
each run; ``/slow`` answers after 5 s; ``/broken`` always 500. Each request is recorded with whether its
``X-Pygentic-Signature`` matches ``secret``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

from asgi_thread import ThreadedASGIServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


class ToolEndpoint(ThreadedASGIServer):
    """Serves in a background thread; ``url(path)`` is the address of a route."""

    def __init__(self, secret: str, flaky_failures: int = 2) -> None:
        self.secret = secret.encode()
        self.flaky_failures = flaky_failures
        self.calls: list[dict[str, Any]] = []
        names = ("weather", "flaky", "slow", "broken")
        super().__init__(
            Starlette(routes=[Route(f"/{name}", self.handle, methods=["POST"]) for name in names])
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def calls_to(self, path: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["path"] == path]

    async def handle(self, request: Request) -> Response:
        raw = await request.body()
        # Verified as an endpoint would, from the README's recipe (not with Pygentic's own helper).
        stamp = request.headers.get("x-pygentic-timestamp", "")
        expected = "v1=" + hmac.new(self.secret, stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
        path = request.url.path.strip("/")
        call = {
            "path": path,
            "body": json.loads(raw),
            "headers": dict(request.headers),
            "raw": raw,
            "signed": fresh
            and hmac.compare_digest(request.headers.get("x-pygentic-signature", ""), expected),
        }
        self.calls.append(call)
        if not call["signed"]:
            return PlainTextResponse("bad signature", status_code=401)
        arguments = json.loads(call["body"]["arguments"] or "{}")
        same_run = [c for c in self.calls_to("flaky") if c["body"]["run_id"] == call["body"]["run_id"]]
        if path == "flaky" and len(same_run) <= self.flaky_failures:
            return PlainTextResponse("try again", status_code=503)
        if path == "broken":
            return PlainTextResponse("broken", status_code=500)
        if path == "slow":
            await asyncio.sleep(5)
        return PlainTextResponse(f"{arguments.get('city', '?')}: 21C and clear")
