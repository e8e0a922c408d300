"""The Threads and Messages services through generated grpc.aio stubs, on SQLite and PostgreSQL."""

from __future__ import annotations

import grpc
import pytest
from conftest import Stubs, expect_status
from google.protobuf import field_mask_pb2, json_format, struct_pb2

from pygentic.app import Pygentic
from pygentic.proto.v1 import messages_pb2 as mpb
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import threads_pb2 as tpb
from pygentic.storage import repositories as repos
from pygentic.storage.tables import MessageRow, RunRow, RunStepRow

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def text(value: str) -> struct_pb2.Value:
    return struct_pb2.Value(string_value=value)


def user_message(thread_id: str, content: str, **kwargs: object) -> mpb.CreateMessageRequest:
    return mpb.CreateMessageRequest(thread_id=thread_id, role="user", content=text(content), **kwargs)


async def test_create_thread_with_initial_messages(stubs: Stubs) -> None:
    thread = await stubs.threads.CreateThread(
        tpb.CreateThreadRequest(
            messages=[
                res.MessageInput(role="user", content=text("first"), metadata={"n": "1"}),
                res.MessageInput(role="assistant", content=text("second")),
            ],
            metadata={"topic": "demo"},
        )
    )
    assert thread.id.startswith("thread_") and thread.object == "thread"
    assert dict(thread.metadata) == {"topic": "demo"} and not thread.HasField("tool_resources")
    listed = await stubs.messages.ListMessages(mpb.ListMessagesRequest(thread_id=thread.id, order="asc"))
    assert [m.content[0].text.value for m in listed.data] == ["first", "second"]
    assert [m.role for m in listed.data] == ["user", "assistant"]
    first = listed.data[0]
    assert first.object == "thread.message" and first.thread_id == thread.id and first.status == "completed"
    assert first.content[0].type == "text" and len(first.content[0].text.annotations) == 0
    assert dict(first.metadata) == {"n": "1"}
    assert not first.HasField("run_id") and not first.HasField("assistant_id")


async def test_create_thread_rejects_a_bad_message_and_stores_nothing(stubs: Stubs) -> None:
    await expect_status(
        stubs.threads.CreateThread(
            tpb.CreateThreadRequest(
                messages=[
                    res.MessageInput(role="user", content=text("ok")),
                    res.MessageInput(role="system", content=text("no")),
                ]
            )
        ),
        INVALID,
        "'messages[1].role'",
    )


async def test_thread_get_update_delete(stubs: Stubs) -> None:
    thread = await stubs.threads.CreateThread(tpb.CreateThreadRequest(metadata={"a": "1"}))
    assert await stubs.threads.GetThread(tpb.GetThreadRequest(thread_id=thread.id)) == thread
    file_id = await stubs.upload(b"data")
    unknown = res.ToolResourcesInput(code_interpreter=res.CodeInterpreterResources(file_ids=["file-nope"]))
    await expect_status(
        stubs.threads.UpdateThread(tpb.UpdateThreadRequest(thread_id=thread.id, tool_resources=unknown)),
        NOT_FOUND,
        "file-nope",
    )
    resources = res.ToolResourcesInput(code_interpreter=res.CodeInterpreterResources(file_ids=[file_id]))
    updated = await stubs.threads.UpdateThread(
        tpb.UpdateThreadRequest(thread_id=thread.id, metadata={"b": "2"}, tool_resources=resources)
    )
    assert dict(updated.metadata) == {"b": "2"}
    assert list(updated.tool_resources.code_interpreter.file_ids) == [file_id]
    cleared = await stubs.threads.UpdateThread(
        tpb.UpdateThreadRequest(thread_id=thread.id, update_mask=field_mask_pb2.FieldMask(paths=["metadata"]))
    )
    assert dict(cleared.metadata) == {} and cleared.HasField("tool_resources")
    deleted = await stubs.threads.DeleteThread(tpb.DeleteThreadRequest(thread_id=thread.id))
    assert (deleted.id, deleted.object, deleted.deleted) == (thread.id, "thread.deleted", True)
    await expect_status(
        stubs.threads.GetThread(tpb.GetThreadRequest(thread_id=thread.id)), NOT_FOUND, thread.id
    )
    await expect_status(
        stubs.threads.UpdateThread(tpb.UpdateThreadRequest(thread_id="thread_x", metadata={"a": "b"})),
        NOT_FOUND,
        "thread_x",
    )
    await expect_status(
        stubs.threads.CreateThread(tpb.CreateThreadRequest(metadata={str(i): "v" for i in range(17)})),
        INVALID,
        "'metadata'",
    )


