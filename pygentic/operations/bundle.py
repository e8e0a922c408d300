"""All operations of one service instance, shared by the gRPC servicers and the REST gateway."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pygentic.config import Settings
from pygentic.connectors.embeddings import EmbeddingConnector
from pygentic.ingestion.index import VectorIndex
from pygentic.ingestion.worker import IngestionWorker
from pygentic.operations.api_keys import KeyStore
from pygentic.operations.assistants import AssistantOperations
from pygentic.operations.chat import ChatOperations
from pygentic.operations.conversations import ConversationOperations
from pygentic.operations.files import FileOperations
from pygentic.operations.idempotency import IdempotencyStore
from pygentic.operations.implicit_stores import ImplicitStores
from pygentic.operations.messages import MessageOperations
from pygentic.operations.models import ModelOperations
from pygentic.operations.references import References
from pygentic.operations.responses import ResponseOperations
from pygentic.operations.runs import RunOperations
from pygentic.operations.threads import ThreadOperations
from pygentic.operations.vector_stores import VectorStoreOperations
from pygentic.runtime.engine import RunEngine
from pygentic.storage import Database
from pygentic.storage.blobs import blob_store

log = logging.getLogger("pygentic.operations")
KEY_EXPIRY_INTERVAL_S = 3600.0


@dataclass
class Operations:
    """The operations, one object per resource."""

    assistants: AssistantOperations
    threads: ThreadOperations
    messages: MessageOperations
    runs: RunOperations
    files: FileOperations
    vector_stores: VectorStoreOperations
    ingestion: IngestionWorker
    idempotency: IdempotencyStore
    keys: KeyStore
    chat: ChatOperations
    models: ModelOperations
    responses: ResponseOperations
    conversations: ConversationOperations
    _key_expiry: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    @classmethod
    def build(
        cls,
        db: Database,
        engine: RunEngine,
        settings: Settings,
        embeddings: EmbeddingConnector,
        vector_index: VectorIndex,
        files: FileOperations | None = None,
        thread_cleanups: Sequence[Callable[[str], None]] = (),
    ) -> Operations:
        """``files``: the file operations, when other parts (tools) share them; ``thread_cleanups``: what
        to remove when a thread is deleted (e.g. its interpreter work directory)."""
        references = References(db)
        if files is None:
            files = FileOperations(db, blob_store(settings.files, settings.database.url), settings.files)
        ingestion = IngestionWorker(db, files.store, embeddings, engine.instance_id)
        stores = ImplicitStores(ingestion.wake)
        threads = ThreadOperations(db, references, stores, thread_cleanups)
        runs = RunOperations(db, engine, threads, settings.runs)
        messages = MessageOperations(db, references, stores)
        return cls(
            assistants=AssistantOperations(db, references, stores),
            threads=threads,
            messages=messages,
            runs=runs,
            files=files,
            vector_stores=VectorStoreOperations(db, references, ingestion, embeddings, vector_index),
            ingestion=ingestion,
            idempotency=IdempotencyStore(db),
            keys=KeyStore(db, settings.keys),
            chat=ChatOperations(engine.router, engine.limits),
            models=ModelOperations(engine.router),
            responses=ResponseOperations(db, engine, runs),
            conversations=ConversationOperations(threads, messages),
        )

    async def start(self) -> None:
        """Background work of the operations: file expiry, ingestion, forgetting old idempotency keys."""
        await self.files.start()
        await self.ingestion.start()
        self._key_expiry = asyncio.create_task(self._remove_expired_keys(), name="idempotency key expiry")

    async def close(self) -> None:
        if self._key_expiry is not None:
            self._key_expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._key_expiry
        await self.ingestion.close()
        await self.files.close()

    async def _remove_expired_keys(self) -> None:
        while True:
            try:
                removed = await self.idempotency.remove_expired()
                if removed:
                    log.info("idempotency keys expired", extra={"removed": removed})
            except Exception as exc:  # storage trouble: try again next time
                log.warning("idempotency key expiry failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            await asyncio.sleep(KEY_EXPIRY_INTERVAL_S)
