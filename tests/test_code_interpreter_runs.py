"""The code_interpreter tool in runs, driven by the openai SDK through the gateway: a fake upstream calls
the tool with the user's text as the program; the program runs in the real sandbox (bubblewrap)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from conftest import connect, make_settings, running, sdk_of, with_files
from fake_upstream import FakeUpstream
from google.protobuf import struct_pb2
from runhelpers import collect
from threaded_server import ThreadedServer
from typing_extensions import override

from pygentic.config import InterpreterSettings, LanguageSettings, Settings
from pygentic.proto.v1 import assistants_pb2, runs_pb2, threads_pb2
from pygentic.proto.v1 import resources_pb2 as res

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def with_interpreter(settings: Settings, tmp_path: Path, **options: Any) -> Settings:
    """``settings`` whose interpreter keeps work directories under ``tmp_path`` and uses the repository's
    managed Python environment (``make install`` creates it)."""
    interpreter = InterpreterSettings(
        dir=str(tmp_path / "interpreter"), python_env=str(REPO / ".interpreter-env"), **options
    )
    return dataclasses.replace(settings, interpreter=interpreter)


def interpreter_settings(
    database_url: str, upstream: FakeUpstream, tmp_path: Path, **options: Any
) -> Settings:
    settings = with_files(make_settings(database_url, upstream), tmp_path / "blobs")
    return with_interpreter(settings, tmp_path, **options)


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    settings = interpreter_settings(f"sqlite:///{tmp_path / 'ci.db'}", upstream, tmp_path)
    with ThreadedServer(settings) as threaded:
        yield threaded


@pytest.fixture
def client(server: ThreadedServer) -> Iterator[openai.OpenAI]:
    with sdk_of(server) as sdk:
        yield sdk


def run_code(
    client: openai.OpenAI, code: str, language: str = "python", thread_id: str | None = None, **message: Any
) -> tuple[Any, Any, Any]:
    """Run ``code`` through a run of the fake ``code:LANGUAGE`` model; (run, the code_interpreter call,
    the final message)."""
    assistant = client.beta.assistants.create(model=f"code:{language}", tools=[{"type": "code_interpreter"}])
    if thread_id is None:
        thread_id = client.beta.threads.create().id
    client.beta.threads.messages.create(thread_id=thread_id, role="user", content=code, **message)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=assistant.id, poll_interval_ms=50
    )
    steps = list(client.beta.threads.runs.steps.list(run.id, thread_id=thread_id, order="asc"))
    calls = [c for s in steps if s.type == "tool_calls" for c in s.step_details.tool_calls]  # type: ignore[union-attr]
    messages = client.beta.threads.messages.list(thread_id=thread_id, order="desc", limit=1).data
    return run, calls[0] if calls else None, messages[0]


def stream_code(
    client: openai.OpenAI, code: str, handler: openai.AssistantEventHandler, language: str = "python"
) -> tuple[Any, list[Any], list[Any]]:
    """Stream a run of ``code`` in a new thread through the SDK's stream helper; (run, steps, messages)."""
    assistant = client.beta.assistants.create(model=f"code:{language}", tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": code}])
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
    ) as stream:
        stream.until_done()
        return stream.get_final_run(), stream.get_final_run_steps(), stream.get_final_messages()


def logs_of(call: Any) -> str:
    return "".join(o.logs for o in call.code_interpreter.outputs if o.type == "logs")


def test_streamed_python_run_through_the_stream_helper(client: openai.OpenAI) -> None:
    code = "total = sum(range(1, 11))\nprint('total is', total)"
    created: list[str] = []
    inputs: list[str] = []
    outputs: list[str] = []

    class Handler(openai.AssistantEventHandler):
        @override
        def on_tool_call_created(self, tool_call: Any) -> None:
            created.append(tool_call.type)

        @override
        def on_tool_call_delta(self, delta: Any, snapshot: Any) -> None:
            if delta.type == "code_interpreter" and delta.code_interpreter:
                if delta.code_interpreter.input:
                    inputs.append(delta.code_interpreter.input)
                for output in delta.code_interpreter.outputs or []:
                    if output.type == "logs":
                        outputs.append(output.logs)

    run, steps, messages = stream_code(client, code, Handler())
    assert run.status == "completed"
    assert created == ["code_interpreter"]
    assert len(inputs) > 1 and "".join(inputs) == code  # the input streams as the model writes it
    assert outputs == ["total is 55\n"]
    (call,) = [c for s in steps if s.type == "tool_calls" for c in s.step_details.tool_calls]  # type: ignore[union-attr]
    assert call.type == "code_interpreter" and call.code_interpreter.input == code
    assert logs_of(call) == "total is 55\n"
    answer = messages[-1].content[0].text.value  # type: ignore[union-attr]
    assert answer.startswith("Output: total is 55") and "[exit status 0]" in answer


