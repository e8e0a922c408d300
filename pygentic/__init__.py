"""Pygentic: a self-hosted, gRPC-first OpenAI Assistants API compatible agent service."""

__version__ = "0.1.0"
