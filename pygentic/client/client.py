"""``Client``: Pygentic's Assistants API over gRPC, as a small typed asyncio client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from grpc import aio

from pygentic.client.connection import Connection
from pygentic.client.errors import PygenticError
from pygentic.client.functions import Function, Functions
from pygentic.client.requests import build
from pygentic.client.stream import RunStream
from pygentic.proto.v1 import (
    assistants_pb2,
    assistants_pb2_grpc,
    files_pb2,
    files_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    resources_pb2,
    runs_pb2,
    runs_pb2_grpc,
    threads_pb2,
    threads_pb2_grpc,
    vector_stores_pb2_grpc,
)

T = TypeVar("T")
UPLOAD_CHUNK = 256 * 1024
FunctionsArg = Functions | Mapping[str, Function] | Iterable[Function] | None


def _functions(functions: FunctionsArg) -> Functions | None:
    if functions is None or isinstance(functions, Functions):
        return functions
    return Functions(functions)


class Stubs:
    """The generated stubs of every service, for what the client's methods do not cover."""

    def __init__(self, channel: aio.Channel) -> None:
        self.assistants = assistants_pb2_grpc.AssistantsStub(channel)
        self.threads = threads_pb2_grpc.ThreadsStub(channel)
        self.messages = messages_pb2_grpc.MessagesStub(channel)
        self.runs = runs_pb2_grpc.RunsStub(channel)
        self.files = files_pb2_grpc.FilesStub(channel)
        self.vector_stores = vector_stores_pb2_grpc.VectorStoresStub(channel)


