"""Persistence: SQLModel tables on an async engine (SQLite by default, PostgreSQL by URL)."""

from pygentic.storage.database import Database
from pygentic.storage.pagination import CursorNotFound, Page, PageParams

__all__ = ["CursorNotFound", "Database", "Page", "PageParams"]
