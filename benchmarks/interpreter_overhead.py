"""What the code interpreter's sandbox costs per call, and how many executions per second it sustains.

    .venv/bin/python benchmarks/interpreter_overhead.py [--calls 40] [--concurrency 2]

For shell (bash) and Python (the managed environment, pandas not imported: programs import it when they
use it) this runs a trivial program through the interpreter exactly as a run does (bubblewrap, prlimit,
the pids cgroup where available, the work directory, the written-files scan), and beside it, in the same
run, the floor: the same runtime started directly as a bare subprocess. The difference of the medians is
the sandbox's start overhead. Then ``--calls`` Python programs at once through the interpreter's
``max_concurrency`` slots give executions per second. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from pygentic.config import InterpreterSettings
from pygentic.interpreter.service import Interpreter
from pygentic.interpreter.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = {"shell": ":", "python": "pass", "python + import pandas": "import pandas"}


async def bare(argv: list[str]) -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL)
    await process.wait()
    return time.perf_counter() - started


async def sandboxed(interpreter: Interpreter, workspace: Workspace, language: str, code: str) -> float:
    started = time.perf_counter()
    execution = await interpreter.execute(language, code, workspace)
    elapsed = time.perf_counter() - started
    if execution.exit_code != 0:
        raise SystemExit(f"{language} failed: {execution.logs}")
    return elapsed


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = InterpreterSettings(
            dir=scratch, python_env=str(REPO / ".interpreter-env"), max_concurrency=args.concurrency
        )
        interpreter = Interpreter(settings, "sqlite:///:memory:")
        await interpreter.start()
        if interpreter.unavailable:
            raise SystemExit(interpreter.unavailable)
        print(f"interpreter: {interpreter.describe()}")
        workspace = interpreter.workspace("thread_bench")
        python = str(interpreter.python_env / "bin" / "python")
        program = Path(scratch) / "program"
        print(
            f"{'program':<24} {'bare (floor)':>14} {'sandboxed':>12} {'overhead':>12}"
            f"   (medians of {args.samples})"
        )
        for label, code in PROGRAMS.items():
            language = label.split(" ")[0]
            program.write_text(code)
            argv = ["bash", str(program)] if language == "shell" else [python, "-u", str(program)]
            await bare(argv)  # warm the page cache
            await sandboxed(interpreter, workspace, language, code)
            floor = statistics.median([await bare(argv) for _ in range(args.samples)])
            inside = statistics.median(
                [await sandboxed(interpreter, workspace, language, code) for _ in range(args.samples)]
            )
            print(f"{label:<24} {ms(floor):>14} {ms(inside):>12} {ms(inside - floor):>12}")
        workspaces = [interpreter.workspace(f"thread_bench{i}") for i in range(args.calls)]
        started = time.perf_counter()
        await asyncio.gather(*(sandboxed(interpreter, w, "python", "print(1)") for w in workspaces))
        elapsed = time.perf_counter() - started
        print(
            f"throughput: {args.calls} Python executions at max_concurrency={args.concurrency} in "
            f"{elapsed:.2f} s = {args.calls / elapsed:.1f} executions/s"
        )
        interpreter.close()


if __name__ == "__main__":
    asyncio.run(main())