async def test_deleting_a_thread_deletes_its_messages_runs_and_steps(stubs: Stubs, app: Pygentic) -> None:
    keep = await stubs.threads.CreateThread(
        tpb.CreateThreadRequest(messages=[res.MessageInput(role="user", content=text("keep"))])
    )
    doomed = await stubs.threads.CreateThread(
        tpb.CreateThreadRequest(messages=[res.MessageInput(role="user", content=text("bye"))])
    )
    message = (await stubs.messages.ListMessages(mpb.ListMessagesRequest(thread_id=doomed.id))).data[0]
    # Runs and steps as the run engine stores them (the Runs service writes these rows).
    async with app.db.write() as session:
        for thread_id in (keep.id, doomed.id):
            await repos.runs.add(
                session,
                RunRow(
                    id=f"run_{thread_id}",
                    created_at=1,
                    thread_id=thread_id,
                    assistant_id="asst_x",
                    status="completed",
                    model="m",
                ),
            )
            await repos.run_steps.add(
                session,
                RunStepRow(
                    id=f"step_{thread_id}",
                    created_at=1,
                    thread_id=thread_id,
                    run_id=f"run_{thread_id}",
                    assistant_id="asst_x",
                    type="message_creation",
                    status="completed",
                ),
            )

    await stubs.threads.DeleteThread(tpb.DeleteThreadRequest(thread_id=doomed.id))

    await expect_status(
        stubs.messages.GetMessage(mpb.GetMessageRequest(thread_id=doomed.id, message_id=message.id)),
        NOT_FOUND,
    )
    async with app.db.read() as session:
        from sqlmodel import select

        for model in (MessageRow, RunRow, RunStepRow):
            rows = (await session.exec(select(model))).all()
            assert {r.thread_id for r in rows} == {keep.id}, model.__name__


async def test_message_crud(stubs: Stubs) -> None:
    thread = await stubs.threads.CreateThread(tpb.CreateThreadRequest())
    file_id = await stubs.upload(b"notes")
    await expect_status(
        stubs.messages.CreateMessage(
            user_message(thread.id, "hello", attachments=[res.Attachment(file_id="file-abc")])
        ),
        NOT_FOUND,
        "file-abc",
    )
    created = await stubs.messages.CreateMessage(
        user_message(
            thread.id,
            "hello",
            metadata={"x": "y"},
            attachments=[res.Attachment(file_id=file_id, tools=[res.AttachmentTool(type="file_search")])],
        )
    )
    assert (
        created.id.startswith("msg_") and created.role == "user" and created.content[0].text.value == "hello"
    )
    assert created.attachments[0].file_id == file_id
    got = await stubs.messages.GetMessage(mpb.GetMessageRequest(thread_id=thread.id, message_id=created.id))
    assert got == created
    updated = await stubs.messages.UpdateMessage(
        mpb.UpdateMessageRequest(thread_id=thread.id, message_id=created.id, metadata={"x": "z"})
    )
    assert dict(updated.metadata) == {"x": "z"} and updated.content == created.content
    deleted = await stubs.messages.DeleteMessage(
        mpb.DeleteMessageRequest(thread_id=thread.id, message_id=created.id)
    )
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "thread.message.deleted", True)
    await expect_status(
        stubs.messages.GetMessage(mpb.GetMessageRequest(thread_id=thread.id, message_id=created.id)),
        NOT_FOUND,
        created.id,
    )


