"""File bytes in an S3-compatible object store (AWS S3, MinIO, Ceph, ...), through boto3.

Every replica sharing a database sees the same objects, so nothing needs a shared mount. An upload
streams through multipart upload in parts of :data:`PART_BYTES` (one part in memory at a time); the object
appears only when the upload completes, so a reader never sees half a file, and a failed or too large
upload is aborted. Multipart uploads a crashed process left behind are aborted at the next start once a
day old. boto3 is synchronous: its calls run in worker threads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from pygentic.config import FilesSettings, redact_url
from pygentic.storage.blobs import KEY, READ_CHUNK, STALE_PART_S, stream_from, within

log = logging.getLogger("pygentic.files")

PART_BYTES = 8 * 1024 * 1024  # S3 parts must be at least 5 MiB (but the last)


class BlobStoreUnavailable(RuntimeError):
    """The object store cannot be reached or the bucket cannot be used."""


class S3BlobStore:
    """Blobs as objects ``<prefix><key>`` in one bucket."""

    def __init__(self, settings: FilesSettings) -> None:
        assert settings.url is not None
        bucket, _, prefix = settings.url.removeprefix("s3://").partition("/")
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.settings = settings
        self._client: Any = None

    def describe(self) -> str:
        endpoint = redact_url(self.settings.endpoint_url) if self.settings.endpoint_url else "AWS S3"
        return f"s3://{self.bucket}/{self.prefix} at {endpoint}"

    def _make_client(self) -> Any:
        import boto3  # imported here: only S3 deployments pay for it
        from botocore.config import Config

        key_id = os.environ.get(self.settings.access_key_id_env)
        secret = os.environ.get(self.settings.secret_access_key_env)
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.settings.endpoint_url,
            region_name=self.settings.region,
            aws_access_key_id=key_id or None,
            aws_secret_access_key=secret or None,
            config=Config(
                retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60
            ),
        )

    async def start(self) -> None:
        """Check that the bucket can be used, and abort uploads a crashed process left behind."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client = await asyncio.to_thread(self._make_client)
            await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise BlobStoreUnavailable(f"cannot use {self.describe()}: {_reason(exc)}") from exc
        await asyncio.to_thread(self._abort_stale_uploads)

    def _abort_stale_uploads(self) -> None:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=STALE_PART_S)
        try:
            listing = self._client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
        except Exception as exc:  # not every S3-compatible server lists uploads; nothing depends on it
            log.info("multipart uploads not listed", extra={"reason": _reason(exc)})
            return
        for upload in listing.get("Uploads", []):
            if upload["Initiated"] < cutoff:
                self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
                log.info("stale partial upload aborted", extra={"key": upload["Key"]})

    def _object(self, key: str) -> str:
        if not KEY.match(key):
            raise ValueError(f"invalid blob key {key!r}")
        return self.prefix + key

    async def write(self, key: str, chunks: AsyncIterator[bytes], limit: int) -> int:
        """Store ``chunks`` under ``key``; the number of bytes written. Raises :class:`BlobTooLarge` past
        ``limit`` bytes (and keeps nothing), or whatever the chunk source raises."""
        name = self._object(key)
        buffer = bytearray()
        parts: list[dict[str, Any]] = []
        upload_id: str | None = None
        size = 0
        try:
            async for chunk in within(chunks, limit):
                size += len(chunk)
                buffer += chunk
                while len(buffer) >= PART_BYTES:
                    if upload_id is None:
                        created = await asyncio.to_thread(
                            self._client.create_multipart_upload, Bucket=self.bucket, Key=name
                        )
                        upload_id = created["UploadId"]
                    part, buffer = bytes(buffer[:PART_BYTES]), buffer[PART_BYTES:]
                    parts.append(
                        await asyncio.to_thread(self._upload_part, name, upload_id, len(parts), part)
                    )
            if upload_id is None:
                await asyncio.to_thread(
                    self._client.put_object, Bucket=self.bucket, Key=name, Body=bytes(buffer)
                )
                return size
            if buffer:
                parts.append(
                    await asyncio.to_thread(self._upload_part, name, upload_id, len(parts), bytes(buffer))
                )
            await asyncio.to_thread(
                self._client.complete_multipart_upload,
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
            return size
        except BaseException:
            if upload_id is not None:
                await asyncio.shield(asyncio.to_thread(self._abort, name, upload_id))
            raise

    def _upload_part(self, name: str, upload_id: str, index: int, data: bytes) -> dict[str, Any]:
        number = index + 1
        answer = self._client.upload_part(
            Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=data
        )
        return {"ETag": answer["ETag"], "PartNumber": number}

    def _abort(self, name: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
        except Exception as exc:  # it expires by the bucket's lifecycle rules, or the next start aborts it
            log.warning("multipart upload not aborted", extra={"key": name, "reason": _reason(exc)})

    async def read(self, key: str, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks; FileNotFoundError when it is missing."""
        from botocore.exceptions import ClientError

        try:
            answer = await asyncio.to_thread(
                self._client.get_object, Bucket=self.bucket, Key=self._object(key)
            )
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise
        async for chunk in stream_from(answer["Body"], chunk_size):
            yield chunk

    async def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=self._object(key))
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        """Remove the blob (a missing one is not an error)."""
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=self._object(key))


def _code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _reason(exc: BaseException) -> str:
    code = _code(exc)
    return f"{code} ({type(exc).__name__})" if code else redact_url(str(exc))