@pytest.mark.parametrize(
    ("language", "code", "expected"),
    [
        ("javascript", "const xs = [3, 4, 5];\nconsole.log(xs.map((x) => x * x).join(','));", "9,16,25\n"),
        ("shell", 'for i in 1 2 3; do echo "line $i"; done | tac', "line 3\nline 2\nline 1\n"),
        (
            "python",
            "import sys\nprint('to stderr', file=sys.stderr)\nprint('to stdout')",
            "to stderr\nto stdout\n",
        ),
    ],
)
def test_languages_produce_their_logs(client: openai.OpenAI, language: str, code: str, expected: str) -> None:
    """In the streamed deltas (the SDK's stream helper) and in the stored run steps."""
    streamed: list[str] = []

    class Handler(openai.AssistantEventHandler):
        @override
        def on_tool_call_delta(self, delta: Any, snapshot: Any) -> None:
            streamed.extend(o.logs for o in (delta.code_interpreter.outputs or []) if o.type == "logs")

    run, _, messages = stream_code(client, code, Handler(), language)
    assert run.status == "completed"
    assert streamed == [expected]
    (step,) = [
        s
        for s in client.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id)
        if s.type == "tool_calls"
    ]
    call = step.step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.code_interpreter.input == code
    assert logs_of(call) == expected
    assert messages[-1].content[0].text.value.startswith("Output: " + expected.rstrip("\n"))


def test_failing_program_reports_its_status(client: openai.OpenAI) -> None:
    run, call, message = run_code(client, "raise ValueError('bad input')")
    assert run.status == "completed"  # the model hears about the failure; the run goes on
    assert "ValueError: bad input" in logs_of(call)
    assert "[exit status 1]" in message.content[0].text.value


def test_attached_csv_is_read_and_its_numbers_reach_the_answer(client: openai.OpenAI) -> None:
    csv = b"region,sales\nnorth,1200\nsouth,800\neast,450\nwest,1550\n"
    uploaded = client.files.create(file=("sales.csv", csv), purpose="assistants")
    code = (
        "import pandas as pd\n"
        "df = pd.read_csv('/mnt/data/sales.csv')\n"
        "print('total', df.sales.sum(), 'best', df.loc[df.sales.idxmax(), 'region'])"
    )
    run, call, message = run_code(
        client, code, attachments=[{"file_id": uploaded.id, "tools": [{"type": "code_interpreter"}]}]
    )
    assert run.status == "completed", run.last_error
    assert logs_of(call) == "total 4000 best west\n"
    assert "total 4000 best west" in message.content[0].text.value
    # The original is read-only inside the sandbox.
    _, call, _ = run_code(client, "open('/mnt/data/sales.csv', 'w').write('x')", thread_id=message.thread_id)
    assert "Read-only file system" in logs_of(call) or "Permission denied" in logs_of(call)


