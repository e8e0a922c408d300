"""The ``code_interpreter`` tool: runs the model's programs in the interpreter's sandbox.

Offered to the model as a function ``code_interpreter(language, code)`` when the run has the tool. Each
call runs in the thread's work directory (``/mnt/data``, kept across the thread's calls), with the
thread's and the assistant's input files shown read-only under their names. The step entry is OpenAI's
``code_interpreter`` object: ``input`` (streamed as the model writes it) and ``outputs`` (``logs``; an
``image`` for every image the program saved). Every file the program writes becomes a File (purpose
``assistants_output``); the engine attaches images to the next message as ``image_file`` parts and turns
``sandbox:/mnt/data/...`` paths in its text into ``file_path`` annotations (``_model["files"]``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

from sqlmodel import col, select

from pygentic.interpreter.service import Execution, Interpreter
from pygentic.interpreter.workspace import InputFile, Workspace, WrittenFile, open_written, shown_name
from pygentic.operations.files import FileOperations
from pygentic.runtime.toolcalls import AssembledCall
from pygentic.runtime.tools import Report, ToolExecution, model_view, resource_ids
from pygentic.storage import Database
from pygentic.storage.blobs import BlobTooLarge, LocalBlobStore, stream_from
from pygentic.storage.tables import FileRow, MessageRow, RunRow

log = logging.getLogger("pygentic.runs")

NAME = "code_interpreter"
OUTPUT_PURPOSE = "assistants_output"
MAX_MODEL_OUTPUT = 20_000  # characters of logs the model reads (the step keeps up to the output limit)
LANGUAGE_NOTES = {
    "python": "python (numpy, pandas and matplotlib installed)",
    "javascript": "javascript (Node.js)",
    "shell": "shell (bash)",
}


class CodeInterpreter:
    """Executes ``code_interpreter`` calls."""

    kind = "code_interpreter"

    def __init__(self, db: Database, interpreter: Interpreter, files: FileOperations) -> None:
        self.db = db
        self.interpreter = interpreter
        self.files = files

    def handles(self, run: RunRow, name: str) -> bool:
        return name == NAME and self.interpreter.settings.enabled and _has_tool(run)

    async def offers(self, run: RunRow) -> list[dict[str, Any]]:
        if not self.handles(run, NAME):
            return []
        names = [name for _, name in await self._input_files(run)]
        return [self.definition(names)]

    def definition(self, input_names: list[str]) -> dict[str, Any]:
        languages = self.interpreter.languages.names()
        described = ", ".join(LANGUAGE_NOTES.get(name, name) for name in languages)
        description = (
            "Run a program and read its output (stdout and stderr). Use it for calculations, data "
            "analysis and charts. The working directory is /mnt/data; it keeps files between calls in "
            "this conversation, and files saved there are given to the user (save charts as PNG files; "
            "mention other files as sandbox:/mnt/data/NAME). No network access. Languages: "
            f"{described}."
        )
        if input_names:
            description += (
                " Files provided (read-only): " + ", ".join(f"/mnt/data/{n}" for n in input_names) + "."
            )
        return {
            "type": "function",
            "function": {
                "name": NAME,
                "description": description,
                "parameters": {
                    "type": "object",
                    "properties": {
                        "language": {"type": "string", "enum": languages, "description": "Default: python."},
                        "code": {"type": "string", "description": "The program to run."},
                    },
                    "required": ["code"],
                },
            },
        }

    def input_delta(self, call: AssembledCall, before: str) -> dict[str, Any] | None:
        old, new = partial_string(before, "code"), partial_string(call.arguments, "code")
        if len(new) > len(old) and new.startswith(old):
            return {"input": new[len(old) :]}
        return None

    async def execute(self, run: RunRow, call: AssembledCall, report: Report) -> ToolExecution:
        language, code, problem = _arguments(call.arguments)
        streamed = partial_string(call.arguments, "code")
        if code != streamed and code.startswith(streamed):
            report({"input": code[len(streamed) :]})
        if problem is not None:
            return self._result(call, code, problem, [{"type": "logs", "logs": problem}], [])
        workspace = self.interpreter.workspace(run.thread_id)
        inputs = await self._provide_inputs(run, workspace)
        execution = await self.interpreter.execute(language, code, workspace, inputs)
        saved = [await self._save(run, written) for written in execution.written]
        files = [entry for entry in saved if entry is not None]
        outputs: list[dict[str, Any]] = []
        if execution.logs:
            outputs.append({"type": "logs", "logs": execution.logs})
        outputs += [{"type": "image", "image": {"file_id": f["file_id"]}} for f in files if f["image"]]
        if outputs:
            report({"outputs": [{"index": i, **o} for i, o in enumerate(outputs)]})
        return self._result(call, code, _model_output(execution, files), outputs, files)

    @staticmethod
    def _result(
        call: AssembledCall,
        code: str,
        output: str,
        outputs: list[dict[str, Any]],
        files: list[dict[str, Any]],
    ) -> ToolExecution:
        entry = {
            "id": call.id,
            "type": "code_interpreter",
            "code_interpreter": {"input": code, "outputs": outputs},
            "_model": {**model_view(call, output), "files": files},
        }
        return ToolExecution(output=output, step_call=entry)

    # ------------------------------------------------------------------ files in and out

    async def _input_files(self, run: RunRow) -> list[tuple[FileRow, str]]:
        """The files the program sees: the assistant's and the thread's ``tool_resources`` and the
        thread's message attachments for ``code_interpreter``, with their names in /mnt/data."""
        async with self.db.read() as session:
            ids = await resource_ids(session, run, NAME, "file_ids")
            attachments = (
                await session.exec(
                    select(MessageRow.attachments)
                    .where(MessageRow.thread_id == run.thread_id)
                    .order_by(col(MessageRow.created_at), col(MessageRow.seq))
                )
            ).all()
            for listed in attachments:
                for attachment in listed or []:
                    if any(t.get("type") == NAME for t in attachment.get("tools") or []):
                        ids.append(attachment.get("file_id"))
            unique = list(dict.fromkeys(i for i in ids if isinstance(i, str)))
            rows = (
                (await session.exec(select(FileRow).where(col(FileRow.id).in_(unique)))).all()
                if unique
                else []
            )
        by_id = {row.id: row for row in rows}
        taken: set[str] = set()
        return [(by_id[i], shown_name(by_id[i].filename, i, taken)) for i in unique if i in by_id]

    async def _provide_inputs(self, run: RunRow, workspace: Workspace) -> list[InputFile]:
        """Local copies of the input files (made once per thread), to show read-only."""
        provided = []
        for row, name in await self._input_files(run):
            path = workspace.input_path(row.id)
            if not path.is_file():
                copies = LocalBlobStore(workspace.inputs)
                try:
                    await copies.start()
                    await copies.write(row.id, self.files.store.read(row.id), self.files.settings.max_bytes)
                except Exception as exc:  # a missing or unreadable blob: the program runs without it
                    log.warning("input file unavailable", extra={"file_id": row.id, "reason": str(exc)})
                    continue
            provided.append(InputFile(row.id, name, path))
        return provided

    async def _save(self, run: RunRow, written: WrittenFile) -> dict[str, Any] | None:
        """Keep a file the program wrote as a File (streamed to the file store); None when it cannot be
        read or is larger than the file size limit."""
        handle = await asyncio.to_thread(open_written, written)
        if handle is None:
            return None
        name = os.path.basename(written.relative)
        try:
            row = await self.files.save(name, OUTPUT_PURPOSE, stream_from(handle))
        except BlobTooLarge:
            log.warning("interpreter file too large to keep", extra={"run_id": run.id, "file": name})
            return None
        finally:
            handle.close()  # (stream_from closes it too when it reaches the end)
        log.info("interpreter file kept", extra={"run_id": run.id, "file_id": row.id, "bytes": row.bytes})
        return {"file_id": row.id, "path": written.sandbox_path, "image": written.is_image}