class Client:
    """Assistants, threads, messages and runs over one gRPC channel.

    ``async with Client("127.0.0.1:50051") as client:`` or ``Client(connection=Connection(...))`` for an
    API key, TLS, retries and deadlines (see :class:`~pygentic.client.connection.Connection`). Keyword
    arguments take OpenAI's JSON names and shapes (``tools=[{"type": "function", "function": {...}}]``,
    message ``content`` as a string or a list of parts). Results are the generated protobuf messages. A
    failed call raises :class:`~pygentic.client.errors.PygenticError`.
    """

    def __init__(self, target: str | None = None, *, connection: Connection | None = None) -> None:
        if connection is None:
            connection = Connection() if target is None else Connection(target=target)
        elif target is not None:
            raise TypeError("give the target or a connection, not both")
        self.connection = connection
        self.channel = connection.channel()
        self.stubs = Stubs(self.channel)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel (calls still running end CANCELLED)."""
        await self.channel.close()

    # -- calls -------------------------------------------------------------------------------------------

    def _metadata(self, *, changes: bool) -> tuple[tuple[str, str], ...]:
        """The call's metadata: the API key, and for a call that changes something an idempotency key (the
        same on each of gRPC's retries of it, so a retried create is answered once)."""
        metadata = self.connection.metadata()
        return (*metadata, ("idempotency-key", uuid.uuid4().hex)) if changes else metadata

    async def _call(self, method: Callable[..., Awaitable[T]], request: Any, *, changes: bool = False) -> T:
        try:
            return await method(
                request, metadata=self._metadata(changes=changes), timeout=self.connection.timeout
            )
        except aio.AioRpcError as exc:
            raise PygenticError.of(exc) from None

    def _stream(self, method: Callable[..., Any], request: Any) -> AsyncIterator[runs_pb2.RunEvent]:
        call: AsyncIterator[runs_pb2.RunEvent] = method(
            request, metadata=self._metadata(changes=True), timeout=self.connection.stream_timeout
        )
        return call

    async def _pages(self, method: Callable[..., Awaitable[Any]], request: Any) -> AsyncIterator[Any]:
        """Every item of a list, page after page (``after`` = the last id of the page before)."""
        while True:
            page = await self._call(method, request)
            for item in page.data:
                yield item
            if not page.has_more or not page.data:
                return
            request.after = page.last_id

    # -- assistants --------------------------------------------------------------------------------------

    async def create_assistant(
        self,
        model: str,
        *,
        name: str | None = None,
        instructions: str | None = None,
        tools: list[dict[str, Any]] | None = None,
        metadata: dict[str, str] | None = None,
        **fields: Any,
    ) -> resources_pb2.Assistant:
        """A new assistant (``fields``: description, temperature, top_p, tool_resources, response_format)."""
        request = build(
            assistants_pb2.CreateAssistantRequest,
            dict(fields, model=model, name=name, instructions=instructions, tools=tools, metadata=metadata),
        )
        return await self._call(self.stubs.assistants.CreateAssistant, request, changes=True)

    async def get_assistant(self, assistant_id: str) -> resources_pb2.Assistant:
        request = assistants_pb2.GetAssistantRequest(assistant_id=assistant_id)
        return await self._call(self.stubs.assistants.GetAssistant, request)

    async def update_assistant(self, assistant_id: str, **fields: Any) -> resources_pb2.Assistant:
        """Change exactly the ``fields`` given (the update mask names them); a field given as None is
        cleared, as ``null`` is in OpenAI's JSON."""
        request = build(assistants_pb2.UpdateAssistantRequest, dict(fields, assistant_id=assistant_id))
        request.update_mask.paths.extend(sorted(fields))
        return await self._call(self.stubs.assistants.UpdateAssistant, request, changes=True)

    async def delete_assistant(self, assistant_id: str) -> bool:
        request = assistants_pb2.DeleteAssistantRequest(assistant_id=assistant_id)
        return (await self._call(self.stubs.assistants.DeleteAssistant, request, changes=True)).deleted

    def list_assistants(
        self, *, order: str = "desc", page_size: int = 100
    ) -> AsyncIterator[resources_pb2.Assistant]:
        """Every assistant, newest first by default, fetched ``page_size`` at a time."""
        request = assistants_pb2.ListAssistantsRequest(limit=page_size, order=order)
        return self._pages(self.stubs.assistants.ListAssistants, request)

    # -- threads and messages ----------------------------------------------------------------------------

    async def create_thread(
        self,
        messages: Iterable[str | dict[str, Any]] = (),
        *,
        metadata: dict[str, str] | None = None,
        **fields: Any,
    ) -> resources_pb2.Thread:
        """A new thread; each of ``messages`` is a user message's text or a message as OpenAI's JSON."""
        inputs = [{"role": "user", "content": m} if isinstance(m, str) else m for m in messages]
        request = build(
            threads_pb2.CreateThreadRequest, dict(fields, messages=inputs or None, metadata=metadata)
        )
        return await self._call(self.stubs.threads.CreateThread, request, changes=True)

    async def get_thread(self, thread_id: str) -> resources_pb2.Thread:
        return await self._call(
            self.stubs.threads.GetThread, threads_pb2.GetThreadRequest(thread_id=thread_id)
        )

    async def delete_thread(self, thread_id: str) -> bool:
        request = threads_pb2.DeleteThreadRequest(thread_id=thread_id)
        return (await self._call(self.stubs.threads.DeleteThread, request, changes=True)).deleted

    async def create_message(
        self, thread_id: str, content: str | list[dict[str, Any]], *, role: str = "user", **fields: Any
    ) -> resources_pb2.Message:
        """A message on the thread (``fields``: attachments, metadata)."""
        request = build(
            messages_pb2.CreateMessageRequest, dict(fields, thread_id=thread_id, role=role, content=content)
        )
        return await self._call(self.stubs.messages.CreateMessage, request, changes=True)

    def list_messages(
        self, thread_id: str, *, order: str = "asc", run_id: str | None = None, page_size: int = 100
    ) -> AsyncIterator[resources_pb2.Message]:
        """Every message of the thread, oldest first by default (``run_id``: only that run's)."""
        request = messages_pb2.ListMessagesRequest(thread_id=thread_id, limit=page_size, order=order)
        if run_id is not None:
            request.run_id = run_id
        return self._pages(self.stubs.messages.ListMessages, request)

    # -- runs --------------------------------------------------------------------------------------------

    def _resume(
        self, functions: Functions | None
    ) -> Callable[..., Awaitable[AsyncIterator[runs_pb2.RunEvent]]]:
        async def resume(run: resources_pb2.Run, outputs: list[runs_pb2.ToolOutput]) -> AsyncIterator[Any]:
            request = runs_pb2.SubmitToolOutputsRequest(
                thread_id=run.thread_id, run_id=run.id, tool_outputs=outputs
            )
            return self._stream(self.stubs.runs.StreamSubmitToolOutputs, request)

        return resume

    def stream_run(
        self, thread_id: str, assistant_id: str, *, functions: FunctionsArg = None, **fields: Any
    ) -> RunStream:
        """Start a run and stream its events (``fields``: model, instructions, additional_instructions,
        additional_messages, tools, temperature, tool_choice, ...). With ``functions`` (a name -> function
        mapping, a list of functions or :class:`Functions`) the run's function calls are answered by them
        and the stream goes on until the run ends."""
        request = build(
            runs_pb2.CreateRunRequest, dict(fields, thread_id=thread_id, assistant_id=assistant_id)
        )
        answer = _functions(functions)
        events = self._stream(self.stubs.runs.StreamRun, request)
        return RunStream(events, functions=answer, resume=self._resume(answer))

    def stream_thread_and_run(
        self,
        assistant_id: str,
        messages: Iterable[str | dict[str, Any]] = (),
        *,
        functions: FunctionsArg = None,
        **fields: Any,
    ) -> RunStream:
        """A new thread with ``messages`` and a run on it, streamed as :meth:`stream_run`."""
        inputs = [{"role": "user", "content": m} if isinstance(m, str) else m for m in messages]
        thread = fields.pop("thread", {}) | ({"messages": inputs} if inputs else {})
        request = build(
            runs_pb2.CreateThreadAndRunRequest, dict(fields, assistant_id=assistant_id, thread=thread or None)
        )
        answer = _functions(functions)
        events = self._stream(self.stubs.runs.StreamThreadAndRun, request)
        return RunStream(events, functions=answer, resume=self._resume(answer))

    async def create_and_wait(
        self, thread_id: str, assistant_id: str, *, functions: FunctionsArg = None, **fields: Any
    ) -> resources_pb2.Run:
        """Run the assistant on the thread and return the run once it ended (``completed``, ``failed``,
        ``incomplete``, ``cancelled``, ``expired``) or waits in ``requires_action`` for calls that
        ``functions`` does not answer. Read the answer with :meth:`list_messages` (``run_id=run.id``)."""
        return await self.stream_run(thread_id, assistant_id, functions=functions, **fields).until_done()

    def watch_run(self, thread_id: str, run_id: str, *, functions: FunctionsArg = None) -> RunStream:
        """The events of a run already started (from its current state on)."""
        answer = _functions(functions)
        request = runs_pb2.WatchRunRequest(thread_id=thread_id, run_id=run_id)
        call = self.stubs.runs.WatchRun(
            request, metadata=self._metadata(changes=False), timeout=self.connection.stream_timeout
        )
        return RunStream(call, functions=answer, resume=self._resume(answer))

    async def create_run(self, thread_id: str, assistant_id: str, **fields: Any) -> resources_pb2.Run:
        """Start a run without streaming it (poll :meth:`get_run` or follow it with :meth:`watch_run`)."""
        request = build(
            runs_pb2.CreateRunRequest, dict(fields, thread_id=thread_id, assistant_id=assistant_id)
        )
        return await self._call(self.stubs.runs.CreateRun, request, changes=True)

    async def get_run(self, thread_id: str, run_id: str) -> resources_pb2.Run:
        request = runs_pb2.GetRunRequest(thread_id=thread_id, run_id=run_id)
        return await self._call(self.stubs.runs.GetRun, request)

    async def cancel_run(self, thread_id: str, run_id: str) -> resources_pb2.Run:
        request = runs_pb2.CancelRunRequest(thread_id=thread_id, run_id=run_id)
        return await self._call(self.stubs.runs.CancelRun, request, changes=True)

    async def submit_tool_outputs(
        self, thread_id: str, run_id: str, outputs: Mapping[str, str]
    ) -> resources_pb2.Run:
        """Answer the run's calls (tool call id -> output) without streaming what follows."""
        request = runs_pb2.SubmitToolOutputsRequest(
            thread_id=thread_id,
            run_id=run_id,
            tool_outputs=[runs_pb2.ToolOutput(tool_call_id=k, output=v) for k, v in outputs.items()],
        )
        return await self._call(self.stubs.runs.SubmitToolOutputs, request, changes=True)

    def list_runs(
        self, thread_id: str, *, order: str = "desc", page_size: int = 100
    ) -> AsyncIterator[resources_pb2.Run]:
        request = runs_pb2.ListRunsRequest(thread_id=thread_id, limit=page_size, order=order)
        return self._pages(self.stubs.runs.ListRuns, request)

    def list_run_steps(
        self, thread_id: str, run_id: str, *, order: str = "asc", page_size: int = 100
    ) -> AsyncIterator[resources_pb2.RunStep]:
        request = runs_pb2.ListRunStepsRequest(
            thread_id=thread_id, run_id=run_id, limit=page_size, order=order
        )
        return self._pages(self.stubs.runs.ListRunSteps, request)

    # -- files -------------------------------------------------------------------------------------------

    async def upload_file(
        self, file: str | Path | bytes, *, purpose: str = "assistants", filename: str | None = None
    ) -> resources_pb2.File:
        """Upload a file: a path (read in chunks, never whole) or bytes with a ``filename``."""
        if isinstance(file, bytes):
            if filename is None:
                raise TypeError("upload_file: bytes need a filename")
            name = filename
        else:
            name = filename or Path(file).name
        header = files_pb2.FileUploadHeader(filename=name, purpose=purpose)

        async def requests() -> AsyncIterator[files_pb2.UploadFileRequest]:
            yield files_pb2.UploadFileRequest(header=header)
            if isinstance(file, bytes):
                for start in range(0, len(file), UPLOAD_CHUNK):
                    yield files_pb2.UploadFileRequest(chunk=file[start : start + UPLOAD_CHUNK])
                return
            source = await asyncio.to_thread(Path(file).open, "rb")
            try:
                while chunk := await asyncio.to_thread(source.read, UPLOAD_CHUNK):
                    yield files_pb2.UploadFileRequest(chunk=chunk)
            finally:
                source.close()

        try:
            return await self.stubs.files.UploadFile(
                requests(), metadata=self._metadata(changes=True), timeout=self.connection.stream_timeout
            )
        except aio.AioRpcError as exc:
            raise PygenticError.of(exc) from None

    def list_files(
        self, *, purpose: str | None = None, page_size: int = 100
    ) -> AsyncIterator[resources_pb2.File]:
        request = files_pb2.ListFilesRequest(limit=page_size)
        if purpose is not None:
            request.purpose = purpose
        return self._pages(self.stubs.files.ListFiles, request)

    async def delete_file(self, file_id: str) -> bool:
        request = files_pb2.DeleteFileRequest(file_id=file_id)
        return (await self._call(self.stubs.files.DeleteFile, request, changes=True)).deleted
