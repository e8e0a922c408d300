"""All operations of one service instance, shared by the gRPC servicers and the REST gateway."""

from __future__ import annotations

from dataclasses import dataclass

from pygentic.operations.assistants import AssistantOperations
from pygentic.operations.messages import MessageOperations
from pygentic.operations.threads import ThreadOperations
from pygentic.storage import Database


@dataclass
class Operations:
    """The operations, one object per resource."""

    assistants: AssistantOperations
    threads: ThreadOperations
    messages: MessageOperations

    @classmethod
    def build(cls, db: Database) -> Operations:
        return cls(
            assistants=AssistantOperations(db),
            threads=ThreadOperations(db),
            messages=MessageOperations(db),
        )
