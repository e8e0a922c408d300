"""The REST gateway: OpenAI-compatible JSON and server-sent events over the same operations as gRPC."""
