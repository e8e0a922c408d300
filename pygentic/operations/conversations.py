"""The Conversations API over threads: a conversation *is* a thread (one id, readable as either), and its
items are the thread's messages, so a conversation continues with a run and a thread with a response."""

from __future__ import annotations

import contextlib
from typing import Any

from pygentic.codec import value_to_py
from pygentic.errors import ApiError, invalid
from pygentic.operations.messages import MessageOperations
from pygentic.operations.responses import ParsedInput
from pygentic.operations.threads import ThreadOperations
from pygentic.operations.validation import check_metadata
from pygentic.proto.v1 import conversations_pb2 as pb
from pygentic.proto.v1 import messages_pb2, responses_pb2, threads_pb2
from pygentic.proto.v1 import resources_pb2 as res

MAX_ITEMS = 20


@contextlib.contextmanager
def _conversation_terms() -> Any:
    """Errors of the thread and message operations in the Conversations API's words."""
    try:
        yield
    except ApiError as exc:
        message = str(exc).replace("thread_id", "conversation_id").replace("message_id", "item_id")
        message = message.replace("No thread", "No conversation").replace("thread ", "conversation ")
        param = {"thread_id": "conversation_id", "message_id": "item_id"}.get(exc.param or "", exc.param)
        raise ApiError(exc.kind, message, param=param) from None


def conversation_of(thread: res.Thread) -> pb.Conversation:
    return pb.Conversation(
        id=thread.id, object="conversation", created_at=thread.created_at, metadata=thread.metadata
    )


def item_of(message: res.Message) -> responses_pb2.ResponseItem:
    """A thread's message as a conversation item."""
    item = responses_pb2.ResponseItem(type="message", id=message.id, role=message.role)
    item.status = "in_progress" if message.status == "in_progress" else "completed"
    text_type = "output_text" if message.role == "assistant" else "input_text"
    for part in message.content:
        if part.type == "text":
            item.content.add(type=text_type, text=part.text.value)
        elif part.type == "image_file":
            item.content.add(
                type="input_image", file_id=part.image_file.file_id, detail=part.image_file.detail
            )
        elif part.type == "image_url":
            item.content.add(type="input_image", image_url=part.image_url.url, detail=part.image_url.detail)
    return item


def _messages(value: Any, param: str) -> list[res.MessageInput]:
    """Message items (as a response's input takes them) as thread messages."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(param, "must be a list of items.")
    if len(value) > MAX_ITEMS:
        raise invalid(param, f"at most {MAX_ITEMS} items at a time, got {len(value)}.")
    parsed = ParsedInput(value, param)
    if parsed.outputs or parsed.instructions:
        raise invalid(param, "only user and assistant message items can be added to a conversation.")
    return parsed.messages


class ConversationOperations:
    """Create, get, update, delete conversations; list, add, get and delete their items."""

    def __init__(self, threads: ThreadOperations, messages: MessageOperations) -> None:
        self.threads = threads
        self.messages = messages

    async def create(self, request: pb.CreateConversationRequest) -> pb.Conversation:
        check_metadata(request.metadata)
        inputs = _messages(value_to_py(request, "items"), "items")
        thread = await self.threads.create(
            threads_pb2.CreateThreadRequest(messages=inputs, metadata=request.metadata)
        )
        return conversation_of(thread)

    async def get(self, request: pb.GetConversationRequest) -> pb.Conversation:
        with _conversation_terms():
            return conversation_of(
                await self.threads.get(threads_pb2.GetThreadRequest(thread_id=request.conversation_id))
            )

    async def update(self, request: pb.UpdateConversationRequest) -> pb.Conversation:
        update = threads_pb2.UpdateThreadRequest(thread_id=request.conversation_id, metadata=request.metadata)
        update.update_mask.paths.append("metadata")
        with _conversation_terms():
            return conversation_of(await self.threads.update(update))

    async def delete(self, request: pb.DeleteConversationRequest) -> pb.DeleteConversationResponse:
        with _conversation_terms():
            await self.threads.delete(threads_pb2.DeleteThreadRequest(thread_id=request.conversation_id))
        return pb.DeleteConversationResponse(
            id=request.conversation_id, object="conversation.deleted", deleted=True
        )

    async def list_items(self, request: pb.ListConversationItemsRequest) -> pb.ListConversationItemsResponse:
        if len(request.include):
            raise invalid("include", "no include values are supported yet.")
        listing = messages_pb2.ListMessagesRequest(
            thread_id=request.conversation_id, order=request.order if request.HasField("order") else "desc"
        )
        for name in ("limit", "after"):
            if request.HasField(name):
                setattr(listing, name, getattr(request, name))
        with _conversation_terms():
            page = await self.messages.list(listing)
        return _page([item_of(m) for m in page.data], page.has_more)

    async def create_items(
        self, request: pb.CreateConversationItemsRequest
    ) -> pb.ListConversationItemsResponse:
        inputs = _messages(value_to_py(request, "items"), "items")
        if not inputs:
            raise invalid("items", "must name at least one item.")
        made = []
        with _conversation_terms():
            for message in inputs:
                create = messages_pb2.CreateMessageRequest(
                    thread_id=request.conversation_id, role=message.role, content=message.content
                )
                made.append(item_of(await self.messages.create(create)))
        return _page(made, False)

    async def get_item(self, request: pb.GetConversationItemRequest) -> responses_pb2.ResponseItem:
        get = messages_pb2.GetMessageRequest(thread_id=request.conversation_id, message_id=request.item_id)
        with _conversation_terms():
            return item_of(await self.messages.get(get))

    async def delete_item(self, request: pb.DeleteConversationItemRequest) -> pb.Conversation:
        delete = messages_pb2.DeleteMessageRequest(
            thread_id=request.conversation_id, message_id=request.item_id
        )
        with _conversation_terms():
            await self.messages.delete(delete)
        return await self.get(pb.GetConversationRequest(conversation_id=request.conversation_id))


def _page(items: list[responses_pb2.ResponseItem], has_more: bool) -> pb.ListConversationItemsResponse:
    out = pb.ListConversationItemsResponse(object="list", data=items, has_more=has_more)
    if items:
        out.first_id, out.last_id = items[0].id, items[-1].id
    return out
