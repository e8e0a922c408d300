"""What reaches the model: image parts, earlier runs' tool calls, token limits, options, and the usage
that comes back, as the fake upstream records every request it receives."""

from __future__ import annotations

import base64
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Stubs, connect, make_settings, running, sdk_client, with_files
from fake_upstream import FakeUpstream
from google.protobuf import struct_pb2
from runhelpers import (
    assistant_and_thread,
    collect,
    delta_text,
    names,
    wait_for_status,
    weather_tool,
)
from test_connectors import plugin_dir, settings_with

from pygentic.config import FilesSettings, LLMSettings, Settings
from pygentic.proto.v1 import assistants_pb2, messages_pb2
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import runs_pb2 as pb

# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


def sent_since(upstream: FakeUpstream, start: int, model: str) -> list[dict[str, Any]]:
    """The chat requests for ``model`` the upstream received after the first ``start`` requests."""
    return [r for r in upstream.requests[start:] if r.get("model") == model]


@dataclasses.dataclass
class ImageRun:
    """A run on a thread whose last message has an image URL and an uploaded image file."""

    file_id: str
    run: Any
    requests: list[dict[str, Any]]  # what the upstream received for the run


def run_with_image(
    settings: Settings,
    upstream: FakeUpstream,
    file: tuple[str, bytes, str] = ("dot.png", PNG, "image/png"),
    delete_first: bool = False,
) -> ImageRun:
    """Upload ``file`` through the SDK, send it in a message after the PNG as an image URL (a data: URL)
    and run the thread."""
    with sdk_client(settings) as client:
        uploaded = client.files.create(file=file, purpose="vision")
        assistant = client.beta.assistants.create(model="echo")
        thread = client.beta.threads.create()
        client.beta.threads.messages.create(
            thread_id=thread.id,
            role="user",
            content=[
                {"type": "text", "text": "What is in these pictures?"},
                {"type": "image_url", "image_url": {"url": DATA_URL, "detail": "low"}},
                {"type": "image_file", "image_file": {"file_id": uploaded.id, "detail": "high"}},
            ],
        )
        if delete_first:
            client.files.delete(uploaded.id)
        start = len(upstream.requests)
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    return ImageRun(uploaded.id, run, sent_since(upstream, start, "echo"))


def test_image_parts_reach_the_upstream_as_image_parts(
    settings: Settings, upstream: FakeUpstream, tmp_path: Path
) -> None:
    sent = run_with_image(with_files(settings, tmp_path / "files"), upstream)
    assert sent.run.status == "completed", sent.run.last_error
    (request,) = sent.requests
    assert request["messages"][-1] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in these pictures?"},
            {"type": "image_url", "image_url": {"url": DATA_URL, "detail": "low"}},
            {"type": "image_url", "image_url": {"url": DATA_URL, "detail": "high"}},
        ],
    }


def test_image_files_go_as_urls_of_the_gateway_when_configured(
    settings: Settings, upstream: FakeUpstream, tmp_path: Path
) -> None:
    files = FilesSettings(dir=str(tmp_path / "files"), image_base_url="https://pygentic.internal/v1")
    sent = run_with_image(dataclasses.replace(settings, files=files), upstream)
    assert sent.run.status == "completed", sent.run.last_error
    (request,) = sent.requests
    assert request["messages"][-1]["content"][2] == {
        "type": "image_url",
        "image_url": {"url": f"https://pygentic.internal/v1/files/{sent.file_id}/content", "detail": "high"},
    }


def test_an_image_file_that_is_no_image_fails_the_run_with_invalid_prompt(
    settings: Settings, upstream: FakeUpstream, tmp_path: Path
) -> None:
    notes = ("notes.txt", b"just words", "text/plain")
    sent = run_with_image(with_files(settings, tmp_path / "files"), upstream, notes)
    error = sent.run.last_error
    assert sent.run.status == "failed" and error is not None and error.code == "invalid_prompt"
    assert sent.file_id in error.message and "not a PNG, JPEG, GIF or WEBP image" in error.message
    assert sent.requests == []


