"""API keys and projects through both doors: keys are required once one exists, each project sees only its
own objects (another project's ids are NOT_FOUND / 404, never 403), revocation reaches every replica
within seconds, and an open server refuses a public address."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import openai
import pytest
from conftest import PYGENTIC, make_settings, with_files
from fake_upstream import FakeUpstream
from grpc_health.v1 import health_pb2, health_pb2_grpc
from test_model_input import PNG
from threaded_server import ThreadedServer

from pygentic.config import Settings
from pygentic.proto.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    assistants_pb2,
    assistants_pb2_grpc,
    files_pb2,
    files_pb2_grpc,
    runs_pb2,
    runs_pb2_grpc,
)


@pytest.fixture
def settings_for_tenants(tmp_path: Path, upstream: FakeUpstream) -> Settings:
    return with_files(make_settings(f"sqlite:///{tmp_path / 't.db'}", upstream), tmp_path / "files")


@pytest.fixture
def server(settings_for_tenants: Settings) -> Iterator[ThreadedServer]:
    with ThreadedServer(settings_for_tenants) as running:
        yield running


def make_key(server: ThreadedServer, project: str) -> str:
    _, secret = server.call(server.app.operations.keys.create(project, f"{project} key"))
    return str(secret)


def sdk(server: ThreadedServer, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)


def assert_missing(call: Callable[[], Any]) -> None:
    with pytest.raises(openai.NotFoundError):
        call()


def test_keys_are_required_once_one_exists(server: ThreadedServer) -> None:
    open_client = sdk(server, "anything")
    open_client.beta.assistants.create(model="echo")  # an open server: every caller is the default project
    key = make_key(server, "alpha")
    for client in (sdk(server, "wrong"), sdk(server, "sk-pyg-" + "x" * 43)):
        with pytest.raises(openai.AuthenticationError) as info:
            client.beta.assistants.list()
        assert info.value.status_code == 401 and info.value.body["code"] == "invalid_api_key"  # type: ignore[index]
    answer = httpx.get(f"{server.base_url}/assistants")
    assert answer.status_code == 401 and "didn't provide an API key" in answer.json()["error"]["message"]
    assert httpx.get(server.base_url.removesuffix("/v1") + "/healthz").status_code == 200
    # The key works, and acts for its own project: the open server's default-project object is not its.
    assert sdk(server, key).beta.assistants.list().data == []
    with grpc.insecure_channel(server.grpc_target) as channel:
        with pytest.raises(grpc.RpcError) as rpc:
            assistants_pb2_grpc.AssistantsStub(channel).ListAssistants(assistants_pb2.ListAssistantsRequest())
        assert rpc.value.code() == grpc.StatusCode.UNAUTHENTICATED
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING  # health checks need no key


def _alpha_world(client: openai.OpenAI) -> dict[str, Any]:
    """One of every object, made by project alpha."""
    assistant = client.beta.assistants.create(model="echo", name="alpha's")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "alpha question"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    message = client.beta.threads.messages.list(thread.id).data[0]
    step = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data[0]
    document = client.files.create(
        file=("alpha.txt", b"Alpha's secret plans are in this file."), purpose="assistants"
    )
    store = client.vector_stores.create(name="alpha store")
    client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=document.id)
    return {
        "assistant": assistant,
        "thread": thread,
        "run": run,
        "message": message,
        "step": step,
        "file": document,
        "store": store,
    }


def test_each_project_sees_only_its_own(server: ThreadedServer) -> None:
    alpha, beta = sdk(server, make_key(server, "alpha")), sdk(server, make_key(server, "beta"))
    world = _alpha_world(alpha)
    a, t, r, m, s, f, vs = (
        world[k] for k in ("assistant", "thread", "run", "message", "step", "file", "store")
    )

    # Every read, change and delete of alpha's objects is "not found" for beta.
    for call in (
        lambda: beta.beta.assistants.retrieve(a.id),
        lambda: beta.beta.assistants.update(a.id, name="stolen"),
        lambda: beta.beta.assistants.delete(a.id),
        lambda: beta.beta.threads.retrieve(t.id),
        lambda: beta.beta.threads.update(t.id, metadata={"x": "y"}),
        lambda: beta.beta.threads.messages.list(t.id),
        lambda: beta.beta.threads.messages.retrieve(m.id, thread_id=t.id),
        lambda: beta.beta.threads.messages.create(t.id, role="user", content="intruding"),
        lambda: beta.beta.threads.runs.list(t.id),
        lambda: beta.beta.threads.runs.retrieve(r.id, thread_id=t.id),
        lambda: beta.beta.threads.runs.steps.list(r.id, thread_id=t.id),
        lambda: beta.beta.threads.runs.steps.retrieve(s.id, thread_id=t.id, run_id=r.id),
        lambda: beta.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id),
        lambda: beta.files.retrieve(f.id),
        lambda: beta.files.content(f.id),
        lambda: beta.files.delete(f.id),
        lambda: beta.vector_stores.retrieve(vs.id),
        lambda: beta.vector_stores.files.list(vs.id),
        lambda: beta.vector_stores.search(vs.id, query="secret plans"),
        lambda: beta.vector_stores.delete(vs.id),
        lambda: beta.beta.threads.delete(t.id),
    ):
        assert_missing(call)
    # Nor can beta use alpha's files and stores by id in its own objects.
    assert_missing(lambda: beta.vector_stores.create(name="mine", file_ids=[f.id]))
    assert_missing(
        lambda: beta.beta.assistants.create(
            model="echo",
            tools=[{"type": "file_search"}],
            tool_resources={"file_search": {"vector_store_ids": [vs.id]}},
        )
    )
    assert_missing(
        lambda: beta.beta.threads.create(
            messages=[
                {
                    "role": "user",
                    "content": "x",
                    "attachments": [{"file_id": f.id, "tools": [{"type": "file_search"}]}],
                }
            ]
        )
    )
    # Lists show only the caller's objects.
    beta_assistant = beta.beta.assistants.create(model="echo", name="beta's")
    assert [x.id for x in beta.beta.assistants.list().data] == [beta_assistant.id]
    assert beta.files.list().data == [] and beta.vector_stores.list().data == []
    assert [x.id for x in alpha.beta.assistants.list().data] == [a.id]
    # Alpha's objects are untouched and still work.
    assert alpha.beta.assistants.retrieve(a.id).name == "alpha's"
    assert alpha.files.content(f.id).read() == b"Alpha's secret plans are in this file."
    assert alpha.vector_stores.search(vs.id, query="secret plans").data


def test_the_grpc_door_confines_a_key_to_its_project(server: ThreadedServer) -> None:
    alpha_key, beta_key = make_key(server, "alpha"), make_key(server, "beta")
    world = _alpha_world(sdk(server, alpha_key))
    as_beta = (("authorization", f"Bearer {beta_key}"),)
    with grpc.insecure_channel(server.grpc_target) as channel:
        assistants = assistants_pb2_grpc.AssistantsStub(channel)
        runs = runs_pb2_grpc.RunsStub(channel)
        files = files_pb2_grpc.FilesStub(channel)
        for call in (
            lambda: assistants.GetAssistant(
                assistants_pb2.GetAssistantRequest(assistant_id=world["assistant"].id), metadata=as_beta
            ),
            lambda: runs.GetRun(
                runs_pb2.GetRunRequest(thread_id=world["thread"].id, run_id=world["run"].id), metadata=as_beta
            ),
            lambda: list(
                runs.WatchRun(
                    runs_pb2.WatchRunRequest(thread_id=world["thread"].id, run_id=world["run"].id),
                    metadata=as_beta,
                )
            ),
            lambda: list(
                files.GetFileContent(
                    files_pb2.GetFileContentRequest(file_id=world["file"].id), metadata=as_beta
                )
            ),
        ):
            with pytest.raises(grpc.RpcError) as info:
                call()
            assert info.value.code() == grpc.StatusCode.NOT_FOUND, info.value.details()
        made = assistants.CreateAssistant(
            assistants_pb2.CreateAssistantRequest(model="echo"), metadata=as_beta
        )
        listed = assistants.ListAssistants(assistants_pb2.ListAssistantsRequest(), metadata=as_beta)
        assert [x.id for x in listed.data] == [made.id]
        as_alpha = (("authorization", f"Bearer {alpha_key}"),)
        listed = assistants.ListAssistants(assistants_pb2.ListAssistantsRequest(), metadata=as_alpha)
        assert [x.id for x in listed.data] == [world["assistant"].id]


def _revoked_within(client: openai.OpenAI, seconds: float) -> float:
    start = time.monotonic()
    while True:
        try:
            client.beta.assistants.list()
        except openai.AuthenticationError:
            return time.monotonic() - start
        assert time.monotonic() - start < seconds, f"the revoked key still worked after {seconds} s"
        time.sleep(0.1)


def test_a_revoked_key_is_refused_within_seconds(server: ThreadedServer, tmp_path: Path) -> None:
    key = make_key(server, "alpha")
    client = sdk(server, key)
    client.beta.assistants.list()
    (row,) = [k for k in server.call(server.app.operations.keys.list()) if k.project_id == "alpha"]
    config = tmp_path / "connectors.toml"
    config.write_text(f'[connectors.database]\nurl = "{server.app.settings.database.url}"\n')
    revoked = subprocess.run(
        [PYGENTIC, "keys", "revoke", row.id, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert revoked.returncode == 0 and row.id in revoked.stdout
    assert _revoked_within(client, 5.0) < 5.0


@pytest.mark.postgres
def test_revocation_reaches_another_replica(pg_database: str, upstream: FakeUpstream) -> None:
    from conftest import _reset_pg

    _reset_pg(pg_database)
    settings = make_settings(pg_database, upstream)
    with ThreadedServer(settings) as one, ThreadedServer(settings) as two:
        key = make_key(one, "alpha")
        on_two = sdk(two, key)
        deadline = time.monotonic() + 5
        while True:  # the second replica learns of the first key within its cache time
            try:
                on_two.beta.assistants.list()
                break
            except openai.AuthenticationError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        (row,) = one.call(one.app.operations.keys.list())
        one.call(one.app.operations.keys.revoke(row.id))
        assert _revoked_within(on_two, 5.0) < 5.0


def _serve(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    config = tmp_path / "connectors.toml"
    config.write_text(f'[connectors.database]\nurl = "sqlite:///{tmp_path / "open.db"}"\n')
    return subprocess.Popen(
        [
            PYGENTIC,
            "serve",
            "--config",
            str(config),
            "--grpc-port",
            "0",
            "--http-port",
            "0",
            "--workers",
            "1",
            *args,
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYGENTIC_ALLOW_UNAUTHENTICATED"},
    )


def test_an_open_server_refuses_a_public_address(tmp_path: Path) -> None:
    refused = _serve(tmp_path, "--host", "0.0.0.0")
    _, stderr = refused.communicate(timeout=60)
    assert refused.returncode != 0 and "refusing to serve 0.0.0.0 with no API key" in stderr
    assert "--allow-unauthenticated" in stderr
    allowed = _serve(tmp_path, "--host", "0.0.0.0", "--allow-unauthenticated")
    try:
        assert allowed.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = allowed.stderr.readline()
            if 'msg="grpc listening"' in line or not line:
                break
        assert 'msg="grpc listening"' in line
    finally:
        allowed.kill()
        allowed.wait()


def test_a_key_past_its_rate_limit_gets_429_with_retry_after(server: ThreadedServer) -> None:
    _, secret = server.call(server.app.operations.keys.create("alpha", "limited", requests_per_minute=3))
    client = sdk(server, secret)
    for _ in range(3):
        client.beta.assistants.list()
    with pytest.raises(openai.RateLimitError) as info:
        client.beta.assistants.list()
    assert info.value.status_code == 429 and int(info.value.response.headers["retry-after"]) >= 1
    assert "3 requests per minute" in info.value.message
    with grpc.insecure_channel(server.grpc_target) as channel:
        with pytest.raises(grpc.RpcError) as rpc:
            assistants_pb2_grpc.AssistantsStub(channel).ListAssistants(
                assistants_pb2.ListAssistantsRequest(), metadata=(("authorization", f"Bearer {secret}"),)
            )
        assert rpc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert int(dict(rpc.value.trailing_metadata() or ())["retry-after"]) >= 1
    sdk(server, make_key(server, "beta")).beta.assistants.list()  # another key has its own budget


def test_a_key_may_have_only_so_many_active_runs(server: ThreadedServer) -> None:
    _, secret = server.call(server.app.operations.keys.create("alpha", "one run", active_runs=1))
    client = sdk(server, secret)
    assistant = client.beta.assistants.create(model="words:100:0.05")
    first = client.beta.threads.create_and_run(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "long"}]}
    )
    other = client.beta.threads.create(messages=[{"role": "user", "content": "second"}])
    with pytest.raises(openai.RateLimitError) as info:
        client.beta.threads.runs.create(thread_id=other.id, assistant_id=assistant.id)
    assert "active runs" in info.value.message and info.value.response.headers["retry-after"] == "1"
    client.beta.threads.runs.cancel(first.id, thread_id=first.thread_id)
    client.beta.threads.runs.poll(first.id, thread_id=first.thread_id)
    second = client.beta.threads.runs.create(thread_id=other.id, assistant_id=assistant.id)
    assert second.status == "queued"
    client.beta.threads.runs.cancel(second.id, thread_id=other.id)


def test_the_admin_service_manages_keys_for_admin_keys_only(server: ThreadedServer) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        admin = admin_pb2_grpc.AdminStub(channel)
        # On a server where no key was ever made, the first key (an admin one) is made over gRPC.
        first = admin.CreateApiKey(
            admin_pb2.CreateApiKeyRequest(project="ops", name="automation", admin=True)
        )
        assert first.secret.startswith("sk-pyg-") and first.key.admin and first.key.project == "ops"
        as_admin = (("authorization", f"Bearer {first.secret}"),)
        with pytest.raises(grpc.RpcError) as info:  # from now on keys are required, here too
            admin.ListApiKeys(admin_pb2.ListApiKeysRequest())
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        made = admin.CreateApiKey(
            admin_pb2.CreateApiKeyRequest(project="alpha", requests_per_minute=100, active_runs=2),
            metadata=as_admin,
        )
        assert made.key.requests_per_minute == 100 and made.key.active_runs == 2 and not made.key.admin
        listed = admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=as_admin)
        assert [k.id for k in listed.data] == [first.key.id, made.key.id]
        assert all(made.secret not in str(k) for k in listed.data)  # secrets are never listed
        as_alpha = (("authorization", f"Bearer {made.secret}"),)
        with pytest.raises(grpc.RpcError) as info:
            admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=as_alpha)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        revoked = admin.RevokeApiKey(admin_pb2.RevokeApiKeyRequest(key_id=made.key.id), metadata=as_admin)
        assert revoked.HasField("revoked_at")
    assert _revoked_within(sdk(server, made.secret), 5.0) < 5.0


def test_responses_and_conversations_belong_to_their_project(server: ThreadedServer) -> None:
    alpha, beta = sdk(server, make_key(server, "alpha")), sdk(server, make_key(server, "beta"))
    response = alpha.responses.create(model="echo", input="alpha's question")
    conversation = alpha.conversations.create(items=[{"type": "message", "role": "user", "content": "alpha"}])
    for call in (
        lambda: beta.responses.retrieve(response.id),
        lambda: beta.responses.input_items.list(response.id),
        lambda: beta.responses.delete(response.id),
        lambda: beta.responses.create(model="echo", input="follow", previous_response_id=response.id),
        lambda: beta.conversations.retrieve(conversation.id),
        lambda: beta.conversations.items.list(conversation.id),
        lambda: beta.conversations.items.create(conversation.id, items=[{"role": "user", "content": "x"}]),
        lambda: beta.responses.create(model="echo", input="into it", conversation=conversation.id),
        lambda: beta.conversations.delete(conversation.id),
    ):
        assert_missing(call)
    # Nor can a response of beta's show the model alpha's image, in a plain input or in a whole history.
    picture = alpha.files.create(file=("pixel.png", PNG), purpose="vision")
    image = {"role": "user", "content": [{"type": "input_image", "file_id": picture.id}]}
    call = {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}
    output = {"type": "function_call_output", "call_id": "call_1", "output": "x"}
    assert_missing(lambda: beta.responses.create(model="echo", input=[image]))
    assert_missing(lambda: beta.responses.create(model="echo", input=[image, call, output]))
    assert alpha.responses.retrieve(response.id).output_text == "Echo: alpha's question"
    assert len(alpha.conversations.items.list(conversation.id).data) == 1


def test_chat_completions_and_models_need_a_key_once_keys_exist(server: ThreadedServer) -> None:
    key = make_key(server, "alpha")
    stranger = sdk(server, "wrong")
    with pytest.raises(openai.AuthenticationError):
        stranger.chat.completions.create(model="echo", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.AuthenticationError):
        stranger.models.list()
    answer = sdk(server, key).chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "Echo: hi"
