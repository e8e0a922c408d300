"""Built-in tools through the Responses API: file_search over vector stores and code_interpreter run
server-side by the same tools the Assistants runs use, shown as file_search_call / code_interpreter_call
items (results and outputs only when included, as at OpenAI), whole and streamed through the SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from conftest import sdk_of
from fake_upstream import FakeUpstream
from test_code_interpreter_runs import interpreter_settings
from threaded_server import ThreadedServer

FAQ = b"# Account help\n\nTo reset your password, open Settings and choose Security, then Reset password."


@pytest.fixture
def sdk(tmp_path: Path, upstream: FakeUpstream) -> Iterator[openai.OpenAI]:
    settings = interpreter_settings(f"sqlite:///{tmp_path / 'tools.db'}", upstream, tmp_path)
    with ThreadedServer(settings) as server, sdk_of(server) as client:
        yield client


def _store(sdk: openai.OpenAI) -> str:
    store = sdk.vector_stores.create(name="help")
    sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("faq.md", FAQ), poll_interval_ms=50
    )
    return store.id


def test_file_search_finds_and_answers(sdk: openai.OpenAI) -> None:
    store_id = _store(sdk)
    tools = [{"type": "file_search", "vector_store_ids": [store_id], "max_num_results": 3}]
    plain = sdk.responses.create(model="search", input="How do I reset my password?", tools=tools)  # type: ignore[arg-type]
    search, answer = plain.output
    assert search.type == "file_search_call" and search.status == "completed"
    assert search.queries == ["How do I reset my password?"] and not search.results
    assert answer.type == "message" and "Reset password" in plain.output_text
    # The citation marker the model wrote is an annotation at its place, not text.
    (citation,) = answer.content[0].annotations  # type: ignore[union-attr]
    assert (citation.type, citation.filename) == ("file_citation", "faq.md")  # type: ignore[union-attr]
    assert "【" not in plain.output_text
    assert plain.output_text[: citation.index] == plain.output_text.rstrip() + " "  # type: ignore[union-attr]
    included = sdk.responses.create(
        model="search",
        input="How do I reset my password?",
        tools=tools,  # type: ignore[arg-type]
        include=["file_search_call.results"],
    )
    (hit, *_) = included.output[0].results  # type: ignore[union-attr]
    assert hit.filename == "faq.md" and "Reset password" in (hit.text or "") and hit.score
    assert sdk.responses.retrieve(plain.id, include=["file_search_call.results"]).output[0].results  # type: ignore[union-attr]
    with sdk.responses.stream(model="search", input="How do I reset my password?", tools=tools) as stream:  # type: ignore[arg-type]
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[2:5] == [
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
    ]
    assert "response.file_search_call.completed" in kinds
    assert [o.type for o in final.output] == ["file_search_call", "message"]
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(
            model="search", input="x", tools=[{"type": "file_search", "vector_store_ids": ["vs_missing"]}]
        )


def test_code_interpreter_runs_the_code(sdk: openai.OpenAI) -> None:
    tools = [{"type": "code_interpreter", "container": {"type": "auto"}}]
    made = sdk.responses.create(
        model="code:python",
        input="print(6 * 7)",
        tools=tools,  # type: ignore[arg-type]
        include=["code_interpreter_call.outputs"],
    )
    call, answer = made.output
    assert call.type == "code_interpreter_call" and call.code == "print(6 * 7)"  # type: ignore[union-attr]
    assert call.container_id.startswith("cntr_")  # type: ignore[union-attr]
    assert [(o.type, o.logs) for o in call.outputs or []] == [("logs", "42\n")]  # type: ignore[union-attr]
    assert answer.type == "message" and made.output_text.startswith("Output: ") and "42" in made.output_text
    with sdk.responses.stream(model="code:python", input="print(6 * 7)", tools=tools) as stream:  # type: ignore[arg-type]
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    code = "".join(e.delta for e in events if e.type == "response.code_interpreter_call_code.delta")  # type: ignore[union-attr]
    assert code == "print(6 * 7)"
    for kind in (
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
    ):
        assert kind in kinds
    assert [o.type for o in final.output] == ["code_interpreter_call", "message"]