def test_a_deleted_image_file_reads_as_a_note(
    settings: Settings, upstream: FakeUpstream, tmp_path: Path
) -> None:
    sent = run_with_image(with_files(settings, tmp_path / "files"), upstream, delete_first=True)
    assert sent.run.status == "completed", sent.run.last_error
    (request,) = sent.requests
    assert request["messages"][-1]["content"][2] == {
        "type": "text",
        "text": f"[image {sent.file_id} is no longer available]",
    }


async def test_a_connector_without_vision_fails_image_runs_with_invalid_prompt(
    database_url: str, upstream: FakeUpstream
) -> None:
    settings = make_settings(database_url, upstream, vision=False)
    async with running(settings) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "echo")
        await stubs.messages.CreateMessage(
            messages_pb2.CreateMessageRequest(
                thread_id=thread.id,
                role="user",
                content=_parts([{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]),
            )
        )
        start = len(upstream.requests)
        run = await stubs.runs.CreateRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        run = await wait_for_status(stubs, thread.id, run.id)
        assert run.status == "failed" and run.last_error.code == "invalid_prompt"
        assert "does not accept images" in run.last_error.message
        assert sent_since(upstream, start, "echo") == []
        # Text alone still works on that connector.
        text_only, thread2 = await assistant_and_thread(stubs, "echo", "words only")
        run = await stubs.runs.CreateRun(pb.CreateRunRequest(thread_id=thread2.id, assistant_id=text_only.id))
        assert (await wait_for_status(stubs, thread2.id, run.id)).status == "completed"


def _parts(parts: list[dict[str, Any]]) -> struct_pb2.Value:
    value = struct_pb2.Value()
    value.list_value.extend(parts)
    return value


RECORDER = """
from pygentic.connectors import BaseConnector

PROMPTS = []

class Recorder(BaseConnector):
    async def generate_text(self, prompt: str) -> str:
        PROMPTS.append(prompt)
        return "recorded"
"""


def _recorder_settings(tmp_path: Path, settings: Settings) -> Settings:
    directory = plugin_dir(tmp_path, recorder=RECORDER)
    return settings_with(
        settings,
        f'''
plugin_dir = "{directory}"
[connectors.recorder]
class = "recorder:Recorder"
models = ["recorded-*"]
''',
    )


def recorded_prompts(app: Any) -> list[str]:
    """The prompts the recorder plugin of ``app`` received."""
    return sys.modules[type(app.connectors.plugins["recorder"]).__module__].PROMPTS  # type: ignore[no-any-return]


async def _weather_run_answered(stubs: Stubs, output: str) -> tuple[res.Assistant, res.Thread]:
    """A thread whose first run called get_weather, got ``output`` and answered."""
    assistant, thread = await assistant_and_thread(
        stubs, "tools", "Weather in Paris?", tools=[weather_tool()]
    )
    run = await stubs.runs.CreateRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
    waiting = await wait_for_status(stubs, thread.id, run.id, ["requires_action"])
    (call,) = waiting.required_action.submit_tool_outputs.tool_calls
    await stubs.runs.SubmitToolOutputs(
        pb.SubmitToolOutputsRequest(
            thread_id=thread.id,
            run_id=run.id,
            tool_outputs=[pb.ToolOutput(tool_call_id=call.id, output=output)],
        )
    )
    assert (await wait_for_status(stubs, thread.id, run.id)).status == "completed"
    await stubs.messages.CreateMessage(
        messages_pb2.CreateMessageRequest(
            thread_id=thread.id, role="user", content=struct_pb2.Value(string_value="And tomorrow?")
        )
    )
    return assistant, thread


WEATHER_CALL = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {
            "id": "call_fake0",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ],
}


