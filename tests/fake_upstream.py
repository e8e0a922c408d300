"""A fake OpenAI-compatible chat-completions server, served over real HTTP for the tests.

The requested ``model`` picks the behaviour (deterministic text, tool calls, latency, faults), so tests
need no coordination with the server. Every request body is recorded in ``requests``.

Models:
  echo               "Echo: <last user text>" in word-sized chunks
  echo:DELAY         the same, DELAY seconds before every chunk
  latency:DELAY      the same, DELAY seconds before the first chunk only
  words:N:DELAY      N numbered words, DELAY seconds apart
  bulk:N:DELAY       N chunks of 16 kB of text, DELAY seconds apart
  tools              calls the first function tool with {"city": "Paris"} in fragments; after tool
                     results, answers "Tool said: <outputs of the last calls>"
  tools-quirky       the same, repeating the call's id and name in every chunk (as some local servers do)
  two-tools          two calls of the first function tool at once
  length             text, then finish_reason "length"
  legacy             like echo, but HTTP 400 for a request with max_completion_tokens (an older server
                     that only knows max_tokens)
  fail500 / fail429  HTTP 500 / 429 every time
  flaky:N:TAG        HTTP 500 for the first N requests of this model name, then like echo
  hang               never answers
  hang-mid           two chunks, then silence
  cut                two chunks, then the connection drops
  garbage            a chunk that is not JSON
  search             calls file_search with the question, then answers with the first result's text and
                     its citation marker
  code:LANGUAGE      calls code_interpreter with {"language": LANGUAGE, "code": <last user text>} in
                     fragments; after the result, answers "Output: <tool output>"
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from asgi_thread import ThreadedASGIServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class CutConnection(Exception):
    """Raised inside a streaming body to drop the connection mid-stream."""


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


def _usage(model: str, prompt: int, completion: int) -> str:
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    return f"data: {json.dumps(body)}\n\n"


def _streamed_call(model: str, call_id: str, name: str, arguments: dict[str, Any]) -> list[str]:
    """One tool call as a model streams it: id and name first, then the JSON arguments in 8-character
    fragments, then finish_reason "tool_calls"."""
    call = {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
    text = json.dumps(arguments)
    chunks = [_chunk(model, {"tool_calls": [call]})]
    for start in range(0, len(text), 8):
        fragment = {"index": 0, "function": {"arguments": text[start : start + 8]}}
        chunks.append(_chunk(model, {"tool_calls": [fragment]}))
    return [*chunks, _chunk(model, {}, "tool_calls")]


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            content = m.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


class FakeUpstream(ThreadedASGIServer):
    """The server: start() in a background thread, ``url`` is its OpenAI base URL."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # each completions request's headers
        self.client_ports: list[int] = []  # the client's port per completions request (one per connection)
        self.counters: dict[str, int] = defaultdict(int)
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        routes = [
            Route("/v1/chat/completions", self.completions, methods=["POST"]),
            Route("/v1/models", self.models),
            Route("/v1/embeddings", self.embeddings, methods=["POST"]),
        ]
        super().__init__(Starlette(routes=routes))
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def reset_stats(self) -> None:
        with self._lock:
            self.max_in_flight = self.in_flight

    def requests_for(self, model: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r.get("model") == model]

    async def models(self, request: Request) -> Response:
        model = {"id": "echo", "object": "model", "created": 0, "owned_by": "tests"}
        return JSONResponse({"object": "list", "data": [model]})

    async def embeddings(self, request: Request) -> Response:
        """Deterministic 8-dimensional vectors: letter frequencies of a-h (so similar texts are close)."""
        body = await request.json()
        self.requests.append(body)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": [text.lower().count(c) + 0.01 for c in "abcdefgh"],
            }
            for i, text in enumerate(texts)
        ]
        data.reverse()  # OpenAI does not promise order; the index does
        usage = {"prompt_tokens": 0, "total_tokens": 0}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if request.client is not None:
            self.client_ports.append(request.client.port)
        model = body.get("model", "")
        kind, _, param = model.partition(":")
        with self._lock:
            self.counters[model] += 1
            attempt = self.counters[model]
        if kind in ("fail500", "fail429"):
            status = 500 if kind == "fail500" else 429
            return JSONResponse(
                {"error": {"message": f"fake {status}", "type": "server_error", "param": None, "code": None}},
                status_code=status,
            )
        if kind == "legacy" and "max_completion_tokens" in body:
            message = "Unrecognized request argument supplied: max_completion_tokens"
            return JSONResponse(
                {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}},
                status_code=400,
            )
        if kind == "flaky" and attempt <= int(param.split(":")[0] or 1):
            return JSONResponse(
                {"error": {"message": "flaky 500", "type": "server_error", "param": None, "code": None}},
                status_code=500,
            )
        if kind == "hang":
            await asyncio.sleep(3600)
        return StreamingResponse(
            self._tracked(self._stream(kind, param, body)), media_type="text/event-stream"
        )

    async def _tracked(self, body: AsyncIterator[str]) -> AsyncIterator[str]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            async for part in body:
                yield part
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _stream(self, kind: str, param: str, body: dict[str, Any]) -> AsyncIterator[str]:
        model = body.get("model", "")
        messages = body.get("messages", [])
        tools = body.get("tools") or []
        prompt_tokens = sum(len(str(m.get("content") or "")) // 4 + 4 for m in messages)
        yield _chunk(model, {"role": "assistant", "content": ""})

        if kind == "code":
            if messages and messages[-1].get("role") == "tool":
                for piece in ["Output: ", messages[-1]["content"]]:
                    yield _chunk(model, {"content": piece})
                yield _chunk(model, {}, "stop")
            else:
                arguments = {"language": param, "code": _last_user_text(messages)}
                for chunk in _streamed_call(model, "call_code0", "code_interpreter", arguments):
                    yield chunk
            return
        if kind == "search":
            # Calls file_search with the user's question; then answers citing the first result's marker.
            if messages and messages[-1].get("role") == "tool":
                found = re.search(r"(【[^】]*】)\n(.*?)(?=\n\n【|\Z)", messages[-1]["content"], re.S)
                answer = (
                    f"Found: {' '.join(found.group(2).split())} {found.group(1)}"
                    if found
                    else "Nothing found."
                )
                for piece in answer.split(" "):
                    yield _chunk(model, {"content": piece + " "})
                yield _chunk(model, {}, "stop")
            else:
                arguments = {"query": _last_user_text(messages)}
                for chunk in _streamed_call(model, "call_search0", "file_search", arguments):
                    yield chunk
            return
        if kind in ("tools", "tools-quirky", "two-tools") and messages and messages[-1].get("role") == "tool":
            outputs = []  # the outputs of the last calls (the trailing tool messages)
            for m in reversed(messages):
                if m.get("role") != "tool":
                    break
                outputs.insert(0, m["content"])
            for piece in ["Tool ", "said: ", " | ".join(outputs)]:
                yield _chunk(model, {"content": piece})
            yield _chunk(model, {}, "stop")
            yield _usage(model, prompt_tokens, 3)
        elif kind in ("tools", "tools-quirky", "two-tools") and tools:
            name = tools[0]["function"]["name"]
            calls = 2 if kind == "two-tools" else 1
            for index in range(calls):
                call_id = f"call_fake{index}"
                yield _chunk(
                    model,
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": name, "arguments": ""},
                            }
                        ]
                    },
                )
                for fragment in ['{"city": ', f'"Paris{index or ""}"', "}"]:
                    call: dict[str, Any] = {"index": index, "function": {"arguments": fragment}}
                    if kind == "tools-quirky":
                        call.update(id=call_id, type="function")
                        call["function"]["name"] = name
                    yield _chunk(model, {"tool_calls": [call]})
            yield _chunk(model, {}, "tool_calls")
            yield _usage(model, prompt_tokens, 10)
        elif kind in ("echo", "latency", "flaky", "legacy", "tools", "tools-quirky", "two-tools"):
            delay = float(param) if kind == "echo" and param else 0.0
            if kind == "latency":
                await asyncio.sleep(float(param or 0.5))
            words = f"Echo: {_last_user_text(messages)}".split(" ")
            for i, word in enumerate(words):
                if delay:
                    await asyncio.sleep(delay)
                yield _chunk(model, {"content": word if i == 0 else " " + word})
            yield _chunk(model, {}, "stop")
            yield _usage(model, prompt_tokens, len(words))
        elif kind == "words":
            count, _, delay = param.partition(":")
            for i in range(int(count or 10)):
                await asyncio.sleep(float(delay or 0.05))
                yield _chunk(model, {"content": f"w{i} "})
            yield _chunk(model, {}, "stop")
        elif kind == "bulk":
            count, _, delay = param.partition(":")
            for i in range(int(count or 10)):
                await asyncio.sleep(float(delay or 0.05))
                yield _chunk(model, {"content": f"[{i}]" + "x" * 16_000})
            yield _chunk(model, {}, "stop")
        elif kind == "framing":
            # Lines ended by CRLF or CR (param "crlf"/"cr"), every event sent in pieces that split its
            # line ends and a multi-byte character, one event of 300 kB.
            end = {"crlf": "\r\n", "cr": "\r"}[param]
            for text in ["Fr", "amé ☃ ", "y" * 300_000, " end"]:
                event = _chunk(model, {"content": text}).replace("\n", end)
                cuts = sorted({1, len(event) - len(end) // 2 - 1, event.find("☃") + 1} - {0})
                for a, b in zip([0, *cuts], [*cuts, len(event)], strict=True):
                    yield event[a:b]
                    await asyncio.sleep(0.005)  # separate reads
            yield _chunk(model, {}, "stop").replace("\n", end)
            yield "data: [DONE]" + end + end
            return
        elif kind == "length":
            for word in ["This", " answer", " is", " cut"]:
                yield _chunk(model, {"content": word})
            yield _chunk(model, {}, "length")
        elif kind in ("hang-mid", "cut"):
            yield _chunk(model, {"content": "Partial"})
            yield _chunk(model, {"content": " answer"})
            if kind == "cut":
                raise CutConnection("dropping the connection")
            await asyncio.sleep(3600)
        elif kind == "garbage":
            yield _chunk(model, {"content": "Before"})
            yield "data: {this is not json\n\n"
            yield _chunk(model, {}, "stop")
        else:
            yield _chunk(model, {"content": f"unknown fake model {model}"})
            yield _chunk(model, {}, "stop")
        yield "data: [DONE]\n\n"
