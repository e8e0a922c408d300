"""File operations: upload (streamed), get, list, delete, content (streamed); and the check other
operations use for file ids they are given."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlmodel import col, select

from pygentic import ids
from pygentic.config import FilesSettings
from pygentic.errors import ApiError, ErrorKind, invalid, not_found, unsupported
from pygentic.objects import file_to_proto
from pygentic.operations.paging import list_response
from pygentic.operations.validation import page_params, require_id
from pygentic.proto.v1 import files_pb2 as pb
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.storage import Database, Page
from pygentic.storage import repositories as repos
from pygentic.storage.blobs import BlobStore, BlobTooLarge
from pygentic.storage.repositories import now
from pygentic.storage.tables import FileRow, VectorStoreFileRow

log = logging.getLogger("pygentic.files")

PURPOSES = ("assistants", "vision", "batch", "user_data")
MAX_FILENAME = 1024
EXPIRY_RANGE_S = (3600, 2_592_000)
CLEANUP_INTERVAL_S = 60.0


def check_header(header: pb.FileUploadHeader) -> int | None:
    """Validate an upload's header; the file's lifetime in seconds after ``created_at`` (None: it does
    not expire)."""
    if not header.filename or not header.filename.strip():
        raise invalid("file", "a file name is required.")
    if len(header.filename) > MAX_FILENAME:
        raise invalid("file", f"the file name must be at most {MAX_FILENAME} characters.")
    if header.purpose not in PURPOSES:
        raise unsupported("purpose", header.purpose, PURPOSES)
    if not header.HasField("expires_after"):
        return None
    expiry = header.expires_after
    if expiry.anchor != "created_at":
        raise unsupported("expires_after.anchor", expiry.anchor, ("created_at",))
    low, high = EXPIRY_RANGE_S
    if not low <= expiry.seconds <= high:
        raise invalid("expires_after.seconds", f"must be between {low} and {high}, got {expiry.seconds}.")
    return int(expiry.seconds)


class FileOperations:
    """The Files API operations over the database (descriptions) and a blob store (bytes)."""

    def __init__(self, db: Database, store: BlobStore, settings: FilesSettings) -> None:
        self.db = db
        self.store = store
        self.settings = settings
        self._cleanup: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.store.start()
        self._cleanup = asyncio.create_task(self._remove_expired_forever(), name="file expiry")

    async def close(self) -> None:
        if self._cleanup is not None:
            self._cleanup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cleanup

    async def upload(self, header: pb.FileUploadHeader, chunks: AsyncIterator[bytes]) -> res.File:
        """Store a new file from ``chunks``: the bytes first (complete on disk), then its description."""
        lifetime = check_header(header)
        try:
            row = await self.save(header.filename, header.purpose, chunks, lifetime)
        except BlobTooLarge as exc:
            raise ApiError(
                ErrorKind.INVALID_ARGUMENT,
                f"Invalid 'file': the file is larger than the limit of {exc.limit} bytes.",
                param="file",
            ) from exc
        return file_to_proto(row)

    async def save(
        self, filename: str, purpose: str, chunks: AsyncIterator[bytes], lifetime: int | None = None
    ) -> FileRow:
        """Store a file (an upload, or one a tool made: purpose ``assistants_output``) that expires
        ``lifetime`` seconds after its ``created_at`` (None: never); BlobTooLarge past the size limit, and
        then nothing is kept."""
        file_id = ids.new_id(ids.FILE)
        size = await self.store.write(file_id, chunks, self.settings.max_bytes)
        created = now()
        row = FileRow(
            id=file_id,
            created_at=created,
            filename=filename,
            purpose=purpose,
            bytes=size,
            expires_at=None if lifetime is None else created + lifetime,
        )
        try:
            async with self.db.write() as session:
                await repos.files.add(session, row)
        except BaseException:
            await self.store.delete(file_id)
            raise
        log.info("file stored", extra={"file_id": file_id, "bytes": size, "purpose": purpose})
        return row

    async def require(self, file_id: str, param: str = "file_id") -> FileRow:
        """The stored, unexpired file, or NOT_FOUND naming the id."""
        require_id(file_id, param)
        async with self.db.read() as session:
            row = await repos.files.get(session, file_id)
        if row is None or expired(row.expires_at):
            raise not_found("file", file_id, param)
        return row

    async def get(self, request: pb.GetFileRequest) -> res.File:
        return file_to_proto(await self.require(request.file_id))

    async def list(self, request: pb.ListFilesRequest) -> pb.ListFilesResponse:
        params = page_params(request)
        filters: dict[str, Any] = {}
        if request.HasField("purpose") and request.purpose:
            filters["purpose"] = request.purpose

        async def fetch() -> Page[FileRow]:
            async with self.db.read() as session:
                return await repos.files.page(session, params, **filters)

        return await list_response(pb.ListFilesResponse, "file", fetch, file_to_proto)

    async def delete(self, request: pb.DeleteFileRequest) -> pb.DeleteFileResponse:
        require_id(request.file_id, "file_id")
        async with self.db.write() as session:
            row = await repos.files.get(session, request.file_id)
            if row is None:
                raise not_found("file", request.file_id, "file_id")
            await repos.files.delete(session, row)
            # It leaves every vector store it was in (and their search), in the same transaction.
            entries = (
                await session.exec(select(VectorStoreFileRow).where(VectorStoreFileRow.id == request.file_id))
            ).all()
            for entry in entries:
                await repos.vector_store_files.delete(session, entry)
        await self.store.delete(request.file_id)
        log.info("file deleted", extra={"file_id": request.file_id})
        return pb.DeleteFileResponse(id=request.file_id, object="file", deleted=True)

    async def content(self, request: pb.GetFileContentRequest) -> tuple[FileRow, AsyncIterator[bytes]]:
        """The file's description and its bytes (checked to exist before the first byte is sent)."""
        row = await self.require(request.file_id)
        if not await self.store.exists(row.id):
            log.error("file bytes missing", extra={"file_id": row.id})
            raise ApiError(ErrorKind.INTERNAL, f"The bytes of file {row.id} are missing from the file store.")
        return row, self.store.read(row.id)

    async def remove_expired(self) -> int:
        """Delete the files whose ``expires_at`` has passed (descriptions, then bytes)."""
        async with self.db.write() as session:
            rows = list(
                (
                    await session.exec(
                        select(FileRow).where(
                            col(FileRow.expires_at).is_not(None), col(FileRow.expires_at) <= now()
                        )
                    )
                ).all()
            )
            for row in rows:
                await repos.files.delete(session, row)
        for row in rows:
            await self.store.delete(row.id)
            log.info("file expired", extra={"file_id": row.id})
        return len(rows)

    async def _remove_expired_forever(self) -> None:
        while True:
            try:
                await self.remove_expired()
            except Exception:
                log.exception("removing expired files failed")
            await asyncio.sleep(CLEANUP_INTERVAL_S)


def expired(expires_at: int | None, t: int | None = None) -> bool:
    """Whether a file with this ``expires_at`` has expired (at ``t``, default now)."""
    return expires_at is not None and expires_at <= (now() if t is None else t)