async def test_later_runs_see_earlier_tool_calls_and_outputs(
    settings: Settings, upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with running(_recorder_settings(tmp_path, settings)) as app, connect(app) as stubs:
        assistant, thread = await _weather_run_answered(stubs, "22C sunny")
        start = len(upstream.requests)
        run = await stubs.runs.CreateRun(
            pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id, model="echo")
        )
        assert (await wait_for_status(stubs, thread.id, run.id)).status == "completed"
        (request,) = sent_since(upstream, start, "echo")
        assert request["messages"] == [
            {"role": "user", "content": "Weather in Paris?"},
            WEATHER_CALL,
            {"role": "tool", "tool_call_id": "call_fake0", "content": "22C sunny"},
            {"role": "assistant", "content": "Tool said: 22C sunny"},
            {"role": "user", "content": "And tomorrow?"},
        ]
        # The plugin generate_text path reads the same history, flattened.
        run = await stubs.runs.CreateRun(
            pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id, model="recorded-1")
        )
        assert (await wait_for_status(stubs, thread.id, run.id)).status == "completed"
        prompts = recorded_prompts(app)
        assert prompts[-1].endswith(
            "\nUser: Weather in Paris?\n"
            'Assistant: \n[called get_weather({"city": "Paris"})]\n'
            "Tool result (call_fake0): 22C sunny\n"
            "Assistant: Tool said: 22C sunny\n"
            "User: And tomorrow?\n"
            "Assistant: Echo: And tomorrow?\n"
            "Assistant:"
        )


async def test_truncation_keeps_tool_calls_with_their_outputs(stubs: Stubs, upstream: FakeUpstream) -> None:
    assistant, thread = await _weather_run_answered(stubs, "rain")
    for keep, expected in [
        (
            2,
            [
                WEATHER_CALL,
                {"role": "tool", "tool_call_id": "call_fake0", "content": "rain"},
                {"role": "assistant", "content": "Tool said: rain"},
                {"role": "user", "content": "And tomorrow?"},
            ],
        ),
        (1, [{"role": "user", "content": "And tomorrow?"}]),
    ]:
        start = len(upstream.requests)
        run = await stubs.runs.CreateRun(
            pb.CreateRunRequest(
                thread_id=thread.id,
                assistant_id=assistant.id,
                model="echo",
                truncation_strategy=res.TruncationStrategy(type="last_messages", last_messages=keep),
            )
        )
        assert (await wait_for_status(stubs, thread.id, run.id)).status == "completed"
        (request,) = sent_since(upstream, start, "echo")
        assert request["messages"] == expected, keep
        await stubs.messages.CreateMessage(
            messages_pb2.CreateMessageRequest(
                thread_id=thread.id, role="user", content=struct_pb2.Value(string_value="And tomorrow?")
            )
        )


async def test_the_token_cap_falls_back_to_max_tokens_once_per_connector(
    settings: Settings, upstream: FakeUpstream
) -> None:
    legacy = LLMSettings(
        name="legacy", type="openai", base_url=upstream.url, timeout=5, max_retries=0, models=("legacy*",)
    )
    pinned = dataclasses.replace(legacy, name="pinned", models=("pinned*",), token_limit="max_tokens")
    async with running(dataclasses.replace(settings, llms=(legacy, pinned))) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "legacy", "first")
        start = len(upstream.requests)
        for _ in range(2):
            run = await stubs.runs.CreateRun(
                pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=20)
            )
            run = await wait_for_status(stubs, thread.id, run.id)
            assert run.status == "completed", run.last_error
        sent = sent_since(upstream, start, "legacy")
        # The first request was refused for max_completion_tokens; from then on only max_tokens.
        assert [("max_completion_tokens" in r, r.get("max_tokens")) for r in sent] == [
            (True, None),
            (False, 20),
            (False, 20),
        ]
        assert app.connectors.router.by_name["legacy"].token_param == "max_tokens"

        # A connector told to use max_tokens never sends the newer name; the default one sends only it.
        for model in ("pinned-1", "echo"):
            start = len(upstream.requests)
            run = await stubs.runs.CreateRun(
                pb.CreateRunRequest(
                    thread_id=thread.id, assistant_id=assistant.id, model=model, max_completion_tokens=30
                )
            )
            assert (await wait_for_status(stubs, thread.id, run.id)).status == "completed"
            (request,) = sent_since(upstream, start, model)
            expected = "max_tokens" if model == "pinned-1" else "max_completion_tokens"
            assert request[expected] == 30 and {"max_tokens", "max_completion_tokens"} - {expected} - set(
                request
            )


