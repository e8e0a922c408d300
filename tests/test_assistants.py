"""The Assistants service through generated grpc.aio stubs, on SQLite and PostgreSQL."""

from __future__ import annotations

import grpc
import pytest
from conftest import Stubs, expect_status
from google.protobuf import field_mask_pb2, json_format, struct_pb2

from pygentic.proto.v1 import assistants_pb2 as pb
from pygentic.proto.v1 import resources_pb2 as res

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def weather_tool() -> res.Tool:
    params = struct_pb2.Struct()
    params.update({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    return res.Tool(type="function", function=res.FunctionDefinition(name="get_weather", parameters=params))


async def test_create_get_round_trip(stubs: Stubs) -> None:
    request = pb.CreateAssistantRequest(
        model="gpt-4o",
        name="Helper",
        instructions="Be brief.",
        tools=[weather_tool(), res.Tool(type="code_interpreter")],
        metadata={"team": "support"},
        temperature=0.5,
        top_p=0.9,
    )
    json_format.ParseDict({"type": "json_object"}, request.response_format)
    created = await stubs.assistants.CreateAssistant(request)
    assert created.id.startswith("asst_") and len(created.id) >= 29
    assert created.object == "assistant"
    assert created.created_at > 1_700_000_000
    fetched = await stubs.assistants.GetAssistant(pb.GetAssistantRequest(assistant_id=created.id))
    assert fetched == created
    assert fetched.name == "Helper" and fetched.model == "gpt-4o" and fetched.temperature == 0.5
    assert [t.type for t in fetched.tools] == ["function", "code_interpreter"]
    assert json_format.MessageToDict(fetched.tools[0].function.parameters)["required"] == ["city"]
    assert json_format.MessageToDict(fetched.response_format) == {"type": "json_object"}
    assert dict(fetched.metadata) == {"team": "support"}


async def test_unset_optional_fields_stay_unset(stubs: Stubs) -> None:
    created = await stubs.assistants.CreateAssistant(pb.CreateAssistantRequest(model="m"))
    for name in (
        "name",
        "description",
        "instructions",
        "temperature",
        "top_p",
        "response_format",
        "tool_resources",
    ):
        assert not created.HasField(name), name
    zero = await stubs.assistants.CreateAssistant(
        pb.CreateAssistantRequest(model="m", temperature=0.0, name="")
    )
    assert zero.HasField("temperature") and zero.temperature == 0.0
    assert zero.HasField("name") and zero.name == ""


async def test_ids_are_unique_and_unguessable(stubs: Stubs) -> None:
    seen = set()
    for _ in range(20):
        a = await stubs.assistants.CreateAssistant(pb.CreateAssistantRequest(model="m"))
        suffix = a.id.removeprefix("asst_")
        assert len(suffix) == 24 and suffix.isalnum()
        seen.add(a.id)
    assert len(seen) == 20


async def test_update_populated_fields_and_mask(stubs: Stubs) -> None:
    created = await stubs.assistants.CreateAssistant(
        pb.CreateAssistantRequest(model="m1", name="old", tools=[weather_tool()], metadata={"k": "v"})
    )
    updated = await stubs.assistants.UpdateAssistant(
        pb.UpdateAssistantRequest(assistant_id=created.id, name="new", metadata={"k2": "v2"})
    )
    assert updated.name == "new" and updated.model == "m1"
    assert len(updated.tools) == 1  # untouched: not populated, no mask
    assert dict(updated.metadata) == {"k2": "v2"}  # metadata is replaced as a whole
    cleared = await stubs.assistants.UpdateAssistant(
        pb.UpdateAssistantRequest(
            assistant_id=created.id, update_mask=field_mask_pb2.FieldMask(paths=["tools", "name"])
        )
    )
    assert len(cleared.tools) == 0 and not cleared.HasField("name")
    again = await stubs.assistants.GetAssistant(pb.GetAssistantRequest(assistant_id=created.id))
    assert again == cleared
    await expect_status(
        stubs.assistants.UpdateAssistant(
            pb.UpdateAssistantRequest(
                assistant_id=created.id, update_mask=field_mask_pb2.FieldMask(paths=["id"])
            )
        ),
        INVALID,
        "update_mask",
    )


async def test_delete(stubs: Stubs) -> None:
    created = await stubs.assistants.CreateAssistant(pb.CreateAssistantRequest(model="m"))
    deleted = await stubs.assistants.DeleteAssistant(pb.DeleteAssistantRequest(assistant_id=created.id))
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "assistant.deleted", True)
    await expect_status(
        stubs.assistants.GetAssistant(pb.GetAssistantRequest(assistant_id=created.id)), NOT_FOUND, created.id
    )
    await expect_status(
        stubs.assistants.DeleteAssistant(pb.DeleteAssistantRequest(assistant_id=created.id)),
        NOT_FOUND,
        created.id,
    )


async def test_not_found_names_the_id(stubs: Stubs) -> None:
    await expect_status(
        stubs.assistants.GetAssistant(pb.GetAssistantRequest(assistant_id="asst_missing")),
        NOT_FOUND,
        "asst_missing",
    )
    await expect_status(
        stubs.assistants.UpdateAssistant(pb.UpdateAssistantRequest(assistant_id="asst_gone", name="x")),
        NOT_FOUND,
        "asst_gone",
    )


@pytest.mark.parametrize(
    ("request_fields", "param"),
    [
        ({}, "model"),
        ({"model": "m", "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"model": "m", "metadata": {"k" * 65: "v"}}, "metadata"),
        ({"model": "m", "metadata": {"k": "v" * 513}}, "metadata.k"),
        ({"model": "m", "temperature": 2.5}, "temperature"),
        ({"model": "m", "top_p": -0.1}, "top_p"),
        ({"model": "m", "name": "n" * 257}, "name"),
        ({"model": "m", "tools": [{"type": "browser"}]}, "tools[0].type"),
        ({"model": "m", "tools": [{"type": "function"}]}, "tools[0].function"),
        (
            {"model": "m", "tools": [{"type": "function", "function": {"name": "bad name"}}]},
            "tools[0].function.name",
        ),
        ({"model": "m", "response_format": {"type": "xml"}}, "response_format.type"),
        (
            {"model": "m", "response_format": {"type": "json_schema", "json_schema": {}}},
            "response_format.json_schema.name",
        ),
    ],
)
async def test_invalid_arguments_name_the_field(stubs: Stubs, request_fields: dict, param: str) -> None:
    request = json_format.ParseDict(request_fields, pb.CreateAssistantRequest())
    await expect_status(stubs.assistants.CreateAssistant(request), INVALID, f"'{param}'")


async def test_metadata_at_the_limits_is_accepted(stubs: Stubs) -> None:
    metadata = {f"{i:02d}" + "k" * 62: "v" * 512 for i in range(16)}
    created = await stubs.assistants.CreateAssistant(pb.CreateAssistantRequest(model="m", metadata=metadata))
    assert dict(created.metadata) == metadata


async def _ids(stubs: Stubs, **kwargs: object) -> tuple[list[str], pb.ListAssistantsResponse]:
    page = await stubs.assistants.ListAssistants(pb.ListAssistantsRequest(**kwargs))
    return [a.id for a in page.data], page


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_pagination_across_three_pages(stubs: Stubs, order: str) -> None:
    created = [
        (await stubs.assistants.CreateAssistant(pb.CreateAssistantRequest(model="m", name=str(i)))).id
        for i in range(7)
    ]
    expected = created if order == "asc" else created[::-1]

    got: list[str] = []
    after = None
    pages = []
    while True:
        kwargs: dict[str, object] = {"limit": 3, "order": order}
        if after:
            kwargs["after"] = after
        ids, page = await _ids(stubs, **kwargs)
        pages.append((ids, page.has_more))
        got += ids
        assert page.first_id == ids[0] and page.last_id == ids[-1]
        if not page.has_more:
            break
        after = page.last_id
    assert got == expected
    assert [len(ids) for ids, _ in pages] == [3, 3, 1]
    assert [more for _, more in pages] == [True, True, False]

    # Walking back with `before` returns the items right before the cursor, in the list's order.
    ids, page = await _ids(stubs, limit=3, order=order, before=expected[6])
    assert ids == expected[3:6] and page.has_more
    ids, page = await _ids(stubs, limit=3, order=order, before=expected[3])
    assert ids == expected[0:3] and not page.has_more
    ids, page = await _ids(stubs, limit=10, order=order, after=expected[1], before=expected[5])
    assert ids == expected[2:5] and not page.has_more


async def test_list_defaults_and_limits(stubs: Stubs) -> None:
    created = [
        (await stubs.assistants.CreateAssistant(pb.CreateAssistantRequest(model="m"))).id for _ in range(22)
    ]
    ids, page = await _ids(stubs)
    assert ids == created[::-1][:20] and page.has_more and page.object == "list"
    ids, page = await _ids(stubs, limit=22)
    assert len(ids) == 22 and not page.has_more
    empty_after_last, page = await _ids(stubs, after=created[0])
    assert empty_after_last == [] and not page.has_more and not page.HasField("first_id")
    await expect_status(
        stubs.assistants.ListAssistants(pb.ListAssistantsRequest(limit=0)), INVALID, "'limit'"
    )
    await expect_status(
        stubs.assistants.ListAssistants(pb.ListAssistantsRequest(limit=101)), INVALID, "'limit'"
    )
    await expect_status(
        stubs.assistants.ListAssistants(pb.ListAssistantsRequest(order="up")), INVALID, "'order'"
    )
    await expect_status(
        stubs.assistants.ListAssistants(pb.ListAssistantsRequest(after="asst_nope")),
        INVALID,
        "'after'",
        "asst_nope",
    )
