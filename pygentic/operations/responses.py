"""The Responses API on the run engine: a response is a run on a thread (its conversation's, its previous
response's, or a new one), so routing, limits, retries, cancellation, leases and recovery are the runs'.

A response's status and output are read from its run when asked for (see
:mod:`pygentic.operations.response_view`), so ``previous_response_id`` chains and
``GET /v1/responses/{id}`` hold across restarts and replicas. A response that answers its previous
response's function calls (``function_call_output`` items) continues that response's run; its output is
the run's steps from where it began.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from pygentic import codec, ids
from pygentic.codec import optional, py_to_value, to_json, value_to_py
from pygentic.errors import ApiError, invalid, missing, not_found, precondition, unsupported
from pygentic.operations.messages import new_message
from pygentic.operations.response_view import ResponseEvents, call_item_id, project, response_rows
from pygentic.operations.runs import RunOperations
from pygentic.operations.validation import TOOL_CHOICES, check_metadata, check_model, require_id
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import responses_pb2 as pb
from pygentic.proto.v1 import runs_pb2
from pygentic.runtime.bus import Subscription, cut_off_error
from pygentic.runtime.engine import RunEngine
from pygentic.storage import Database
from pygentic.storage import repositories as repos
from pygentic.storage.repositories import EXECUTING_RUN_STATUSES, now
from pygentic.storage.tables import AssistantRow, MessageRow, ResponseRow, RunRow, RunStepRow, ThreadRow

MESSAGE_ROLES = ("user", "assistant", "system", "developer")
ITEM_TYPES = ("message", "function_call", "function_call_output")
TOOL_TYPES = ("function", "file_search", "code_interpreter")
INCLUDE_VALUES = ("file_search_call.results", "code_interpreter_call.outputs")
TRUNCATIONS = ("disabled", "auto")
ORDERS = ("asc", "desc")


def _content(content: Any, param: str) -> str | list[dict[str, Any]]:
    """A Responses message's content as an Assistants message's (text and image parts)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list) or not content:
        raise invalid(param, "must be a string or a non-empty list of content parts.")
    parts: list[dict[str, Any]] = []
    for i, part in enumerate(content):
        where = f"{param}[{i}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            if not isinstance(part.get("text"), str):
                raise missing(f"{where}.text")
            parts.append({"type": "text", "text": part["text"]})
        elif kind == "input_image":
            detail = part.get("detail") or "auto"
            if isinstance(part.get("file_id"), str):
                parts.append(
                    {"type": "image_file", "image_file": {"file_id": part["file_id"], "detail": detail}}
                )
            elif isinstance(part.get("image_url"), str):
                parts.append({"type": "image_url", "image_url": {"url": part["image_url"], "detail": detail}})
            else:
                raise missing(f"{where}.image_url")
        else:
            raise unsupported(f"{where}.type", kind, ("input_text", "input_image", "output_text"))
    return parts


