"""Message operations: create, get, list, update, delete; and the message input rules shared with threads
and runs (``messages`` of a new thread, a run's ``additional_messages``)."""

from __future__ import annotations

from typing import Any

from pygentic import ids
from pygentic.codec import to_json, value_to_py
from pygentic.errors import invalid, missing, not_found, precondition, unsupported
from pygentic.objects import ensure_storable, message_to_proto, text_part
from pygentic.operations.implicit_stores import ImplicitStores, file_search_attachments
from pygentic.operations.paging import list_response
from pygentic.operations.references import References
from pygentic.operations.validation import (
    MAX_CONTENT_PARTS,
    MAX_MESSAGE_CHARS,
    check_metadata,
    check_text,
    fields_to_update,
    page_params,
    require_id,
)
from pygentic.proto.v1 import messages_pb2 as pb
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.storage import Database, Page
from pygentic.storage import repositories as repos
from pygentic.storage.repositories import now
from pygentic.storage.rows import new_row
from pygentic.storage.tables import MessageRow

ROLES = ("user", "assistant")
ATTACHMENT_TOOLS = ("code_interpreter", "file_search")
MAX_ATTACHMENTS = 10


def normalize_content(content: Any, param: str) -> list[dict[str, Any]]:
    """A message's input ``content`` (a string or a list of parts) as stored content parts."""
    if isinstance(content, str):
        if not content:
            raise invalid(param, "must not be empty.")
        if len(content) > MAX_MESSAGE_CHARS:
            raise invalid(param, f"must be at most {MAX_MESSAGE_CHARS} characters.")
        return [text_part(content)]
    if not isinstance(content, list) or not content:
        raise invalid(param, "must be a string or a non-empty list of content parts.")
    if len(content) > MAX_CONTENT_PARTS:
        raise invalid(param, f"at most {MAX_CONTENT_PARTS} content parts are allowed, got {len(content)}.")
    parts: list[dict[str, Any]] = []
    chars = 0
    for i, part in enumerate(content):
        where = f"{param}[{i}]"
        if not isinstance(part, dict):
            raise invalid(where, "must be an object with a 'type'.")
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            if isinstance(text, dict):  # the output shape, as read back from a message
                text = text.get("value")
            if not isinstance(text, str) or not text:
                raise invalid(f"{where}.text", "must be a non-empty string.")
            chars += len(text)
            if chars > MAX_MESSAGE_CHARS:
                raise invalid(param, f"the text of all parts must be at most {MAX_MESSAGE_CHARS} characters.")
            parts.append(text_part(text))
        elif kind == "image_file":
            image = part.get("image_file")
            if (
                not isinstance(image, dict)
                or not isinstance(image.get("file_id"), str)
                or not image["file_id"]
            ):
                raise missing(f"{where}.image_file.file_id")
            require_id(image["file_id"], f"{where}.image_file.file_id")
            _check_detail(image, f"{where}.image_file.detail")
            parts.append(
                {
                    "type": "image_file",
                    "image_file": {k: image[k] for k in ("file_id", "detail") if k in image},
                }
            )
        elif kind == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str) or not image["url"]:
                raise missing(f"{where}.image_url.url")
            check_text(image["url"], f"{where}.image_url.url", MAX_MESSAGE_CHARS)
            _check_detail(image, f"{where}.image_url.detail")
            parts.append(
                {"type": "image_url", "image_url": {k: image[k] for k in ("url", "detail") if k in image}}
            )
        else:
            raise unsupported(f"{where}.type", kind, ("text", "image_file", "image_url"))
    return parts


def _check_detail(image: dict[str, Any], param: str) -> None:
    if "detail" in image and image["detail"] not in ("auto", "low", "high"):
        raise invalid(param, "must be 'auto', 'low' or 'high'.")


def check_attachments(attachments: Any, param: str) -> list[dict[str, Any]]:
    if len(attachments) > MAX_ATTACHMENTS:
        raise invalid(param, f"at most {MAX_ATTACHMENTS} attachments are allowed.")
    for i, attachment in enumerate(attachments):
        require_id(attachment.file_id, f"{param}[{i}].file_id")
        for j, tool in enumerate(attachment.tools):
            if tool.type not in ATTACHMENT_TOOLS:
                raise invalid(f"{param}[{i}].tools[{j}].type", "must be 'code_interpreter' or 'file_search'.")
    return [to_json(a) for a in attachments]