def _has_tool(run: RunRow) -> bool:
    return any(t.get("type") == NAME for t in run.tools or [])


def _arguments(arguments: str) -> tuple[str, str, str | None]:
    """(language, code, a problem to tell the model or None)."""
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return "python", arguments, 'The call\'s arguments are not JSON; send {"language": ..., "code": ...}.'
    if not isinstance(parsed, dict) or not isinstance(parsed.get("code"), str) or not parsed["code"].strip():
        return "python", "", 'The call has no code; send {"language": ..., "code": "..."}.'
    language = parsed.get("language")
    return (language if isinstance(language, str) and language else "python"), parsed["code"], None


def _model_output(execution: Execution, files: list[dict[str, Any]]) -> str:
    """What the model reads: the logs (cut), how the program ended, the files it wrote."""
    logs = execution.logs
    if len(logs) > MAX_MODEL_OUTPUT:
        logs = logs[:MAX_MODEL_OUTPUT] + f"\n[... {len(execution.logs) - MAX_MODEL_OUTPUT} more characters]"
    lines = [logs.rstrip("\n")] if logs else []
    if execution.outcome is not None:
        lines.append(
            f"[exit status {execution.exit_code}]" if execution.outcome.limit is None else "[stopped]"
        )
        if not logs:
            lines.insert(0, "(no output)")
    for entry in files:
        kind = "an image, shown to the user" if entry["image"] else "a file the user can download"
        lines.append(f"[wrote {entry['path']}: {kind}]")
    return "\n".join(lines)


def partial_string(arguments: str, key: str) -> str:
    """The value of the string ``key`` in a JSON object that may be cut anywhere (while it streams):
    as much of it as is complete, escapes decoded."""
    marker = f'"{key}"'
    start = arguments.find(marker)
    while start != -1:
        rest = arguments[start + len(marker) :].lstrip()
        if rest.startswith(":"):
            rest = rest[1:].lstrip()
            if rest.startswith('"'):
                return _decode_prefix(rest[1:])
            return ""
        start = arguments.find(marker, start + 1)
    return ""


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _decode_prefix(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            break
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(text):
            break  # an escape cut in two: wait for the rest
        kind = text[i + 1]
        if kind == "u":
            digits = text[i + 2 : i + 6]
            if len(digits) < 4:
                break
            try:
                code = int(digits, 16)
            except ValueError:
                code = 0xFFFD
            if 0xD800 <= code < 0xDC00:  # a surrogate pair's first half: needs the second
                pair = text[i + 6 : i + 12]
                if len(pair) < 6:
                    break
                try:
                    low = int(pair[2:], 16) if pair.startswith("\\u") else 0
                except ValueError:
                    low = 0
                out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)) if low else "\ufffd")
                i += 12
                continue
            out.append(chr(code))
            i += 6
            continue
        out.append(_ESCAPES.get(kind, kind))
        i += 2
    return "".join(out)
