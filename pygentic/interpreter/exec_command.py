"""``pygentic exec``: run code through the interpreter's sandbox and limits, without a model."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from pygentic.config import Settings
from pygentic.interpreter.service import Interpreter
from pygentic.interpreter.workspace import Workspace


async def run_exec(settings: Settings, language: str, code: str) -> int:
    """Run ``code`` in a temporary work directory; print its output; its exit status."""
    interpreter = Interpreter(settings.interpreter, settings.database.url)
    await interpreter.start()
    if interpreter.unavailable:
        print(f"pygentic: {interpreter.unavailable}", file=sys.stderr)
        return 2
    interpreter.root.mkdir(parents=True, exist_ok=True)
    try:
        return await _run_once(interpreter, language, code)
    finally:
        interpreter.close()


async def _run_once(interpreter: Interpreter, language: str, code: str) -> int:
    with tempfile.TemporaryDirectory(prefix="exec-", dir=interpreter.root) as scratch:
        workspace = Workspace(Path(scratch))
        execution = await interpreter.execute(language, code, workspace)
        sys.stdout.write(execution.logs)
        if execution.logs and not execution.logs.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        for written in execution.written:
            print(
                f"pygentic: wrote {written.sandbox_path} ({written.path.stat().st_size} bytes)",
                file=sys.stderr,
            )
    return execution.exit_code


def read_code(code: str | None, file: str | None) -> str:
    """The program: ``-c CODE``, else ``--file FILE``, else standard input."""
    if code is not None:
        return code
    if file is not None:
        return Path(file).read_text(encoding="utf-8")
    return sys.stdin.read()


def main(settings: Settings, language: str, code: str | None, file: str | None) -> int:
    try:
        program = read_code(code, file)
    except OSError as exc:
        print(f"pygentic: cannot read {file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return asyncio.run(run_exec(settings, language, program))
