"""The openai-agents SDK against Pygentic through chat completions (OpenAIChatCompletionsModel on an
AsyncOpenAI client whose base_url is the gateway): an agent with a function tool, on the fake upstream
behind the real OpenAI connector and on the embedded local model. (The SDK's default model speaks the
Responses API, which Pygentic does not serve yet.)"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from agents import Agent, ModelSettings, OpenAIChatCompletionsModel, Runner, function_tool, set_tracing_disabled
from conftest import make_settings
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

from pygentic.config import LLMSettings

set_tracing_disabled(True)  # the SDK would export traces to OpenAI's servers


def _agent(server: ThreadedServer, model: str, calls: list[str], **settings: object) -> Agent:
    @function_tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        calls.append(city)
        return f"21 C and clear in {city}"

    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="not-needed", max_retries=0)
    return Agent(
        name="weather",
        instructions="Answer weather questions with get_weather.",
        tools=[get_weather],
        model=OpenAIChatCompletionsModel(model=model, openai_client=client),
        model_settings=ModelSettings(**settings),
    )


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    with ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'agents.db'}", upstream)) as running:
        yield running


def test_an_agent_calls_its_function_tool_on_the_fake_upstream(server: ThreadedServer) -> None:
    calls: list[str] = []
    result = asyncio.run(Runner.run(_agent(server, "tools", calls), "What is the weather in Paris?"))
    assert calls == ["Paris"]
    assert result.final_output == "Tool said: 21 C and clear in Paris"


def test_an_agent_streams_on_the_fake_upstream(server: ThreadedServer) -> None:
    calls: list[str] = []

    async def stream() -> tuple[str, list[str]]:
        run = Runner.run_streamed(_agent(server, "tools", calls), "What is the weather in Paris?")
        kinds = [event.type async for event in run.stream_events()]
        return str(run.final_output), kinds

    final, kinds = asyncio.run(stream())
    assert calls == ["Paris"] and final == "Tool said: 21 C and clear in Paris"
    assert "raw_response_event" in kinds and "run_item_stream_event" in kinds


@pytest.mark.slow
def test_an_agent_calls_its_function_tool_on_the_local_model(tmp_path: Path, upstream: FakeUpstream) -> None:
    settings = dataclasses.replace(
        make_settings(f"sqlite:///{tmp_path / 'local.db'}", upstream), llm_service=LLMSettings(type="local")
    )
    with ThreadedServer(settings) as server:
        calls: list[str] = []
        # tool_choice "required" makes the small model call the function (its grammar forces the call);
        # the SDK resets it after the call, so the model then answers in words. Temperature 0: the same
        # answer every time.
        agent = _agent(server, "local", calls, tool_choice="required", max_tokens=48, temperature=0.0)
        result = asyncio.run(Runner.run(agent, "What is the weather in Paris?", max_turns=4))
    assert len(calls) == 1 and calls[0].strip(), calls
    assert isinstance(result.final_output, str) and result.final_output.strip()
