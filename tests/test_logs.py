"""The structured log line: its timestamp, quoting and fields."""

from __future__ import annotations

import io
import logging
import time

import pytest

from pygentic.logs import LogfmtFormatter, configure_logging


def _record(created: float, msg: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("pygentic.test", logging.INFO, "", 0, msg, None, None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    record.__dict__.update(extra)
    return record


def test_each_line_carries_its_own_second_and_millisecond() -> None:
    formatter = LogfmtFormatter()
    base = 1_765_000_000  # 2025-12-06T05:46:40Z
    lines = [
        formatter.format(_record(base + 0.0015, "a")),
        formatter.format(_record(base + 0.9995, "b")),
        formatter.format(_record(base + 1.5, "c")),  # the next second: formatted anew
        formatter.format(_record(base + 0.25, "d")),  # an earlier second again (another thread's record)
    ]
    stamps = [line.split()[0] for line in lines]
    assert stamps == [
        "ts=2025-12-06T05:46:40.001Z",
        "ts=2025-12-06T05:46:40.999Z",
        "ts=2025-12-06T05:46:41.500Z",
        "ts=2025-12-06T05:46:40.250Z",
    ]
    for second in (base + 86_400 * 400, time.time()):  # any day, today
        expected = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(second)))
        assert formatter.format(_record(second, "x")).startswith(f"ts={expected}.")


def test_values_are_quoted_only_when_they_must_be() -> None:
    line = LogfmtFormatter().format(
        _record(
            1_765_000_000.0,
            "run completed",
            run_id="run_1",
            empty="",
            spaced="a b",
            quoted='say "hi"',
            equals="a=b",
            newline="one\ntwo",
            number=4.5,
            _private="hidden",
        )
    )
    assert line.split(" ", 1)[1] == (
        'level=info logger=pygentic.test msg="run completed" run_id=run_1 empty="" spaced="a b" '
        'quoted="say \\"hi\\"" equals="a=b" newline="one\\ntwo" number=4.5'
    )


def test_configured_lines_reach_stderr_without_thread_process_or_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    for flag in ("logThreads", "logProcesses", "logMultiprocessing", "_srcfile"):  # restored afterwards
        monkeypatch.setattr(logging, flag, getattr(logging, flag))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    records: list[logging.LogRecord] = []
    try:
        configure_logging("INFO")
        root.handlers[0].addFilter(lambda record: records.append(record) or True)
        logging.getLogger("pygentic.test").info("hello", extra={"thread_id": "thread_1"})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = stream.getvalue().strip()
    assert line.endswith("level=info logger=pygentic.test msg=hello thread_id=thread_1")
    [record] = records
    # Nothing looked up for a line that shows none of it: no stack walk for the caller, no thread or process.
    assert (record.funcName, record.lineno) == ("(unknown function)", 0)
    assert record.thread is None and record.threadName is None
    assert record.process is None and record.processName is None