class ParsedInput:
    """A request's input: the thread's new messages, system/developer text for the instructions, the
    outputs of the previous response's function calls, and (a stateless caller sending the whole history,
    as the openai-agents SDK does) earlier function calls with their outputs.

    ``entries`` keeps the thread's new history in order, each with the parameter that names it in errors:
    ("message", MessageInput, param, its input item) and ("calls", [call, ...], param, None) where a call is
    the Assistants step entry of a function call with its output."""

    def __init__(self, value: Any, param: str = "input") -> None:
        self.messages: list[res.MessageInput] = []
        self.instructions: list[str] = []
        self.outputs: list[runs_pb2.ToolOutput] = []
        self.entries: list[tuple[str, Any, str, dict[str, Any] | None]] = []
        self.items: list[dict[str, Any]] = []  # as the input_items list shows them
        self._calls: dict[str, dict[str, Any]] = {}
        if value is None:
            raise missing(param)
        items = [{"role": "user", "content": value}] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise invalid(param, "must be a string or a non-empty list of items.")
        for i, item in enumerate(items):
            self._add(item, f"{param}[{i}]" if not isinstance(value, str) else param)
        if self._calls:
            missing_output = [c for c, call in self._calls.items() if call["function"]["output"] is None]
            if missing_output:
                raise invalid(param, f"No tool output found for function call {missing_output[0]}.")

    @property
    def history_calls(self) -> bool:
        """Whether the input carries earlier function calls (a stateless history)."""
        return bool(self._calls)

    def _add(self, item: Any, param: str) -> None:
        if not isinstance(item, dict):
            raise invalid(param, "must be an object.")
        kind = item.get("type", "message")
        if kind == "function_call":
            call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments")
            for key, value in (("call_id", call_id), ("name", name)):
                if not isinstance(value, str) or not value:
                    raise missing(f"{param}.{key}")
            if not isinstance(arguments, str):
                raise invalid(f"{param}.arguments", "must be a string.")
            call = {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": arguments, "output": None},
            }
            self._calls[call_id] = call
            if self.entries and self.entries[-1][0] == "calls":
                self.entries[-1][1].append(call)
            else:
                self.entries.append(("calls", [call], param, None))
            shown = {"type": kind, "id": item.get("id") or call_item_id(call_id), "call_id": call_id}
            self.items.append({**shown, "name": name, "arguments": arguments, "status": "completed"})
            return
        if kind == "function_call_output":
            call_id, output = item.get("call_id"), item.get("output")
            if not isinstance(call_id, str) or not call_id:
                raise missing(f"{param}.call_id")
            if not isinstance(output, str):
                raise invalid(f"{param}.output", "must be a string.")
            if call_id in self._calls:
                self._calls[call_id]["function"]["output"] = output
            else:
                self.outputs.append(runs_pb2.ToolOutput(tool_call_id=call_id, output=output))
            self.items.append(
                {
                    "type": kind,
                    "id": ids.new_id("fco_"),
                    "call_id": call_id,
                    "output": output,
                    "status": "completed",
                }
            )
            return
        if kind != "message":
            raise unsupported(f"{param}.type", kind, ITEM_TYPES)
        role = item.get("role")
        if role not in MESSAGE_ROLES:
            raise unsupported(f"{param}.role", role, MESSAGE_ROLES)
        content = _content(item.get("content"), f"{param}.content")
        texts = [content] if isinstance(content, str) else [p["text"] for p in content if p["type"] == "text"]
        shown = [{"type": "input_text", "text": content}] if isinstance(content, str) else item["content"]
        if role == "assistant":  # what the model said: output_text parts, as in a response's output
            shown = [{"type": "output_text", "text": text} for text in texts]
        if role in ("system", "developer"):
            self.instructions.append("\n".join(texts))
            self.items.append({"type": "message", "id": ids.new_id("msg_"), "role": role, "content": shown})
            return
        message = res.MessageInput(role=role)
        py_to_value(message.content, content)
        self.messages.append(message)
        shown_item = {"type": "message", "role": role, "content": shown, "status": "completed"}
        self.items.append(shown_item)  # its id is the message's, once it is made
        self.entries.append(("message", message, param, shown_item))


