"""Assistant operations: create, get, list, update, delete."""

from __future__ import annotations

from pygentic import ids
from pygentic.codec import to_json, value_to_py
from pygentic.errors import not_found, unsupported
from pygentic.objects import assistant_to_proto, ensure_storable
from pygentic.operations.implicit_stores import ImplicitStores
from pygentic.operations.paging import list_response
from pygentic.operations.references import References
from pygentic.operations.validation import (
    MAX_DESCRIPTION,
    MAX_INSTRUCTIONS,
    MAX_NAME,
    REASONING_EFFORTS,
    check_metadata,
    check_model,
    check_range,
    check_response_format,
    check_text,
    check_tool_resources,
    check_tools,
    fields_to_update,
    page_params,
    require_id,
)
from pygentic.proto.v1 import assistants_pb2 as pb
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.storage import Database, Page
from pygentic.storage import repositories as repos
from pygentic.storage.repositories import now
from pygentic.storage.tables import AssistantRow

UPDATABLE = (
    "model",
    "name",
    "description",
    "instructions",
    "tools",
    "tool_resources",
    "metadata",
    "temperature",
    "top_p",
    "response_format",
    "reasoning_effort",
)


class AssistantOperations:
    """The Assistants API operations."""

    def __init__(self, db: Database, references: References, stores: ImplicitStores) -> None:
        self.db = db
        self.references = references
        self.stores = stores

    async def create(self, request: pb.CreateAssistantRequest) -> res.Assistant:
        check_model(request.model)
        self._check_common(request)
        row = AssistantRow(
            id=ids.new_id(ids.ASSISTANT),
            created_at=now(),
            model=request.model,
            name=request.name if request.HasField("name") else None,
            description=request.description if request.HasField("description") else None,
            instructions=request.instructions if request.HasField("instructions") else None,
            tools=[to_json(t) for t in request.tools],
            tool_resources=self.stores.parse(
                request.tool_resources if request.HasField("tool_resources") else None
            ),
            meta=dict(request.metadata),
            temperature=request.temperature if request.HasField("temperature") else None,
            top_p=request.top_p if request.HasField("top_p") else None,
            response_format=value_to_py(request, "response_format"),
            reasoning_effort=request.reasoning_effort if request.HasField("reasoning_effort") else None,
        )
        proto = ensure_storable(assistant_to_proto(row))
        await self.references.check(tool_resources=[(row.tool_resources, "tool_resources")])
        async with self.db.write() as session:
            created = row.tool_resources
            row.tool_resources = await self.stores.create_helpers(session, created)
            await repos.assistants.add(session, row)
        if row.tool_resources is not created:
            self.stores.wake()
            proto = assistant_to_proto(row)
        return proto

    async def get(self, request: pb.GetAssistantRequest) -> res.Assistant:
        return assistant_to_proto(await self.require(request.assistant_id))

    async def require(self, assistant_id: str, param: str = "assistant_id") -> AssistantRow:
        """The stored assistant, or NOT_FOUND naming the id."""
        require_id(assistant_id, param)
        async with self.db.read() as session:
            row = await repos.assistants.get(session, assistant_id)
        if row is None:
            raise not_found("assistant", assistant_id, param)
        return row

    async def list(self, request: pb.ListAssistantsRequest) -> pb.ListAssistantsResponse:
        params = page_params(request)

        async def fetch() -> Page[AssistantRow]:
            async with self.db.read() as session:
                return await repos.assistants.page(session, params)

        return await list_response(pb.ListAssistantsResponse, "assistant", fetch, assistant_to_proto)

    async def update(self, request: pb.UpdateAssistantRequest) -> res.Assistant:
        require_id(request.assistant_id, "assistant_id")
        fields = fields_to_update(request, UPDATABLE)
        if "model" in fields:
            check_model(request.model)
        self._check_common(request)
        resources = self.stores.parse(request.tool_resources if request.HasField("tool_resources") else None)
        if "tool_resources" in fields:
            await self.references.check(tool_resources=[(resources, "tool_resources")])
        async with self.db.write() as session:
            row = await repos.assistants.get(session, request.assistant_id)
            if row is None:
                raise not_found("assistant", request.assistant_id, "assistant_id")
            for name in fields:
                if name == "tools":
                    row.tools = [to_json(t) for t in request.tools]
                elif name == "metadata":
                    row.meta = dict(request.metadata)
                elif name == "tool_resources":
                    row.tool_resources = await self.stores.create_helpers(session, resources)
                    if row.tool_resources is not resources:
                        session.info["wake_ingestion"] = True
                elif name == "response_format":
                    row.response_format = value_to_py(request, "response_format")
                elif name == "model":
                    row.model = request.model
                else:
                    setattr(row, name, getattr(request, name) if request.HasField(name) else None)
            proto = ensure_storable(assistant_to_proto(row))
            session.add(row)
            wake = session.info.pop("wake_ingestion", False)
        if wake:
            self.stores.wake()
        return proto

    async def delete(self, request: pb.DeleteAssistantRequest) -> pb.DeleteAssistantResponse:
        require_id(request.assistant_id, "assistant_id")
        async with self.db.write() as session:
            row = await repos.assistants.get(session, request.assistant_id)
            if row is None:
                raise not_found("assistant", request.assistant_id, "assistant_id")
            await repos.assistants.delete(session, row)
        return pb.DeleteAssistantResponse(id=request.assistant_id, object="assistant.deleted", deleted=True)

    @staticmethod
    def _check_common(request: pb.CreateAssistantRequest | pb.UpdateAssistantRequest) -> None:
        check_text(request.name if request.HasField("name") else None, "name", MAX_NAME)
        check_text(
            request.description if request.HasField("description") else None, "description", MAX_DESCRIPTION
        )
        check_text(
            request.instructions if request.HasField("instructions") else None,
            "instructions",
            MAX_INSTRUCTIONS,
        )
        check_tools(request.tools)
        check_tool_resources(request.tool_resources)
        check_metadata(request.metadata)
        check_range(request.temperature if request.HasField("temperature") else None, "temperature", 0, 2)
        check_range(request.top_p if request.HasField("top_p") else None, "top_p", 0, 1)
        check_response_format(value_to_py(request, "response_format"))
        if request.HasField("reasoning_effort") and request.reasoning_effort not in REASONING_EFFORTS:
            raise unsupported("reasoning_effort", request.reasoning_effort, REASONING_EFFORTS)