async def test_reasoning_effort_and_response_formats_reach_the_upstream(
    stubs: Stubs, upstream: FakeUpstream
) -> None:
    json_object = struct_pb2.Value()
    json_object.struct_value.update({"type": "json_object"})
    assistant = await stubs.assistants.CreateAssistant(
        assistants_pb2.CreateAssistantRequest(
            model="echo", reasoning_effort="low", response_format=json_object
        )
    )
    _, thread = await assistant_and_thread(stubs, "echo", "Reply in JSON")
    start = len(upstream.requests)
    run = await stubs.runs.CreateRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
    assert (await wait_for_status(stubs, thread.id, run.id)).status == "completed"
    run = await stubs.runs.CreateRun(
        pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id, reasoning_effort="high")
    )
    assert (await wait_for_status(stubs, thread.id, run.id)).status == "completed"
    first, second = sent_since(upstream, start, "echo")
    assert first["reasoning_effort"] == "low" and first["response_format"] == {"type": "json_object"}
    assert second["reasoning_effort"] == "high" and second["response_format"] == {"type": "json_object"}
    plain, thread2 = await assistant_and_thread(stubs, "echo", "no options")
    start = len(upstream.requests)
    run = await stubs.runs.CreateRun(pb.CreateRunRequest(thread_id=thread2.id, assistant_id=plain.id))
    assert (await wait_for_status(stubs, thread2.id, run.id)).status == "completed"
    (request,) = sent_since(upstream, start, "echo")
    assert "reasoning_effort" not in request and "response_format" not in request


async def test_run_steps_carry_the_usage_of_their_turn(stubs: Stubs) -> None:
    assistant, thread = await assistant_and_thread(
        stubs, "tools", "Weather in Paris?", tools=[weather_tool()]
    )
    events = await collect(
        stubs.runs.StreamRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
    )
    created = next(e.run_step for e in events if e.event == "thread.run.step.created")
    assert not created.HasField("usage")  # null while in progress
    run = events[-2].run
    more = await collect(
        stubs.runs.StreamSubmitToolOutputs(
            pb.SubmitToolOutputsRequest(
                thread_id=thread.id,
                run_id=run.id,
                tool_outputs=[pb.ToolOutput(tool_call_id="call_fake0", output="sunny")],
            )
        )
    )
    completed = [e.run_step for e in more if e.event == "thread.run.step.completed"]
    assert len(completed) == 2 and all(s.HasField("usage") for s in completed)
    final = more[-2].run
    assert final.status == "completed"
    steps = (await stubs.runs.ListRunSteps(pb.ListRunStepsRequest(thread_id=thread.id, run_id=run.id))).data
    by_type = {s.type: s.usage for s in steps}
    # The fake upstream reports 10 completion tokens for the call and 3 for the answer.
    assert (
        by_type["tool_calls"].completion_tokens == 10 and by_type["message_creation"].completion_tokens == 3
    )
    for usage in by_type.values():
        assert usage.prompt_tokens > 0 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    for field in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert sum(getattr(u, field) for u in by_type.values()) == getattr(final.usage, field)


def test_step_usage_through_the_sdk(settings: Settings) -> None:
    with sdk_client(settings) as client:
        assistant = client.beta.assistants.create(model="echo")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "count me"}])
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        (step,) = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert step.usage is not None and run.usage is not None
    assert step.usage.model_dump() == run.usage.model_dump()
    assert step.usage.completion_tokens == 3  # "Echo: count me" in three chunks


async def test_images_dropped_by_a_text_only_connector_are_logged(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(_recorder_settings(tmp_path, settings)) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "recorded-2", "Look:")
        await stubs.messages.CreateMessage(
            messages_pb2.CreateMessageRequest(
                thread_id=thread.id,
                role="user",
                content=_parts(
                    [
                        {"type": "text", "text": "what is this?"},
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    ]
                ),
            )
        )
        with caplog.at_level(logging.WARNING, logger="pygentic.runs"):
            events = await collect(
                stubs.runs.StreamRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
            )
        assert names(events)[-2] == "thread.run.completed" and delta_text(events) == "recorded"
        prompts = recorded_prompts(app)
        assert prompts[-1].splitlines()[-2:] == ["User: what is this?", "Assistant:"]
        assert "example.com" not in prompts[-1]
    dropped = [r for r in caplog.records if r.getMessage().startswith("images dropped")]
    assert dropped and getattr(dropped[0], "images", None) == 1