def _tools(request: pb.CreateResponseRequest) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The request's tools in the Assistants shape the run engine offers the model, and the tool
    resources (vector stores, files) the built-in ones name."""
    tools: list[dict[str, Any]] = []
    resources: dict[str, Any] = {}
    for i, tool in enumerate(request.tools):
        if tool.type == "file_search":
            if not tool.vector_store_ids:
                raise missing(f"tools[{i}].vector_store_ids")
            stores = resources.setdefault("file_search", {"vector_store_ids": []})["vector_store_ids"]
            stores.extend(v for v in tool.vector_store_ids if v not in stores)
            options: dict[str, Any] = {}
            if tool.HasField("max_num_results"):
                if not 1 <= tool.max_num_results <= 50:
                    raise invalid(
                        f"tools[{i}].max_num_results", f"must be 1 to 50, got {tool.max_num_results}."
                    )
                options["max_num_results"] = tool.max_num_results
            if tool.HasField("ranking_options"):
                options["ranking_options"] = to_json(tool.ranking_options)
            tools.append({"type": "file_search", "file_search": options})
            continue
        if tool.type == "code_interpreter":
            container = value_to_py(tool, "container")
            if isinstance(container, dict):
                file_ids = container.get("file_ids") or []
                if not isinstance(file_ids, list) or not all(isinstance(f, str) for f in file_ids):
                    raise invalid(f"tools[{i}].container.file_ids", "must be a list of file ids.")
                if file_ids:
                    resources.setdefault("code_interpreter", {"file_ids": []})["file_ids"].extend(file_ids)
            elif container not in (None, "auto"):
                raise invalid(
                    f"tools[{i}].container", 'must be "auto" or {"type": "auto", "file_ids": [...]}.'
                )
            tools.append({"type": "code_interpreter"})
            continue
        if tool.type != "function":
            raise unsupported(f"tools[{i}].type", tool.type, TOOL_TYPES)
        if not tool.name:
            raise missing(f"tools[{i}].name")
        function: dict[str, Any] = {"name": tool.name}
        if tool.HasField("description"):
            function["description"] = tool.description
        if tool.HasField("parameters"):
            function["parameters"] = to_json(tool.parameters)
        if tool.HasField("strict"):
            function["strict"] = tool.strict
        tools.append({"type": "function", "function": function})
    return tools, resources


def _tool_choice(value: Any) -> Any:
    """``tool_choice`` in the Assistants shape (``{"type": "function", "function": {"name"}}``)."""
    if value is None or (isinstance(value, str) and value in TOOL_CHOICES):
        return value
    if isinstance(value, dict) and value.get("type") == "function" and isinstance(value.get("name"), str):
        return {"type": "function", "function": {"name": value["name"]}}
    raise invalid("tool_choice", 'must be "none", "auto", "required" or {"type": "function", "name": "..."}.')


def _response_format(request: pb.CreateResponseRequest) -> Any:
    """``text.format`` as the run's ``response_format``."""
    if not request.HasField("text"):
        return None
    fmt = value_to_py(request.text, "format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise invalid("text.format.type", 'must be "text", "json_object" or "json_schema".')
    if fmt["type"] != "json_schema":
        return {"type": fmt["type"]}
    if not isinstance(fmt.get("name"), str) or not isinstance(fmt.get("schema"), dict):
        raise missing("text.format.name" if not isinstance(fmt.get("name"), str) else "text.format.schema")
    schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
    return {"type": "json_schema", "json_schema": schema}


def _conversation_id(request: pb.CreateResponseRequest) -> str | None:
    value = value_to_py(request, "conversation")
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str) or not value:
        raise invalid("conversation", 'must be a conversation id or {"id": "..."}.')
    return value


@dataclass
class Plan:
    """A checked request's input, the response it follows, and the run that will answer it (new, or the
    previous response's when the input answers its function calls)."""

    parsed: ParsedInput
    previous: ResponseRow | None
    conversation: str | None
    run_id: str
    tools: list[dict[str, Any]]  # in the Assistants shape
    resources: dict[str, Any]  # the vector stores and files the built-in tools name

    @property
    def continues(self) -> bool:
        return bool(self.parsed.outputs)


