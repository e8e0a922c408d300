"""Loading connector classes (and extra gateway routes) from the plugin directory.

The directory is ``plugin_dir`` in connectors.toml, else ``$PYGENTIC_PLUGIN_DIR``. A table
``[connectors.NAME]`` names its class with ``class = "module:Class"``, or by the seed's convention: the class
(a ``BaseConnector`` subclass defined in one of the directory's modules) whose lowercased name is NAME.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from pygentic.config import PluginSettings
from pygentic.connectors.base import BaseConnector

MODULE_PREFIX = "pygentic_plugin_"


class PluginError(Exception):
    """A plugin cannot be loaded; the message names the table and the reason."""


class PluginLoader:
    """Imports the plugin directory's modules once each."""

    def __init__(self, directory: str | None) -> None:
        self.directory = Path(directory) if directory else None
        self._modules: dict[str, ModuleType] = {}

    def _require_directory(self, where: str) -> Path:
        if self.directory is None:
            raise PluginError(
                f"{where}: no plugin directory: set PYGENTIC_PLUGIN_DIR or plugin_dir in the file"
            )
        if not self.directory.is_dir():
            raise PluginError(f"{where}: plugin directory '{self.directory}' does not exist")
        return self.directory

    def module(self, name: str, where: str) -> ModuleType:
        """Import ``name`` (``name.py`` or the package ``name/``) from the plugin directory."""
        if name in self._modules:
            return self._modules[name]
        directory = self._require_directory(where)
        path = directory / f"{name}.py"
        if not path.is_file():
            path = directory / name / "__init__.py"
        if not path.is_file():
            raise PluginError(f"{where}: no module '{name}' in plugin directory '{directory}'")
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))  # lets plugin modules import their siblings
        spec = importlib.util.spec_from_file_location(MODULE_PREFIX + name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[spec.name]
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            raise PluginError(f"{where}: cannot import plugin module '{name}' ({path}): {last}") from exc
        self._modules[name] = module
        return module

    def all_modules(self, where: str) -> list[ModuleType]:
        directory = self._require_directory(where)
        names = sorted(
            {p.stem for p in directory.glob("*.py") if p.stem != "__init__"}
            | {p.parent.name for p in directory.glob("*/__init__.py")}
        )
        return [self.module(name, where) for name in names]

    def attribute(self, spec: str, where: str) -> Any:
        """``module:attribute`` from the plugin directory."""
        module_name, _, attribute = spec.partition(":")
        if not module_name or not attribute:
            raise PluginError(f"{where}: expected 'module:Name', got {spec!r}")
        module = self.module(module_name, where)
        if not hasattr(module, attribute):
            raise PluginError(f"{where}: module '{module_name}' has no attribute '{attribute}'")
        return getattr(module, attribute)

    def connector_class(self, plugin: PluginSettings) -> type[BaseConnector]:
        where = f"[connectors.{plugin.name}]"
        spec = plugin.options.get("class")
        if spec is not None:
            if not isinstance(spec, str):
                raise PluginError(f"{where} key 'class': expected 'module:Class', got {spec!r}")
            cls = self.attribute(spec, where)
        else:
            matches = [
                obj
                for module in self.all_modules(where)
                for obj in vars(module).values()
                if inspect.isclass(obj)
                and obj.__module__ == module.__name__
                and obj.__name__.lower() == plugin.name.lower()
            ]
            if not matches:
                raise PluginError(
                    f"{where}: no class named '{plugin.name}' (case-insensitive) in plugin directory "
                    f"'{self.directory}'; name one with class = \"module:Class\""
                )
            if len(matches) > 1:
                found = ", ".join(f"{c.__module__.removeprefix(MODULE_PREFIX)}:{c.__name__}" for c in matches)
                raise PluginError(
                    f'{where}: several classes match ({found}); name one with class = "module:Class"'
                )
            cls = matches[0]
        if not (inspect.isclass(cls) and issubclass(cls, BaseConnector)):
            raise PluginError(f"{where}: {cls!r} is not a subclass of pygentic.connectors.BaseConnector")
        return cls

    def build(self, plugin: PluginSettings) -> BaseConnector:
        """An initialized instance of the table's class, given exactly its own table."""
        cls = self.connector_class(plugin)
        where = f"[connectors.{plugin.name}]"
        try:
            instance = cls()
            instance.name = plugin.name
            instance.initialize(dict(plugin.options))
        except Exception as exc:
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            raise PluginError(f"{where}: {cls.__name__} failed to initialize: {last}") from exc
        return instance


def source_file(obj: Any) -> str:
    """Where an object's class is defined."""
    try:
        return inspect.getfile(type(obj))
    except TypeError:
        return "?"
