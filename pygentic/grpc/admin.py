"""``pygentic.v1.Admin`` servicer: API keys, for automation. Only admin keys may call it (anyone, on a
server where no key was ever made)."""

from __future__ import annotations

from grpc import aio

from pygentic.errors import ApiError, ErrorKind
from pygentic.operations.api_keys import KeyStore, current_caller
from pygentic.proto.v1 import admin_pb2 as pb
from pygentic.proto.v1 import admin_pb2_grpc as pb_grpc
from pygentic.storage.tables import ApiKeyRow


def key_to_proto(row: ApiKeyRow) -> pb.ApiKey:
    key = pb.ApiKey(
        id=row.id,
        project=row.project_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        admin=row.admin,
    )
    for name in ("revoked_at", "requests_per_minute", "active_runs"):
        if getattr(row, name) is not None:
            setattr(key, name, getattr(row, name))
    return key


def _require_admin() -> None:
    caller = current_caller()
    if caller is not None and caller.key_id is not None and not caller.admin:
        raise ApiError(
            ErrorKind.PERMISSION_DENIED,
            f"Key {caller.key_id} may not manage keys; use an admin key (pygentic keys create --admin).",
        )


class AdminServicer(pb_grpc.AdminServicer):
    """Manages keys through the :class:`KeyStore`."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: aio.ServicerContext
    ) -> pb.CreateApiKeyResponse:
        _require_admin()
        for name in ("requests_per_minute", "active_runs"):
            if request.HasField(name) and getattr(request, name) < 0:
                raise ApiError(
                    ErrorKind.INVALID_ARGUMENT, f"Invalid '{name}': must be 0 or more.", param=name
                )
        row, secret = await self.keys.create(
            request.project,
            request.name,
            request.requests_per_minute if request.HasField("requests_per_minute") else None,
            request.active_runs if request.HasField("active_runs") else None,
            request.admin,
        )
        return pb.CreateApiKeyResponse(key=key_to_proto(row), secret=secret)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        _require_admin()
        return pb.ListApiKeysResponse(data=[key_to_proto(row) for row in await self.keys.list()])

    async def RevokeApiKey(self, request: pb.RevokeApiKeyRequest, context: aio.ServicerContext) -> pb.ApiKey:
        _require_admin()
        return key_to_proto(await self.keys.revoke(request.key_id))