class ResponseOperations:
    """Create (whole, streamed or in the background), get, delete, cancel, and list input items."""

    def __init__(self, db: Database, engine: RunEngine, runs: RunOperations) -> None:
        self.db = db
        self.engine = engine
        self.runs = runs

    # ----------------------------------------------------------------- create

    def _row(
        self, request: pb.CreateResponseRequest, response_id: str, thread_id: str, parsed: ParsedInput
    ) -> ResponseRow:
        text = to_json(request.text) if request.HasField("text") else None
        return ResponseRow(
            id=response_id,
            created_at=now(),
            thread_id=thread_id,
            run_id="",
            previous_response_id=optional(request, "previous_response_id"),
            conversation_id=_conversation_id(request),
            model=request.model,
            instructions=optional(request, "instructions"),
            tools=[to_json(t) for t in request.tools],
            tool_choice=value_to_py(request, "tool_choice") or "auto",
            parallel_tool_calls=request.parallel_tool_calls
            if request.HasField("parallel_tool_calls")
            else True,
            temperature=optional(request, "temperature"),
            top_p=optional(request, "top_p"),
            max_output_tokens=optional(request, "max_output_tokens"),
            text=text or {"format": {"type": "text"}},
            truncation=optional(request, "truncation") or "disabled",
            meta=check_metadata(request.metadata),
            background=bool(optional(request, "background")),
            store=optional(request, "store") is not False,
            user=optional(request, "user"),
            input_items=parsed.items,
            include=list(request.include),
        )

    def _run_request(self, request: pb.CreateResponseRequest, plan: Plan, thread_id: str) -> Any:
        """The run's settings (its messages are written with the response, in the input's order)."""
        run = runs_pb2.CreateRunRequest(thread_id=thread_id)
        instructions = [request.instructions] if request.HasField("instructions") else []
        joined = "\n\n".join([*instructions, *plan.parsed.instructions])
        if joined:
            run.instructions = joined
        for tool in plan.tools:
            run.tools.append(codec.from_json(tool, res.Tool))
        choice = _tool_choice(value_to_py(request, "tool_choice"))
        if choice is not None:
            py_to_value(run.tool_choice, choice)
        fmt = _response_format(request)
        if fmt is not None:
            py_to_value(run.response_format, fmt)
        for name in ("temperature", "top_p", "parallel_tool_calls"):
            if request.HasField(name):
                setattr(run, name, getattr(request, name))
        if request.HasField("max_output_tokens"):
            if request.max_output_tokens < 1:
                raise invalid("max_output_tokens", f"must be at least 1, got {request.max_output_tokens}.")
            run.max_completion_tokens = request.max_output_tokens
        run.metadata.update(request.metadata)
        truncation = optional(request, "truncation")
        if truncation is not None and truncation not in TRUNCATIONS:
            raise unsupported("truncation", truncation, TRUNCATIONS)
        run.truncation_strategy.type = "auto"
        return run

    async def _prepare(self, request: pb.CreateResponseRequest) -> Plan:
        check_model(request.model)
        _check_include(request.include)
        parsed = ParsedInput(value_to_py(request, "input"))
        conversation = _conversation_id(request)
        previous_id = optional(request, "previous_response_id")
        if conversation is not None and previous_id is not None:
            raise invalid("conversation", "cannot be used together with previous_response_id.")
        previous = await self._previous(previous_id) if previous_id is not None else None
        if parsed.history_calls and (previous is not None or conversation is not None):
            raise invalid(
                "input",
                "function_call items (a whole history) start a new response chain; with previous_response_id "
                "or conversation, send only the new items (function_call_output answers its calls).",
            )
        if parsed.outputs:
            if previous is None:
                raise missing("previous_response_id", "for function_call_output items")
            if parsed.messages or parsed.instructions:
                raise invalid(
                    "input", "function_call_output items cannot be mixed with messages in one response."
                )
            return Plan(parsed, previous, conversation, previous.run_id, [], {})
        tools, resources = _tools(request)
        return Plan(parsed, previous, conversation, ids.new_id(ids.RUN), tools, resources)

    async def _start(self, request: pb.CreateResponseRequest, response_id: str, plan: Plan) -> ResponseRow:
        """Store the response with its run (new, or the previous response's continued with the function
        call outputs given) and start it."""
        if plan.continues:
            return await self._continue(request, response_id, plan)
        thread: ThreadRow | None = None
        if plan.conversation is not None:
            thread_id = plan.conversation
            require_id(thread_id, "conversation")
        elif plan.previous is not None:
            thread_id = await self._thread_after(plan.previous)
        else:
            thread = ThreadRow(id=ids.new_id(ids.THREAD), created_at=now())
            thread_id = thread.id
        parsed, resources = plan.parsed, plan.resources
        run_request = self._run_request(request, plan, thread_id)
        rows = _input_rows(parsed, thread_id, request.model)
        messages = [(row, param) for row, param in rows if isinstance(row, MessageRow)]
        await self.runs.threads.references.check(
            messages=messages, tool_resources=[(resources, "tools")] if resources else []
        )
        response = self._row(request, response_id, thread_id, parsed)
        response.run_id = plan.run_id
        settings = AssistantRow(id="", created_at=response.created_at, model=request.model, tools=[])
        repository: dict[type, Any] = {
            MessageRow: repos.messages,
            RunRow: repos.runs,
            RunStepRow: repos.run_steps,
        }

        async def store(session: Any, run: RunRow) -> None:
            if resources:
                run.tool_resources = resources
                await repos.runs.save(session, run, ("tool_resources",))
            for row, _ in rows:
                await repository[type(row)].insert(session, row)
            await repos.responses.insert(session, response)

        try:
            await self.runs.start_prepared(run_request, plan.run_id, settings, thread=thread, also=store)
        except ApiError as exc:
            raise _in_response_terms(exc) from None
        return response

    async def _thread_after(self, previous: ResponseRow) -> str:
        """The thread a response following ``previous`` runs on: its thread while ``previous`` is that
        thread's latest response; else (a branch from an earlier point of the chain) a copy of the
        thread as it was when ``previous`` ended, so the new response sees that history and no later turn."""
        async with self.db.write() as session:
            later = (
                await session.exec(
                    select(ResponseRow.id).where(
                        ResponseRow.thread_id == previous.thread_id,
                        col(ResponseRow.seq) > previous.seq,
                        ResponseRow.run_id != previous.run_id,
                    )
                )
            ).first()
            if later is None:
                return previous.thread_id
            return await _fork(session, previous)

    async def _previous(self, response_id: str) -> ResponseRow:
        async with self.db.read() as session:
            previous = await repos.responses.get(session, response_id)
        if previous is None:
            raise not_found("response", response_id, "previous_response_id")
        return previous

    async def _continue(self, request: pb.CreateResponseRequest, response_id: str, plan: Plan) -> ResponseRow:
        """The previous response's run, waiting for these function call outputs, goes on."""
        previous, parsed = plan.previous, plan.parsed
        assert previous is not None  # _prepare checked
        response = self._row(request, response_id, previous.thread_id, parsed)
        response.run_id = previous.run_id
        async with self.db.write() as session:
            run = await repos.runs.get(session, previous.run_id)
            if run is None or run.status != "requires_action":
                raise precondition(
                    f"Response {previous.id} is not waiting for function call outputs "
                    f"(its run is {run.status if run else 'gone'})."
                )
            response.first_step = await _step_count(session, run.id)
            await repos.responses.insert(session, response)
        await self.engine.submit_tool_outputs(previous.thread_id, previous.run_id, parsed.outputs)
        return response

    async def create(self, request: pb.CreateResponseRequest) -> pb.Response:
        """The response once it ended; with ``background``, at once."""
        if request.background:
            plan = await self._prepare(request)
            response = await self._start(request, ids.new_id("resp_"), plan)
            return await self._view(response.id)
        final = None
        async for event in await self.stream(request):
            if event.HasField("response"):
                final = event.response
        assert final is not None  # the last event always carries the response
        return final

    async def stream(self, request: pb.CreateResponseRequest) -> AsyncIterator[pb.ResponseEvent]:
        """The response's events, from ``response.created`` to ``response.completed`` (or failed,
        incomplete); the request is checked, and the response stored, before this returns."""
        plan = await self._prepare(request)
        subscription = self.engine.subscribe(plan.run_id)  # before the run can move: no event is missed
        try:
            row = await self._start(request, ids.new_id("resp_"), plan)
        except BaseException:
            self.engine.bus.unsubscribe(subscription)
            raise

        async def events() -> AsyncIterator[pb.ResponseEvent]:
            async with subscription:
                async for event in self._translate(row, subscription):
                    yield event

        return events()

    async def _translate(
        self, row: ResponseRow, subscription: Subscription
    ) -> AsyncIterator[pb.ResponseEvent]:
        """The run's events as the response's: its items as they stream, then the response as it ended."""
        stream = ResponseEvents(await self._view(row.id), row.thread_id)
        for event in stream.opening():
            yield event
        async for run_event in subscription.events():
            for event in stream.on_run_event(run_event):
                yield event
        if subscription.overflowed:
            raise cut_off_error()
        for event in stream.closing(await self._view(row.id)):
            yield event

    # ----------------------------------------------------------------- read

    async def _view(
        self, response_id: str, param: str = "response_id", include: list[str] | None = None
    ) -> pb.Response:
        require_id(response_id, param)
        async with self.db.read() as session:
            rows = await response_rows(session, response_id)
        if rows is None:
            raise not_found("response", response_id, param)
        return project(*rows, include=[*rows[0].include, *(include or [])])

    async def get(self, request: pb.GetResponseRequest) -> pb.Response:
        return await self._view(request.response_id, include=_check_include(request.include))

    async def delete(self, request: pb.DeleteResponseRequest) -> pb.DeleteResponseResponse:
        require_id(request.response_id, "response_id")
        async with self.db.write() as session:
            row = await repos.responses.get(session, request.response_id)
            if row is None:
                raise not_found("response", request.response_id, "response_id")
            await repos.responses.delete(session, row)
        return pb.DeleteResponseResponse(id=request.response_id, object="response", deleted=True)

    async def cancel(self, request: pb.CancelResponseRequest) -> pb.Response:
        """Cancel a background response still running (as OpenAI, only background ones)."""
        require_id(request.response_id, "response_id")
        async with self.db.read() as session:
            row = await repos.responses.get(session, request.response_id)
            run = await repos.runs.get(session, row.run_id) if row is not None else None
        if row is None:
            raise not_found("response", request.response_id, "response_id")
        if not row.background:
            raise precondition("Only responses created with background=true can be cancelled.")
        if run is not None and run.status in EXECUTING_RUN_STATUSES:
            await self.engine.cancel(run.thread_id, run.id)
        return await self._view(row.id)

    async def list_input_items(self, request: pb.ListInputItemsRequest) -> pb.ListInputItemsResponse:
        require_id(request.response_id, "response_id")
        order = optional(request, "order") or "desc"
        if order not in ORDERS:
            raise unsupported("order", order, ORDERS)
        limit = optional(request, "limit") or 20
        if not 1 <= limit <= 100:
            raise invalid("limit", f"must be between 1 and 100, got {limit}.")
        async with self.db.read() as session:
            row = await repos.responses.get(session, request.response_id)
        if row is None:
            raise not_found("response", request.response_id, "response_id")
        items = list(row.input_items) if order == "asc" else list(reversed(row.input_items))
        ids_ = [item.get("id") for item in items]
        for cursor, name, keep in (
            (optional(request, "after"), "after", 1),
            (optional(request, "before"), "before", 0),
        ):
            if cursor is not None:
                if cursor not in ids_:
                    raise not_found("input item", cursor, name)
                at = ids_.index(cursor)
                items, ids_ = (items[at + 1 :], ids_[at + 1 :]) if keep else (items[:at], ids_[:at])
        page = items[:limit]
        out = pb.ListInputItemsResponse(object="list", has_more=len(items) > limit)
        for item in page:
            out.data.append(codec.from_json(item, pb.ResponseItem))
        if page:
            out.first_id, out.last_id = page[0]["id"], page[-1]["id"]
        return out