def test_matplotlib_chart_comes_back_as_an_image_file(client: openai.OpenAI) -> None:
    code = (
        "import matplotlib.pyplot as plt\n"
        "plt.bar(['a', 'b', 'c'], [3, 1, 2])\n"
        "plt.savefig('/mnt/data/chart.png')\n"
        "print('saved')"
    )
    images: list[str] = []

    class Handler(openai.AssistantEventHandler):
        @override
        def on_image_file_done(self, image_file: Any) -> None:
            images.append(image_file.file_id)

    run, steps, messages = stream_code(client, code, Handler())
    assert run.status == "completed", run.last_error
    (call,) = [c for s in steps if s.type == "tool_calls" for c in s.step_details.tool_calls]  # type: ignore[union-attr]
    (image,) = [o for o in call.code_interpreter.outputs if o.type == "image"]  # type: ignore[union-attr]
    file_id = image.image.file_id
    assert images == [file_id]
    message = client.beta.threads.messages.retrieve(messages[-1].id, thread_id=messages[-1].thread_id)
    assert [p.type for p in messages[-1].content] == ["text", "image_file"]  # as streamed
    parts = [p.type for p in message.content]
    assert parts == ["text", "image_file"]
    assert message.content[1].image_file.file_id == file_id  # type: ignore[union-attr]
    described = client.files.retrieve(file_id)
    assert described.purpose == "assistants_output" and described.filename == "chart.png"
    data = client.files.content(file_id).read()
    assert data.startswith(PNG_SIGNATURE) and len(data) == described.bytes > 1000


def test_written_files_become_file_path_annotations(client: openai.OpenAI) -> None:
    code = "open('/mnt/data/report.csv', 'w').write('a,b\\n1,2\\n')\nprint('done')"
    run, _call, message = run_code(client, code)
    assert run.status == "completed"
    text = message.content[0].text
    (annotation,) = text.annotations
    assert annotation.type == "file_path" and annotation.text == "sandbox:/mnt/data/report.csv"
    assert text.value[annotation.start_index : annotation.end_index] == annotation.text
    assert client.files.content(annotation.file_path.file_id).read() == b"a,b\n1,2\n"  # type: ignore[union-attr]


def test_work_directory_is_kept_in_the_thread_and_removed_with_it(
    client: openai.OpenAI, server: ThreadedServer
) -> None:
    _, _, message = run_code(client, "open('/mnt/data/state.txt', 'w').write('remembered')")
    thread_id = message.thread_id
    _, call, _ = run_code(client, "print(open('/mnt/data/state.txt').read())", thread_id=thread_id)
    assert logs_of(call) == "remembered\n"
    _, call, _ = run_code(client, "ls /mnt/data", "shell", thread_id=thread_id)
    assert logs_of(call) == "state.txt\n"
    workdir = server.app.interpreter.root / thread_id
    assert workdir.is_dir()
    client.beta.threads.delete(thread_id)
    assert not workdir.exists()


def test_unknown_and_missing_languages_are_reported(tmp_path: Path, upstream: FakeUpstream) -> None:
    settings = interpreter_settings(
        f"sqlite:///{tmp_path / 'ci.db'}",
        upstream,
        tmp_path,
        languages=(LanguageSettings("ruby", ("ruby-not-installed-here", "{file}"), ".rb"),),
    )
    with (
        ThreadedServer(settings) as server,
        openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as client,
    ):
        run, call, message = run_code(client, "puts 1", "ruby")
        assert run.status == "completed"
        assert "ruby runtime ('ruby-not-installed-here') is not installed" in logs_of(call)
        assert "not installed" in message.content[0].text.value
        run, call, _ = run_code(client, "print 1", "cobol")
        assert run.status == "completed"
        assert "Unknown language 'cobol'" in logs_of(call)
        tools = next(r for r in upstream.requests if r.get("model") == "code:cobol")["tools"]
        (offered,) = [t for t in tools if t["function"]["name"] == "code_interpreter"]
        assert offered["function"]["parameters"]["properties"]["language"]["enum"] == [
            "python",
            "javascript",
            "shell",
            "ruby",
        ]


def test_tool_is_not_offered_without_code_interpreter(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    assistant = client.beta.assistants.create(model="echo", tools=[])
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hello"}]}
    )
    assert run.status == "completed"
    sent = [r for r in upstream.requests if r.get("model") == "echo"][-1]
    assert "tools" not in sent


