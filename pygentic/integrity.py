"""``pygentic db check``: find stored objects that cannot be read back as API objects.

Pygentic refuses such objects before they are written; an older version did not, and lists skip the ones it
let in (logging their ids). This pass reads every row, in batches, and reports each one that does not
convert to its protobuf object or does not round-trip through bytes and JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from sqlmodel import col, select

from pygentic.errors import ApiError
from pygentic.objects import (
    assistant_to_proto,
    ensure_storable,
    file_to_proto,
    message_to_proto,
    run_to_proto,
    step_to_proto,
    thread_to_proto,
    vector_store_file_to_proto,
    vector_store_to_proto,
)
from pygentic.storage import Database
from pygentic.storage.tables import (
    AssistantRow,
    FileRow,
    MessageRow,
    RunRow,
    RunStepRow,
    ThreadRow,
    VectorStoreFileRow,
    VectorStoreRow,
)

BATCH = 500
CONVERTERS: tuple[tuple[str, Any, Callable[[Any], Message]], ...] = (
    ("assistant", AssistantRow, assistant_to_proto),
    ("thread", ThreadRow, thread_to_proto),
    ("message", MessageRow, message_to_proto),
    ("run", RunRow, run_to_proto),
    ("run step", RunStepRow, step_to_proto),
    ("file", FileRow, file_to_proto),
    ("vector store", VectorStoreRow, lambda row: vector_store_to_proto(row, {}, 0, 0)),
    ("vector store file", VectorStoreFileRow, vector_store_file_to_proto),
)


@dataclass(frozen=True)
class Unreadable:
    """A stored object that cannot be served: its kind, id and why."""

    kind: str
    id: str
    reason: str


async def find_unreadable(db: Database) -> tuple[int, list[Unreadable]]:
    """(rows checked, the unreadable ones)."""
    checked = 0
    found: list[Unreadable] = []
    for kind, table, convert in CONVERTERS:
        last_seq = 0
        while True:
            async with db.read(bulk=True) as session:
                stmt = select(table).where(col(table.seq) > last_seq).order_by(col(table.seq)).limit(BATCH)
                rows = list((await session.exec(stmt)).all())
            if not rows:
                break
            last_seq = rows[-1].seq
            for row in rows:
                checked += 1
                try:
                    ensure_storable(convert(row))
                except ApiError:
                    found.append(Unreadable(kind, row.id, "does not round-trip (too deep or not JSON)"))
                except Exception as exc:
                    found.append(Unreadable(kind, row.id, f"cannot be converted ({type(exc).__name__})"))
    return checked, found
