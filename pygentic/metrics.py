"""Prometheus metrics, served as text at the gateway's ``/metrics``.

Requests by door, method and code (with their duration), run transitions by status, runs waiting for a
connector slot, upstream time to the first chunk and upstream errors, and the event bus's lag (how long an
event waits in a stream's buffer before its reader takes it). With ``--workers N`` every worker writes its
samples to the directory the supervisor names in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` on any
worker adds them up (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UPSTREAM_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUESTS = Counter(
    "pygentic_requests_total",
    "Requests answered, by door, method and status code.",
    ["door", "method", "code"],
)
REQUEST_SECONDS = Histogram(
    "pygentic_request_seconds",
    "Time to answer a request (streams: until they end).",
    ["door", "method"],
    buckets=FAST_BUCKETS,
)
RUN_TRANSITIONS = Counter("pygentic_run_transitions_total", "Runs entering each status.", ["status"])
RUNS_WAITING = Gauge(
    "pygentic_runs_waiting_for_connector",
    "Runs queued behind their connector's max_concurrency.",
    ["connector"],
    multiprocess_mode="livesum",
)
UPSTREAM_FIRST_CHUNK = Histogram(
    "pygentic_upstream_first_chunk_seconds",
    "Time from a model call to its first streamed chunk.",
    ["connector"],
    buckets=UPSTREAM_BUCKETS,
)
UPSTREAM_ERRORS = Counter(
    "pygentic_upstream_errors_total",
    "Model calls that failed, by connector and last_error code.",
    ["connector", "code"],
)
BUS_LAG = Histogram(
    "pygentic_bus_lag_seconds",
    "How long a run event waited in a stream's buffer for its reader.",
    buckets=FAST_BUCKETS,
)

# The labelled series of each (door, method, code): ``labels()`` checks and hashes its arguments under a
# lock on every call (about 3 us each); the series itself never changes. Methods and routes are a fixed
# set (route templates, never paths), so this stays small.
_request_series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def count_request(door: str, method: str, code: str, seconds: float) -> None:
    """One answered request: ``pygentic_requests_total`` and ``pygentic_request_seconds``."""
    key = (door, method, code)
    series = _request_series.get(key)
    if series is None:
        series = _request_series[key] = (REQUESTS.labels(*key), REQUEST_SECONDS.labels(door, method))
    count, duration = series
    count.inc()
    duration.observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, and its media type; every worker's when there are several."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
