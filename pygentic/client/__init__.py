"""Pygentic's typed asyncio gRPC client.

    from pygentic.client import Client

    async with Client("127.0.0.1:50051") as client:
        assistant = await client.create_assistant("local", instructions="Be brief.")
        thread = await client.create_thread(["What is the capital of France?"])
        stream = client.stream_run(thread.id, assistant.id)
        async for event in stream:
            ...
        print(stream.text)

See the README's "Clients" section and ``clients/python/`` for a runnable example.
"""

from pygentic.client.client import Client, Stubs
from pygentic.client.connection import TLS, Connection, RetryPolicy
from pygentic.client.errors import PygenticError
from pygentic.client.events import (
    DoneEvent,
    ErrorEvent,
    MessageEvent,
    RunEvent,
    RunStatusEvent,
    StepDeltaEvent,
    StepEvent,
    TextDeltaEvent,
    ThreadEvent,
)
from pygentic.client.functions import Functions
from pygentic.client.stream import RunStream

__all__ = [
    "TLS",
    "Client",
    "Connection",
    "DoneEvent",
    "ErrorEvent",
    "Functions",
    "MessageEvent",
    "PygenticError",
    "RetryPolicy",
    "RunEvent",
    "RunStatusEvent",
    "RunStream",
    "StepDeltaEvent",
    "StepEvent",
    "Stubs",
    "TextDeltaEvent",
    "ThreadEvent",
]
