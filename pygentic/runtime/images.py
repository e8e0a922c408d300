"""Image parts on their way to the model.

The prompt keeps a user's ``image_url`` parts as they were given and ``image_file`` parts as
placeholders; before the request leaves, :class:`ImageParts` makes them what the routed connector takes
(its ``image_input``): ``image_url`` parts with files as ``data:`` URLs (or as URLs the upstream fetches
from the gateway, ``[connectors.files] image_base_url``), the text alone with a logged warning, or a run
failure with ``invalid_prompt`` when the model has no vision.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from pygentic.connectors.llm import LLMConnector, LLMError, content_text
from pygentic.operations.files import FileOperations, expired
from pygentic.storage import repositories as repos

log = logging.getLogger("pygentic.runs")

MAX_IMAGE_BYTES = 20 * 1024 * 1024  # OpenAI's limit for one image in a request
IMAGE_KINDS = "PNG, JPEG, GIF or WEBP"


def refused(message: str) -> LLMError:
    """The prompt's images cannot go to this model: the run fails with ``invalid_prompt``."""
    return LLMError(message, "invalid_prompt")


def image_media_type(head: bytes) -> str | None:
    """The media type of an image from its first bytes (PNG, JPEG, GIF, WEBP), None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _has_images(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(p.get("type") in ("image_url", "image_file") for p in content)


class ImageParts:
    """Turns a prompt's image parts into what the routed connector takes."""

    def __init__(self, files: FileOperations | None = None, base_url: str | None = None) -> None:
        self.files = files
        self.base_url = base_url

    async def prepare(
        self, messages: list[dict[str, Any]], connector: LLMConnector, run_id: str
    ) -> list[dict[str, Any]]:
        """``messages`` ready to send (the list itself when no message has images)."""
        if not any(_has_images(m) for m in messages):
            return messages
        policy = getattr(connector, "image_input", "send")
        if policy == "reject":
            raise refused(
                f"The model of connector '{connector.name}' does not accept images (vision = false); "
                "send text only, or route the run to a model with vision."
            )
        out = []
        dropped = 0
        for m in messages:
            if not _has_images(m):
                out.append(m)
            elif policy == "drop":
                dropped += sum(1 for p in m["content"] if p.get("type") != "text")
                out.append({**m, "content": content_text(m["content"])})
            else:
                out.append({**m, "content": [await self._part(p, run_id) for p in m["content"]]})
        if dropped:
            log.warning(
                "images dropped: the connector has no vision",
                extra={"run_id": run_id, "connector": connector.name, "images": dropped},
            )
        return out

    async def _part(self, part: dict[str, Any], run_id: str) -> dict[str, Any]:
        if part.get("type") != "image_file":
            return part
        image = part["image_file"]
        file_id = image["file_id"]
        url = await self._file_url(file_id, run_id)
        if url is None:
            return {"type": "text", "text": f"[image {file_id} is no longer available]"}
        view: dict[str, Any] = {"url": url}
        if "detail" in image:
            view["detail"] = image["detail"]
        return {"type": "image_url", "image_url": view}

    async def _file_url(self, file_id: str, run_id: str) -> str | None:
        """A URL of the file the upstream can use, or None when the file is gone."""
        if self.files is None:
            raise refused("image_file parts need the Files store, which this server does not have.")
        async with self.files.db.read() as session:
            row = await repos.files.get(session, file_id)
        if row is None or expired(row.expires_at):
            log.warning(
                "image file gone; the model reads a note instead",
                extra={"run_id": run_id, "file_id": file_id},
            )
            return None
        if row.bytes > MAX_IMAGE_BYTES:
            raise refused(
                f"Image file '{file_id}' is {row.bytes} bytes; "
                f"an image may be at most {MAX_IMAGE_BYTES} bytes."
            )
        if self.base_url is not None:
            return f"{self.base_url}/files/{file_id}/content"
        data = bytearray()
        try:
            async for chunk in self.files.store.read(file_id):
                data += chunk
        except FileNotFoundError:
            log.warning("image file's bytes gone", extra={"run_id": run_id, "file_id": file_id})
            return None
        media_type = image_media_type(bytes(data[:16]))
        if media_type is None:
            raise refused(f"File '{file_id}' ({row.filename}) is not a {IMAGE_KINDS} image.")
        return f"data:{media_type};base64,{base64.b64encode(bytes(data)).decode('ascii')}"
