"""Every configured connector as a live instance: built, connected at startup, disconnected at shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pygentic.config import Settings
from pygentic.connectors.base import BaseConnector
from pygentic.connectors.database import DatabaseConnector
from pygentic.connectors.factory import build_llm
from pygentic.connectors.llm import LLMConnector
from pygentic.connectors.plugins import PluginError, PluginLoader, source_file
from pygentic.connectors.router import LLMRouter
from pygentic.connectors.serverless import ServerlessConnector
from pygentic.connectors.text_llm import TextLLMAdapter
from pygentic.storage import Database

log = logging.getLogger("pygentic.connectors")


class ConnectorStartupError(Exception):
    """A required connector failed to connect; the message names it and says why."""


@dataclass
class Entry:
    """One connector, where it comes from, and whether startup may go on without it."""

    connector: BaseConnector
    source: str
    optional: bool = False
    connected: bool = False
    error: str | None = None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


class ConnectorRegistry:
    """Builds the connectors of ``settings`` (plugin errors raise :class:`PluginError` at once)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.loader = PluginLoader(settings.resolved_plugin_dir())
        database = DatabaseConnector(db)
        self.entries: list[Entry] = [Entry(database, source_file(database))]
        default = build_llm(settings.llm_service)
        self.entries.append(Entry(default, source_file(default), settings.llm_service.optional))
        routes: list[tuple[LLMConnector, tuple[str, ...]]] = []
        for llm_settings in settings.llms:
            llm = build_llm(llm_settings)
            self.entries.append(Entry(llm, source_file(llm), llm_settings.optional))
            routes.append((llm, llm_settings.models))
        self.tool_runners: list[ServerlessConnector] = []
        for serverless_settings in settings.serverless:
            serverless = ServerlessConnector(serverless_settings)
            self.entries.append(Entry(serverless, source_file(serverless), serverless_settings.optional))
            self.tool_runners.append(serverless)
        self.plugins: dict[str, BaseConnector] = {}
        for plugin_settings in settings.plugins:
            plugin = self.loader.build(plugin_settings)
            self.plugins[plugin.name] = plugin
            options = plugin_settings.options
            optional = bool(options.get("optional", False))
            llm_route = self._as_llm(plugin, options)
            if llm_route is not None:
                routes.append((llm_route, tuple(options.get("models", ()))))
                self.entries.append(Entry(llm_route, source_file(plugin), optional))
            else:
                self.entries.append(Entry(plugin, source_file(plugin), optional))
        self.router = LLMRouter(default, routes)

    @staticmethod
    def _as_llm(plugin: BaseConnector, options: dict[str, Any] | Any) -> LLMConnector | None:
        concurrency = options.get("max_concurrency")
        timeout = options.get("timeout")
        if isinstance(plugin, LLMConnector):
            if concurrency:
                plugin.max_concurrency = int(concurrency)
            return plugin
        if callable(getattr(plugin, "generate_text", None)):
            return TextLLMAdapter(
                plugin, int(concurrency) if concurrency else None, float(timeout) if timeout else None
            )
        return None

    def named(self) -> dict[str, Any]:
        """Connectors by name, as route handlers see them on ``request.state`` (plugins as written)."""
        out: dict[str, Any] = {e.connector.name: e.connector for e in self.entries if e.connected}
        out.update({name: p for name, p in self.plugins.items() if out.get(name) is not None})
        return out

    def routers(self) -> list[Any]:
        """The APIRouters that ``routers = ["module:attribute", ...]`` names in the plugin directory."""
        from fastapi import APIRouter

        found = []
        for spec in self.settings.routers:
            router = self.loader.attribute(spec, f"routers entry '{spec}'")
            if not isinstance(router, APIRouter):
                raise PluginError(f"routers entry '{spec}': {router!r} is not a fastapi.APIRouter")
            found.append(router)
        return found

    async def connect_all(self, *, strict: bool = True) -> None:
        """Connect in order (the database first). With ``strict``, a required connector's failure stops
        startup; without, every failure is only recorded (``pygentic connectors`` reports them)."""
        for entry in self.entries:
            connector = entry.connector
            try:
                await connector.connect()
            except Exception as exc:
                entry.error = _reason(exc)
                if entry.optional or not strict:
                    log.warning(
                        "connector failed",
                        extra={"connector": connector.name, "reason": entry.error},
                    )
                    continue
                await self.disconnect_all()
                raise ConnectorStartupError(
                    f"connector '{connector.name}' failed to connect: {entry.error}"
                ) from exc
            entry.connected = True
            log.info("connector ready", extra={"connector": connector.name, "detail": connector.describe()})

    async def disconnect_all(self) -> None:
        for entry in reversed(self.entries):
            if not entry.connected:
                continue
            entry.connected = False
            try:
                await entry.connector.disconnect()
            except Exception:
                log.exception("connector failed to disconnect", extra={"connector": entry.connector.name})

    async def health(self) -> list[tuple[Entry, str]]:
        """Each connector with ``ok`` or what is wrong with it."""
        report = []
        for entry in self.entries:
            if not entry.connected:
                report.append((entry, f"failed: {entry.error}"))
                continue
            try:
                await entry.connector.check()
                report.append((entry, "ok"))
            except Exception as exc:
                report.append((entry, f"unhealthy: {_reason(exc)}"))
        return report