async def test_message_content_parts(stubs: Stubs) -> None:
    thread = await stubs.threads.CreateThread(tpb.CreateThreadRequest())
    image_id = await stubs.upload(b"\x89PNG", "chart.png", "vision")
    request = mpb.CreateMessageRequest(thread_id=thread.id, role="user")
    json_format.ParseDict(
        [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
            {"type": "image_file", "image_file": {"file_id": image_id}},
        ],
        request.content,
    )
    created = await stubs.messages.CreateMessage(request)
    assert [c.type for c in created.content] == ["text", "image_url", "image_file"]
    assert created.content[0].text.value == "look"
    assert (
        created.content[1].image_url.url == "https://x/y.png" and created.content[1].image_url.detail == "low"
    )
    assert created.content[2].image_file.file_id == image_id


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"role": "system", "content": "x"}, "role"),
        ({"role": "user"}, "content"),
        ({"role": "user", "content": ""}, "content"),
        ({"role": "user", "content": []}, "content"),
        ({"role": "user", "content": [{"type": "video"}]}, "content[0].type"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {}}]}, "content[0].image_url.url"),
        ({"role": "user", "content": "x", "metadata": {str(i): "v" for i in range(17)}}, "metadata"),
        ({"role": "user", "content": "x", "attachments": [{"file_id": ""}]}, "attachments[0].file_id"),
    ],
)
async def test_message_validation(stubs: Stubs, fields: dict, param: str) -> None:
    thread = await stubs.threads.CreateThread(tpb.CreateThreadRequest())
    request = json_format.ParseDict({"thread_id": thread.id, **fields}, mpb.CreateMessageRequest())
    await expect_status(stubs.messages.CreateMessage(request), INVALID, f"'{param}'")


async def test_message_not_found_cases(stubs: Stubs) -> None:
    thread = await stubs.threads.CreateThread(tpb.CreateThreadRequest())
    other = await stubs.threads.CreateThread(tpb.CreateThreadRequest())
    message = await stubs.messages.CreateMessage(user_message(thread.id, "hi"))
    await expect_status(
        stubs.messages.CreateMessage(user_message("thread_nope", "hi")), NOT_FOUND, "thread_nope"
    )
    await expect_status(
        stubs.messages.ListMessages(mpb.ListMessagesRequest(thread_id="thread_nope")),
        NOT_FOUND,
        "thread_nope",
    )
    # A message is only reachable through its own thread.
    await expect_status(
        stubs.messages.GetMessage(mpb.GetMessageRequest(thread_id=other.id, message_id=message.id)),
        NOT_FOUND,
        message.id,
    )
    await expect_status(
        stubs.messages.GetMessage(mpb.GetMessageRequest(thread_id="thread_nope", message_id=message.id)),
        NOT_FOUND,
        "thread_nope",
    )
    await expect_status(
        stubs.messages.GetMessage(mpb.GetMessageRequest(thread_id=thread.id, message_id="")),
        INVALID,
        "'message_id'",
    )


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_message_pagination_and_run_filter(stubs: Stubs, app: Pygentic, order: str) -> None:
    thread = await stubs.threads.CreateThread(tpb.CreateThreadRequest())
    created = [(await stubs.messages.CreateMessage(user_message(thread.id, f"m{i}"))).id for i in range(8)]
    expected = created if order == "asc" else created[::-1]
    got, after, sizes = [], None, []
    while True:
        request = mpb.ListMessagesRequest(thread_id=thread.id, limit=3, order=order)
        if after:
            request.after = after
        page = await stubs.messages.ListMessages(request)
        got += [m.id for m in page.data]
        sizes.append((len(page.data), page.has_more))
        if not page.has_more:
            break
        after = page.last_id
    assert got == expected and sizes == [(3, True), (3, True), (2, False)]

    # Messages written by a run carry its id; the run_id filter lists only those.
    async with app.db.write() as session:
        for m_id in created[2:4]:
            row = await repos.messages.get(session, m_id)
            assert row is not None
            row.run_id = "run_abc"
            session.add(row)
    page = await stubs.messages.ListMessages(
        mpb.ListMessagesRequest(thread_id=thread.id, order=order, run_id="run_abc")
    )
    assert [m.id for m in page.data] == [i for i in expected if i in created[2:4]]
    assert all(m.run_id == "run_abc" for m in page.data)
