"""Structured logging: one ``key=value`` line per event, with the event's fields."""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

from pygentic.config import redact_url

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


_NEEDS_QUOTES = re.compile(r'[ "=\n]')


def _format_value(value: Any) -> str:
    text = value if type(value) is str else str(value)
    if not text or _NEEDS_QUOTES.search(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class LogfmtFormatter(logging.Formatter):
    """Formats records as ``ts=... level=... logger=... msg=... key=value ...`` (logfmt)."""

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text

    def _timestamp(self, record: logging.LogRecord) -> str:
        """``record``'s time (UTC, milliseconds); the date and time of day are formatted once a second."""
        second = int(record.created)
        cached, text = self._second
        if cached != second:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return f"{text}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f"ts={self._timestamp(record)}",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_format_value(record.getMessage())}",
        ]
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                parts.append(f"{key}={_format_value(value)}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        # Credentials inside URLs (an upstream's base_url, a database URL) never reach the log, whichever
        # library wrote the line (httpx logs every request URL).
        return redact_url(line) if "@" in line else line


def configure_logging(level: str = "INFO") -> None:
    """Send structured lines for the ``pygentic`` loggers to stderr at ``level``.

    A line shows none of the record's thread, process or source location, so the records do not collect
    them (the logging HOWTO's "Optimization"; walking the stack for the caller's file and line, and
    looking up the thread and process, were about a fifth of a line's cost, paid on every RPC and run
    transition)."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # type: ignore[attr-defined]  # documented there: no findCaller()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