async def test_grpc_stream_carries_input_and_outputs(
    database_url: str, upstream: FakeUpstream, tmp_path: Path
) -> None:
    """Over gRPC (SQLite and PostgreSQL): step deltas with the input fragments, then the logs."""
    code = "print(6 * 7)"
    async with running(interpreter_settings(database_url, upstream, tmp_path)) as app, connect(app) as stubs:
        assistant = await stubs.assistants.CreateAssistant(
            assistants_pb2.CreateAssistantRequest(
                model="code:python", tools=[res.Tool(type="code_interpreter")]
            )
        )
        thread = await stubs.threads.CreateThread(
            threads_pb2.CreateThreadRequest(
                messages=[res.MessageInput(role="user", content=struct_pb2.Value(string_value=code))]
            )
        )
        events = await collect(
            stubs.runs.StreamRun(runs_pb2.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        )
    deltas = [e.run_step_delta for e in events if e.event == "thread.run.step.delta"]
    calls = [c for d in deltas for c in d.delta.step_details.tool_calls]
    assert calls[0].type == "code_interpreter" and calls[0].id == "call_code0"
    streamed_input = "".join(c.code_interpreter.input for c in calls)
    assert streamed_input == code
    logs = [o.logs for c in calls for o in c.code_interpreter.outputs]
    assert logs == ["42\n"]
    names = [e.event for e in events]
    assert names[-2:] == ["thread.run.completed", "done"]
    completed = [e.run_step for e in events if e.event == "thread.run.step.completed"]
    assert completed[0].step_details.tool_calls[0].code_interpreter.outputs[0].logs == "42\n"


def test_cancelling_a_run_kills_its_program(client: openai.OpenAI, server: ThreadedServer) -> None:
    marker = f"cancel-marker-{time.monotonic_ns()}"
    code = f"import time\nprint('{marker}', flush=True)\ntime.sleep(120)"
    assistant = client.beta.assistants.create(model="code:python", tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": code}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _processes_with(marker):
        time.sleep(0.05)
    assert _processes_with(marker), "the program did not start"
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    while time.monotonic() < deadline:
        run = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
        if run.status == "cancelled":
            break
        time.sleep(0.05)
    assert run.status == "cancelled"
    time.sleep(0.3)
    assert not _processes_with(marker)


def _processes_with(marker: str) -> list[int]:
    """Host processes running a sandboxed program that holds ``marker`` (its command line names the
    program's path inside the sandbox, /run/program/main.py, which is read through /proc/PID/root)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"/run/program/main" not in (proc / "cmdline").read_bytes():
                continue
            for entry in (proc / "root" / "run" / "program").iterdir():
                if marker in entry.read_text(errors="replace"):
                    found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_tool_resources_files_are_shown_by_name_and_clashes_get_the_id(client: openai.OpenAI) -> None:
    first = client.files.create(file=("data.txt", b"from the assistant"), purpose="assistants")
    second = client.files.create(file=("data.txt", b"from the thread"), purpose="assistants")
    assistant = client.beta.assistants.create(
        model="code:shell",
        tools=[{"type": "code_interpreter"}],
        tool_resources={"code_interpreter": {"file_ids": [first.id]}},
    )
    code = 'for f in /mnt/data/*; do echo "$(basename "$f"): $(cat "$f")"; done'
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": code}],
        tool_resources={"code_interpreter": {"file_ids": [second.id]}},
    )
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
    )
    assert run.status == "completed"
    (step,) = [
        s for s in client.beta.threads.runs.steps.list(run.id, thread_id=thread.id) if s.type == "tool_calls"
    ]
    logs = logs_of(step.step_details.tool_calls[0])  # type: ignore[union-attr]
    assert logs.splitlines() == sorted(
        ["data.txt: from the assistant", f"{second.id}-data.txt: from the thread"]
    )


def test_server_shutdown_kills_running_programs(tmp_path: Path, upstream: FakeUpstream) -> None:
    marker = f"shutdown-marker-{time.monotonic_ns()}"
    code = f"import time\nprint('{marker}', flush=True)\ntime.sleep(120)"
    settings = interpreter_settings(f"sqlite:///{tmp_path / 'ci.db'}", upstream, tmp_path)
    server = ThreadedServer(settings).start()
    try:
        with sdk_of(server) as client:
            assistant = client.beta.assistants.create(
                model="code:python", tools=[{"type": "code_interpreter"}]
            )
            thread = client.beta.threads.create(messages=[{"role": "user", "content": code}])
            client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not _processes_with(marker):
                time.sleep(0.05)
            assert _processes_with(marker), "the program did not start"
    finally:
        server.stop()
    time.sleep(0.3)
    assert not _processes_with(marker)
