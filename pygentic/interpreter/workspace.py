"""Per-thread work directories of the interpreter, and the files that go in and come out.

A thread's directory ``<root>/<thread id>/`` holds ``data/`` (the program's ``/mnt/data``, writable, kept
across calls of the thread and removed with it), ``home/`` (its home directory: caches such as
matplotlib's) and ``inputs/`` (copies of the thread's input files, shown read-only in ``/mnt/data`` under
their names). Nothing the program writes is followed as a link: outputs are regular files found without
following symlinks, read through ``O_NOFOLLOW``.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pygentic.interpreter.sandbox import SANDBOX_HOME, WORK_DIR, Mount

SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MAX_OUTPUT_FILES = 20
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


@dataclass(frozen=True)
class InputFile:
    """A file shown to the program: its id, its name in ``/mnt/data`` and its local copy."""

    file_id: str
    name: str
    path: Path


@dataclass(frozen=True)
class WrittenFile:
    """A regular file the program created or changed in ``/mnt/data``."""

    relative: str  # its path under /mnt/data
    path: Path

    @property
    def is_image(self) -> bool:
        return self.path.suffix.lower() in IMAGE_SUFFIXES

    @property
    def sandbox_path(self) -> str:
        return f"sandbox:{WORK_DIR}/{self.relative}"


Snapshot = dict[str, tuple[int, int]]


class Workspace:
    """One thread's (or one ``pygentic exec``'s) directories."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.home = root / "home"
        self.inputs = root / "inputs"
        for path in (self.root, self.data, self.home, self.inputs):
            # The sandbox's uid is the server's own uid outside its user namespace: owner access suffices.
            path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def mounts(self, inputs: Iterable[InputFile] = ()) -> list[Mount]:
        mounts = [Mount(self.data, WORK_DIR, writable=True), Mount(self.home, SANDBOX_HOME, writable=True)]
        mounts += [Mount(f.path, f"{WORK_DIR}/{f.name}") for f in inputs]
        return mounts

    def input_path(self, file_id: str) -> Path:
        if not SAFE_ID.match(file_id):
            raise ValueError(f"not a file id: {file_id!r}")
        return self.inputs / file_id

    def snapshot(self) -> Snapshot:
        """Every regular file under ``data/`` with its (mtime, size), symlinks not followed."""
        found: Snapshot = {}
        for path in _regular_files(self.data):
            info = path.lstat()
            found[path.relative_to(self.data).as_posix()] = (info.st_mtime_ns, info.st_size)
        return found

    def written(self, before: Snapshot, inputs: Iterable[InputFile]) -> list[WrittenFile]:
        """The files created or changed since ``before`` (inputs and their mount points excepted)."""
        shown = {f.name for f in inputs}
        after = self.snapshot()
        changed = [
            WrittenFile(relative, self.data / relative)
            for relative, state in sorted(after.items())
            if relative not in shown and before.get(relative) != state
        ]
        return changed[:MAX_OUTPUT_FILES]

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def open_written(file: WrittenFile) -> BinaryIO | None:
    """The file opened for reading, refusing links and anything but a regular file (None)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(file.path, flags)
    except OSError:
        return None
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        return None
    return handle


def _regular_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for directory, dirs, names in os.walk(root, followlinks=False):
        base = Path(directory)
        dirs[:] = [d for d in dirs if not (base / d).is_symlink()]
        for name in names:
            path = base / name
            if stat.S_ISREG(path.lstat().st_mode):
                files.append(path)
        if len(files) > 10_000:
            break
    return files


def shown_name(filename: str, file_id: str, taken: set[str]) -> str:
    """The name a file gets in ``/mnt/data``: its own base name made safe, made unique with its id."""
    base = os.path.basename(filename.replace("\\", "/")).strip().lstrip(".") or file_id
    base = re.sub(r"[\x00-\x1f/]", "_", base)[:200]
    name = base if base not in taken else f"{file_id}-{base}"
    taken.add(name)
    return name
