"""The SQLite PRAGMAs every connection gets, whichever driver opened it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import ConnectionPoolEntry

# WAL lets loads read while a commit writes; synchronous=FULL makes each committed answer
# survive a power cut; foreign_keys makes ON DELETE CASCADE work (SQLite ignores foreign
# keys otherwise); busy_timeout makes a writer from another process wait instead of failing.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


def install_sqlite_pragmas(engine: Engine) -> None:
    """Set SQLITE_PRAGMAS on every new connection of `engine` (no-op for other databases)."""
    if engine.dialect.name != "sqlite":
        return

    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    event.listen(engine, "connect", on_connect)