def _input_rows(parsed: ParsedInput, thread_id: str, model: str) -> list[tuple[Any, str]]:
    """The input as thread rows the prompt builder reads in order, each with its parameter: its messages,
    and (a stateless history) each group of function calls as a completed run with one tool_calls step
    holding the calls and their outputs. A history's entries get one second each, before now, so it keeps
    its order beside the messages' own; the input items take the ids of the messages made for them."""
    rows: list[tuple[Any, str]] = []
    spread = parsed.history_calls
    start = now() - len(parsed.entries) if spread else now()
    for i, (kind, entry, param, item) in enumerate(parsed.entries):
        at = start + i if spread else start
        if kind == "message":
            message, _ = new_message(
                thread_id, entry.role, value_to_py(entry, "content"), [], {}, param=param, created_at=at
            )
            assert item is not None  # a message entry always has its input item
            item["id"] = message.id
            rows.append((message, param))
            continue
        run_id = ids.new_id(ids.RUN)
        run = RunRow(
            id=run_id,
            created_at=at,
            thread_id=thread_id,
            assistant_id="",
            status="completed",
            model=model,
            started_at=at,
            completed_at=at,
        )
        step = RunStepRow(
            id=ids.new_id(ids.STEP),
            created_at=at,
            thread_id=thread_id,
            run_id=run_id,
            assistant_id="",
            type="tool_calls",
            status="completed",
            step_details={"type": "tool_calls", "tool_calls": entry},
            completed_at=at,
        )
        rows += [(run, param), (step, param)]
    return rows


