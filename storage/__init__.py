"""Durable storage for planbot: SQLAlchemy models, the SqlStore, Alembic migrations."""

# Every table registers with the shared metadata (the migrations are checked against it).
from storage import access, datarights  # noqa: F401
from storage.db import Database, default_database_url, migrate, normalize_url, open_database
from storage.repository import SqlStore

__all__ = [
    "Database",
    "SqlStore",
    "default_database_url",
    "migrate",
    "normalize_url",
    "open_database",
]
