"""Create an assistant with a function tool and a thread, stream a run, answer the function call.

    PYGENTIC_GRPC=127.0.0.1:50051 python clients/python/stream_run.py [model] [question]

With ``pip install pygentic`` (or in this repository's .venv) nothing else is needed. PYGENTIC_API_KEY is
sent when the server requires keys. Prints the answer as it streams to stderr, then one JSON line:
{"thread_id", "run_id", "status", "events": [...names], "text", "calls": [...]}.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from pygentic.client import Client, Connection, TextDeltaEvent

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
calls: list[dict[str, str]] = []


def get_weather(city: str) -> dict[str, object]:
    """The function the model calls (a real program would ask a weather service)."""
    calls.append({"city": city})
    return {"city": city, "temperature_c": 21, "sky": "clear"}


async def main(model: str, question: str) -> None:
    connection = Connection(
        target=os.environ.get("PYGENTIC_GRPC", "127.0.0.1:50051"), api_key=os.environ.get("PYGENTIC_API_KEY")
    )
    async with Client(connection=connection) as client:
        assistant = await client.create_assistant(model, name="Python client example", tools=[WEATHER_TOOL])
        thread = await client.create_thread([question])
        stream = client.stream_run(thread.id, assistant.id, functions=[get_weather])
        async for event in stream:
            if isinstance(event, TextDeltaEvent):
                print(event.delta, end="", flush=True, file=sys.stderr)
        print(file=sys.stderr)
        run = stream.run
        assert run is not None
        names = [event.name for event in stream.events]
        result = {"thread_id": thread.id, "run_id": run.id, "status": run.status, "events": names}
        print(json.dumps(result | {"text": stream.text, "calls": calls}))


if __name__ == "__main__":
    model = sys.argv[1] if len(sys.argv) > 1 else "local"
    question = sys.argv[2] if len(sys.argv) > 2 else "What is the weather in Paris?"
    asyncio.run(main(model, question))
