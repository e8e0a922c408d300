"""All operations of one service instance, shared by the gRPC servicers and the REST gateway."""

from __future__ import annotations

from dataclasses import dataclass

from pygentic.config import RunSettings
from pygentic.operations.assistants import AssistantOperations
from pygentic.operations.messages import MessageOperations
from pygentic.operations.runs import RunOperations
from pygentic.operations.threads import ThreadOperations
from pygentic.runtime.engine import RunEngine
from pygentic.storage import Database


@dataclass
class Operations:
    """The operations, one object per resource."""

    assistants: AssistantOperations
    threads: ThreadOperations
    messages: MessageOperations
    runs: RunOperations

    @classmethod
    def build(cls, db: Database, engine: RunEngine, run_settings: RunSettings) -> Operations:
        threads = ThreadOperations(db)
        return cls(
            assistants=AssistantOperations(db),
            threads=threads,
            messages=MessageOperations(db),
            runs=RunOperations(db, engine, threads, run_settings),
        )