def _check_include(values: Any) -> list[str]:
    for value in values:
        if value not in INCLUDE_VALUES:
            raise unsupported("include", value, INCLUDE_VALUES)
    return list(values)


def _in_response_terms(exc: ApiError) -> ApiError:
    """A run's validation error with the Responses API's field names where they differ."""
    message, param = str(exc), exc.param
    if param is None:
        return exc
    renamed = param
    for old, new in (
        ("additional_messages", "input"),
        ("max_completion_tokens", "max_output_tokens"),
        ("response_format", "text.format"),
    ):
        if renamed.startswith(old):
            renamed = new + renamed[len(old) :]
    if renamed.startswith("tools[") and ".function." in renamed:
        renamed = renamed.replace(".function.", ".")
    if renamed == param:
        return exc
    return ApiError(exc.kind, message.replace(f"'{param}'", f"'{renamed}'"), param=renamed)


async def _in_order(session: Any, model: Any, thread_id: str) -> list[Any]:
    """The thread's rows of ``model`` (messages, runs or steps) in the order they were made."""
    stmt = select(model).where(model.thread_id == thread_id).order_by(col(model.created_at), col(model.seq))
    return list((await session.exec(stmt)).all())


async def _fork(session: Any, previous: ResponseRow) -> str:
    """Copy ``previous``'s thread up to the end of ``previous`` (its input, its answer, and everything
    before them) into a new thread, with new ids; the id of the copy."""
    messages = await _in_order(session, MessageRow, previous.thread_id)
    own = {item.get("id") for item in previous.input_items}
    ends = [i for i, m in enumerate(messages) if m.run_id == previous.run_id or m.id in own]
    kept = messages[: ends[-1] + 1] if ends else []
    runs = await _in_order(session, RunRow, previous.thread_id)
    cut = next(i for i, r in enumerate(runs) if r.id == previous.run_id)
    steps = await _in_order(session, RunStepRow, previous.thread_id)
    thread = ThreadRow(id=ids.new_id(ids.THREAD), created_at=now())
    await repos.threads.add(session, thread)
    new_ids = {r.id: ids.new_id(ids.RUN) for r in runs[: cut + 1]}
    new_ids.update({m.id: ids.new_id(ids.MESSAGE) for m in kept})
    copy = {"seq": None, "thread_id": thread.id}
    for message in kept:
        run_id = new_ids.get(message.run_id or "", None) if message.run_id else None
        values = {**message.model_dump(), **copy, "id": new_ids[message.id], "run_id": run_id}
        await repos.messages.insert(session, MessageRow(**values))
    for run in runs[: cut + 1]:
        values = {**run.model_dump(), **copy, "id": new_ids[run.id], "owner": None, "lease_expires_at": None}
        await repos.runs.insert(session, RunRow(**values))
    for step in steps:
        if step.run_id not in new_ids:
            continue
        details = dict(step.step_details)
        created = details.get("message_creation")
        if isinstance(created, dict):
            if created.get("message_id") not in new_ids:
                continue  # a message of the run made after previous ended
            details["message_creation"] = {"message_id": new_ids[created["message_id"]]}
        values = {
            **step.model_dump(),
            **copy,
            "id": ids.new_id(ids.STEP),
            "run_id": new_ids[step.run_id],
            "step_details": details,
        }
        await repos.run_steps.insert(session, RunStepRow(**values))
    return thread.id


async def _step_count(session: Any, run_id: str) -> int:
    """How many steps the run has (where a response that continues it begins)."""
    return int((await session.exec(select(func.count()).where(RunStepRow.run_id == run_id))).one())
