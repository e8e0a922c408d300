"""The languages the interpreter runs: built-in Python, JavaScript and shell, plus configured ones."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pygentic.config import LanguageSettings

#: The directories whose programs the sandbox can see (and where runtimes are looked up).
SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


@dataclass(frozen=True)
class Language:
    """How to run one language: ``command`` with ``{file}`` standing for the program's path."""

    name: str
    command: tuple[str, ...]
    suffix: str
    aliases: tuple[str, ...] = ()

    def argv(self, program: str) -> list[str]:
        if any("{file}" in part for part in self.command):
            return [part.replace("{file}", program) for part in self.command]
        return [*self.command, program]

    def runtime(self, search_path: Sequence[str]) -> str | None:
        """The runtime's absolute path, or None when it is not installed."""
        executable = self.command[0]
        if "/" in executable:
            return executable if Path(executable).is_file() else None
        return shutil.which(executable, path=":".join(search_path))


def builtin_languages(python: str) -> list[Language]:
    """Python (``python``: the managed environment's interpreter), JavaScript (node) and shell (bash)."""
    return [
        Language("python", (python, "-u", "{file}"), ".py", ("py", "python3")),
        Language("javascript", ("node", "{file}"), ".js", ("js", "node", "nodejs")),
        Language("shell", ("bash", "{file}"), ".sh", ("bash", "sh")),
    ]


class Languages:
    """The languages by name (and alias); configured ones replace built-ins of the same name."""

    def __init__(self, python: str, configured: Sequence[LanguageSettings] = ()) -> None:
        by_name = {lang.name: lang for lang in builtin_languages(python)}
        for entry in configured:
            by_name[entry.name] = Language(entry.name, entry.command, entry.suffix)
        self.by_name = by_name
        self._aliases = {alias: lang for lang in by_name.values() for alias in lang.aliases}

    def names(self) -> list[str]:
        return list(self.by_name)

    def get(self, name: str) -> Language | None:
        key = (name or "python").strip().lower()
        return self.by_name.get(key) or self._aliases.get(key)
