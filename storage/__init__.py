"""Durable storage for planbot: SQLAlchemy models, the SqlStore, Alembic migrations."""

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
