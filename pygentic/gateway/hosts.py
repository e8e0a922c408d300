"""Which ``Host`` headers the HTTP gateway answers: the defence against DNS rebinding.

A web page can make a browser send requests to ``http://127.0.0.1:8080`` under a name its attacker
controls (DNS rebinding); the ``Host`` header then carries that name. A gateway bound to a loopback address
therefore answers only loopback names unless told otherwise; ``[server] allowed_hosts`` lists the names
(``"api.example.com"``, ``"*.example.com"``, ``"*"`` for any) a deployment is reached under.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether a bind address (or name) only reaches this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_allowed_hosts(bind_host: str) -> tuple[str, ...]:
    """Loopback names for a loopback bind; any name for a public bind (it is reached under names the
    server cannot know; API keys protect it)."""
    return LOOPBACK_NAMES if is_loopback(bind_host) else ("*",)


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port (``[::1]:8080`` -> ``::1``), lowercased."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    if header.count(":") == 1:
        return header.split(":", 1)[0]
    return header


class HostPolicy:
    """Matches ``Host`` headers against allowed names: exact, ``*.domain`` (any subdomain) or ``*``."""

    def __init__(self, allowed: Sequence[str]) -> None:
        self.any = "*" in allowed
        self.exact = {a.lower() for a in allowed if not a.startswith("*")}
        self.suffixes = tuple(a.lower()[1:] for a in allowed if a.startswith("*."))

    def allows(self, header: str | None) -> bool:
        if self.any:
            return True
        if not header:
            return False
        name = host_name(header)
        return name in self.exact or (bool(self.suffixes) and name.endswith(self.suffixes))