def new_message(
    thread_id: str,
    role: str,
    content: Any,
    attachments: Any,
    metadata: Any,
    *,
    param: str = "",
    created_at: int | None = None,
) -> tuple[MessageRow, res.Message]:
    """Validate one message input (``param`` prefixes field names in errors): its row and its API
    object."""
    prefix = f"{param}." if param else ""
    if not role:
        raise missing(f"{prefix}role")
    if role not in ROLES:
        raise unsupported(f"{prefix}role", role, ROLES)
    if content is None:
        raise missing(f"{prefix}content")
    row = new_row(
        MessageRow,
        id=ids.new_id(ids.MESSAGE),
        created_at=created_at if created_at is not None else now(),
        thread_id=thread_id,
        status="completed",
        role=role,
        content=normalize_content(content, f"{prefix}content"),
        attachments=check_attachments(attachments, f"{prefix}attachments"),
        meta=check_metadata(metadata, f"{prefix}metadata"),
    )
    return row, ensure_storable(message_to_proto(row))


def message_row_from_input(thread_id: str, message: res.MessageInput, param: str) -> MessageRow:
    """A row for a ``MessageInput`` (a new thread's messages, a run's additional messages)."""
    row, _ = new_message(
        thread_id,
        message.role,
        value_to_py(message, "content"),
        message.attachments,
        message.metadata,
        param=param,
    )
    return row


class MessageOperations:
    """The Messages API operations."""

    def __init__(self, db: Database, references: References, stores: ImplicitStores) -> None:
        self.db = db
        self.references = references
        self.stores = stores

    async def create(self, request: pb.CreateMessageRequest) -> res.Message:
        require_id(request.thread_id, "thread_id")
        row, message = new_message(
            request.thread_id,
            request.role,
            value_to_py(request, "content"),
            request.attachments,
            request.metadata,
        )
        await self.references.check(messages=[(row, "")])
        attached = False
        # Attachments to index need the ORM session; a plain message takes the hot path's statements.
        indexed = bool(file_search_attachments([row]))
        async with self.db.write() if indexed else self.db.transaction() as session:
            found, active = await repos.threads.lock_with_active_run(session, request.thread_id)
            if not found:
                raise not_found("thread", request.thread_id, "thread_id")
            if active is not None:
                raise precondition(
                    f"Can't add messages to {request.thread_id} while a run {active} is active."
                )
            await repos.messages.insert(session, row)
            if indexed:
                thread = await repos.threads.get(session, request.thread_id)
                assert thread is not None  # locked above
                attached = await self.stores.attach(session, thread, [row])
        if attached:
            self.stores.wake()
        return message  # the row as built: storing it changed nothing the API shows

    async def get(self, request: pb.GetMessageRequest) -> res.Message:
        require_id(request.thread_id, "thread_id")
        require_id(request.message_id, "message_id")
        async with self.db.read() as session:
            row = await repos.messages.get(session, request.message_id, thread_id=request.thread_id)
            if row is None:
                await self._require_thread(session, request.thread_id)
                raise not_found("message", request.message_id, "message_id")
        return message_to_proto(row)

    async def list(self, request: pb.ListMessagesRequest) -> pb.ListMessagesResponse:
        require_id(request.thread_id, "thread_id")
        params = page_params(request)
        filters: dict[str, Any] = {"thread_id": request.thread_id}
        if request.HasField("run_id") and request.run_id:
            filters["run_id"] = request.run_id

        async def fetch() -> Page[MessageRow]:
            async with self.db.read() as session:
                await self._require_thread(session, request.thread_id)
                return await repos.messages.page(session, params, **filters)

        return await list_response(pb.ListMessagesResponse, "message", fetch, message_to_proto)

    async def update(self, request: pb.UpdateMessageRequest) -> res.Message:
        require_id(request.thread_id, "thread_id")
        require_id(request.message_id, "message_id")
        fields = fields_to_update(request, ("metadata",))
        check_metadata(request.metadata)
        async with self.db.write() as session:
            row = await repos.messages.get(session, request.message_id, thread_id=request.thread_id)
            if row is None:
                await self._require_thread(session, request.thread_id)
                raise not_found("message", request.message_id, "message_id")
            if "metadata" in fields:
                row.meta = dict(request.metadata)
                session.add(row)
        return message_to_proto(row)

    async def delete(self, request: pb.DeleteMessageRequest) -> pb.DeleteMessageResponse:
        require_id(request.thread_id, "thread_id")
        require_id(request.message_id, "message_id")
        async with self.db.write() as session:
            row = await repos.messages.get(session, request.message_id, thread_id=request.thread_id)
            if row is None:
                await self._require_thread(session, request.thread_id)
                raise not_found("message", request.message_id, "message_id")
            await repos.messages.delete(session, row)
        return pb.DeleteMessageResponse(id=request.message_id, object="thread.message.deleted", deleted=True)

    @staticmethod
    async def _require_thread(session: Any, thread_id: str) -> None:
        if await repos.threads.get(session, thread_id) is None:
            raise not_found("thread", thread_id, "thread_id")
