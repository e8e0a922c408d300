"""OpenTelemetry tracing, off unless ``[telemetry] otlp_endpoint`` is set.

Spans follow a run from the request that made it through the engine to the upstream call: a SERVER span
per gRPC call and per REST request (continuing a caller's ``traceparent``), a ``run`` span per stretch of
execution (a child of the request that started it, or of nothing after a restart), and a CLIENT span per
model call whose ``traceparent`` header goes upstream. Spans are exported in batches over OTLP/HTTP
(``{otlp_endpoint}/v1/traces``). Off, the tracer is OpenTelemetry's no-op one.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry import propagate, trace

from pygentic.config import TelemetrySettings

log = logging.getLogger("pygentic.telemetry")

_tracer: trace.Tracer = trace.NoOpTracer()
SERVER = trace.SpanKind.SERVER
CLIENT = trace.SpanKind.CLIENT
INTERNAL = trace.SpanKind.INTERNAL


def tracer() -> trace.Tracer:
    """The tracer of this process (the no-op one while tracing is off)."""
    return _tracer


def tracing() -> bool:
    """Whether spans are recorded (``[telemetry]`` configured them)."""
    return not isinstance(_tracer, trace.NoOpTracer)


class Tracing:
    """The tracer provider of one server, from ``[telemetry]``; ``close`` exports what is left."""

    def __init__(self, settings: TelemetrySettings) -> None:
        global _tracer
        self.provider: Any = None
        if not settings.otlp_endpoint:
            return
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio

        self.provider = TracerProvider(
            resource=Resource.create({"service.name": settings.service_name}),
            sampler=ParentBasedTraceIdRatio(settings.sample_ratio),
        )
        endpoint = f"{settings.otlp_endpoint.rstrip('/')}/v1/traces"
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        _tracer = self.provider.get_tracer("pygentic")
        log.info("tracing on", extra={"endpoint": endpoint, "sample_ratio": settings.sample_ratio})

    def close(self) -> None:
        global _tracer
        if self.provider is not None:
            self.provider.force_flush()
            self.provider.shutdown()
            _tracer = trace.NoOpTracer()


def extract(carrier: dict[str, str]) -> Any:
    """The trace context a caller sent (``traceparent``), for the span that serves it."""
    return propagate.extract(carrier)


def inject(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus the current span's ``traceparent`` (unchanged while tracing is off)."""
    propagate.inject(headers)
    return headers
