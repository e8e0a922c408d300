"""All operations of one service instance, shared by the gRPC servicers and the REST gateway."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pygentic.config import Settings
from pygentic.connectors.embeddings import EmbeddingConnector
from pygentic.ingestion.index import VectorIndex
from pygentic.ingestion.worker import IngestionWorker
from pygentic.operations.assistants import AssistantOperations
from pygentic.operations.files import FileOperations
from pygentic.operations.implicit_stores import ImplicitStores
from pygentic.operations.messages import MessageOperations
from pygentic.operations.references import References
from pygentic.operations.runs import RunOperations
from pygentic.operations.threads import ThreadOperations
from pygentic.operations.vector_stores import VectorStoreOperations
from pygentic.runtime.engine import RunEngine
from pygentic.storage import Database
from pygentic.storage.blobs import blob_store


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
        return cls(
            assistants=AssistantOperations(db, references, stores),
            threads=threads,
            messages=MessageOperations(db, references, stores),
            runs=RunOperations(db, engine, threads, settings.runs),
            files=files,
            vector_stores=VectorStoreOperations(db, references, ingestion, embeddings, vector_index),
            ingestion=ingestion,
        )

    async def start(self) -> None:
        """Background work of the operations: file expiry, ingestion."""
        await self.files.start()
        await self.ingestion.start()

    async def close(self) -> None:
        await self.ingestion.close()
        await self.files.close()
