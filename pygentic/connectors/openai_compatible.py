"""``type = "openai"``: OpenAI and any OpenAI-compatible chat-completions server (vLLM, Ollama,
llama.cpp's server, LM Studio). Chat completions stream through aiohttp and a lean SSE reader
(:mod:`pygentic.connectors.chat_stream`); the health check uses the ``openai`` SDK's async client."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai

from pygentic.config import LLMSettings, redact_url
from pygentic.connectors import chat_stream
from pygentic.connectors.llm import ChatChunk, ChatRequest, LLMConnector, LLMError, ToolCallDelta
from pygentic.telemetry import CLIENT, inject, tracer

log = logging.getLogger("pygentic.connectors.openai")
DEFAULT_CONCURRENCY = 256  # OpenAI, vLLM and the like take hundreds of streams at once


class OpenAICompatibleConnector(LLMConnector):
    """Streams chat completions from an OpenAI-compatible HTTP server.

    ``base_url`` and the key default to ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` as the SDK does.
    429/5xx answers and refused connections are retried with backoff before the stream starts
    (``max_retries``); ``timeout`` bounds the wait for the answer to start (retries included) and then
    the wait between chunks.
    """

    type = "openai"

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.max_concurrency = settings.max_concurrency or DEFAULT_CONCURRENCY
        self.image_input = "send" if settings.vision else "reject"
        # How the token cap is named upstream; "auto" starts with the current name and learns, once,
        # whether the server only knows the old one.
        self.token_param = "max_completion_tokens" if settings.token_limit == "auto" else settings.token_limit
        self.client: openai.AsyncOpenAI | None = None
        self.http: aiohttp.ClientSession | None = None

    def initialize(self, config: dict[str, Any]) -> None:
        self.config = config

    async def connect(self) -> None:
        self.client = openai_client(
            self.settings.base_url,
            self.settings.api_key_env,
            self.settings.max_retries,
            self.settings.timeout,
        )
        self.http = chat_stream.new_session(self.settings.timeout, max(1000, self.max_concurrency))
        self._url = f"{str(self.client.base_url).rstrip('/')}/chat/completions"
        self._proxy = chat_stream.env_proxy(self._url)
        self._headers = {
            "Authorization": f"Bearer {self.client.api_key}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
        }

    async def disconnect(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None
        if self.http is not None:
            await self.http.close()
            self.http = None

    async def check(self) -> None:
        """The server answers ``GET /models``."""
        if self.client is None:
            raise LLMError("not connected")
        try:
            await asyncio.wait_for(
                self.client.with_options(max_retries=0).models.list(), min(10.0, self.settings.timeout)
            )
        except (openai.APIError, TimeoutError) as exc:
            raise LLMError(f"GET /models failed: {type(exc).__name__}: {exc}") from exc

    async def list_models(self) -> list[str]:
        """The upstream's ``GET /models``."""
        if self.client is None:
            raise LLMError("not connected")
        try:
            async with asyncio.timeout(min(10.0, self.settings.timeout)):
                page = await self.client.with_options(max_retries=0).models.list()
        except (openai.APIError, TimeoutError) as exc:
            raise LLMError(f"GET /models failed: {type(exc).__name__}: {exc}") from exc
        return [model.id for model in page.data]

    def describe(self) -> str:
        base = self.settings.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        return f"openai base_url={redact_url(base)}"

    def _arguments(self, request: ChatRequest) -> dict[str, Any]:
        messages = []
        for m in request.messages:
            m = dict(m)
            # Some local servers reject a null assistant content next to tool calls.
            if m.get("role") == "assistant" and m.get("content") is None:
                m["content"] = ""
            messages.append(m)
        args: dict[str, Any] = {
            "model": request.model or self.settings.model or "gpt-4o-mini",
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:
            args["tools"] = request.tools
            if request.tool_choice is not None:
                args["tool_choice"] = request.tool_choice
            if request.parallel_tool_calls is not None:
                args["parallel_tool_calls"] = request.parallel_tool_calls
        for name in ("temperature", "top_p", "response_format", "reasoning_effort"):
            value = getattr(request, name)
            if value is not None:
                args[name] = value
        if request.max_completion_tokens is not None:
            args[self.token_param] = request.max_completion_tokens
        return args

    def _learn_token_param(self, args: dict[str, Any], error: chat_stream.UpstreamStatusError) -> bool:
        """Whether a 400 says the server does not know ``max_completion_tokens`` (an older server); then
        the connector sends ``max_tokens`` from now on, and the request is worth one more try."""
        if (
            error.status != 400
            or self.settings.token_limit != "auto"
            or self.token_param != "max_completion_tokens"
            or "max_completion_tokens" not in args
            or "max_completion_tokens" not in error.detail
        ):
            return False
        self.token_param = "max_tokens"
        args["max_tokens"] = args.pop("max_completion_tokens")
        log.warning(
            "upstream does not take max_completion_tokens; sending max_tokens from now on",
            extra={"connector": self.name},
        )
        return True

    async def _open(self, request: ChatRequest) -> aiohttp.ClientResponse:
        assert self.http is not None
        args = self._arguments(request)
        headers = inject(dict(self._headers))  # the model call's span continues upstream (traceparent)
        for attempt in range(2):
            try:
                return await chat_stream.open_stream(
                    self.http,
                    self._url,
                    args,
                    headers,
                    self.settings.max_retries,
                    self.settings.timeout,
                    self._proxy,
                )
            except chat_stream.UpstreamStatusError as exc:
                if attempt or not self._learn_token_param(args, exc):
                    raise
        raise AssertionError("unreachable")

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        attributes = {"gen_ai.system": "openai", "gen_ai.request.model": request.model}
        with tracer().start_as_current_span(f"chat {request.model}", kind=CLIENT, attributes=attributes):
            async for chunk in self._stream_chat(request):
                yield chunk

    async def _stream_chat(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        if self.http is None:
            await self.connect()
        assert self.http is not None
        timeout = self.settings.timeout
        try:
            response = await self._open(request)  # within `timeout`, retries included
        except chat_stream.UpstreamStatusError as exc:
            message = f"upstream returned HTTP {exc.status}: {exc.detail}"[:1000]
            raise LLMError(message, _code_for(exc.status)) from exc
        except chat_stream.UpstreamUnreachable as exc:
            raise LLMError(
                f"upstream {self.name} unreachable or silent: {exc or type(exc).__name__}"
            ) from exc
        finished = False
        try:
            iterator = chat_stream.chunks(response).__aiter__()
            while True:
                try:
                    async with asyncio.timeout(timeout):
                        chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                out = _convert(chunk)
                if out.finish_reason:
                    finished = True
                if out.text or out.tool_calls or out.finish_reason or out.prompt_tokens is not None:
                    yield out
        except TimeoutError as exc:  # aiohttp's read timeout too
            raise LLMError(f"upstream {self.name} sent nothing for {timeout:g} s") from exc
        except chat_stream.UpstreamStreamError as exc:
            raise LLMError(f"upstream {self.name} stream failed: {exc}") from exc
        except (
            aiohttp.ClientError,
            json.JSONDecodeError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
        ) as exc:
            raise LLMError(f"upstream {self.name} sent a broken stream: {type(exc).__name__}: {exc}") from exc
        finally:
            response.release()
        if not finished:
            raise LLMError(f"upstream {self.name} stream ended before a finish reason (cut stream)")


def openai_client(
    base_url: str | None, api_key_env: str, max_retries: int, timeout: float
) -> openai.AsyncOpenAI:
    """The SDK's async client for an OpenAI-compatible server: the key from ``api_key_env`` (or a
    placeholder for servers that take none), ``base_url`` else ``$OPENAI_BASE_URL``, ``timeout`` for the
    first byte and between chunks (10 s at most to connect)."""
    return openai.AsyncOpenAI(
        api_key=os.environ.get(api_key_env) or "no-key",
        base_url=base_url or os.environ.get("OPENAI_BASE_URL") or None,
        max_retries=max_retries,
        timeout=openai.Timeout(timeout, connect=min(10.0, timeout)),
    )


def _code_for(status: int) -> str:
    """The run's ``last_error.code`` for an upstream error status: a 400 refuses this prompt (images for
    a model without vision, an option it does not take)."""
    if status == 429:
        return "rate_limit_exceeded"
    return "invalid_prompt" if status == 400 else "server_error"


def _convert(chunk: dict[str, Any]) -> ChatChunk:
    """One chat.completion.chunk (JSON) as the engine's chunk."""
    out = ChatChunk()
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        out.prompt_tokens = usage.get("prompt_tokens")
        out.completion_tokens = usage.get("completion_tokens")
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta")
        if isinstance(delta, dict):
            content = delta.get("content")
            if isinstance(content, str) and content:
                out.text += content
            for call in delta.get("tool_calls") or []:
                function = call.get("function") or {}
                index = call.get("index")
                out.tool_calls.append(
                    ToolCallDelta(
                        index=index if isinstance(index, int) else 0,
                        id=call.get("id") or None,
                        name=function.get("name") or None,
                        arguments=function.get("arguments") or "",
                    )
                )
        if choice.get("finish_reason"):
            out.finish_reason = choice["finish_reason"]
    return out
