"""Which database errors are passing (retry the same work later) rather than the update's
fault, and a retry of a database call across a dropped connection.

PostgreSQL restarts and failovers close every connection; SQLAlchemy then marks the error
`connection_invalidated` and recycles every pooled connection older than the failure, so the
same call made again gets a fresh connection. A committing call made again is safe: the turn's
idempotency key makes a commit that did land the first time refuse the second one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)
T = TypeVar("T")

# Retries made at once, before backing off: after a restart every pooled connection is dead,
# and each is found out by one failed call.
QUICK_RETRIES = 8

try:  # asyncpg is installed with the project, but keep SQLite-only setups importable
    import asyncpg  # type: ignore[import-untyped]

    _ASYNCPG: tuple[type[BaseException], ...] = (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.CannotConnectNowError,
        asyncpg.AdminShutdownError,
        asyncpg.CrashShutdownError,
        asyncpg.TooManyConnectionsError,
    )
except ImportError:  # pragma: no cover
    _ASYNCPG = ()

_TRANSIENT: tuple[type[BaseException], ...] = (
    ConnectionError,
    OSError,
    DisconnectionError,
    PoolTimeout,
    *_ASYNCPG,
)


def is_transient(exc: BaseException) -> bool:
    """A lost or refused database connection, or SQLite's lock held too long by another
    process: the same work will succeed later."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _TRANSIENT):
            return True
        if isinstance(current, sqlite3.OperationalError) and "locked" in str(current):
            return True
        if isinstance(current, DBAPIError) and current.orig is not None:
            if isinstance(current.orig, _TRANSIENT):
                return True
            if "locked" in str(current.orig) or "connection" in str(current.orig).lower():
                return True
        current = current.__cause__ or current.__context__
    return False


async def reconnecting(
    call: Callable[[], Awaitable[T]], *, budget: float = 2.0, what: str = "database"
) -> T:
    """`call()`, made again on a fresh connection while it fails with a passing error, for
    up to `budget` seconds; then the error goes to the caller (the inbox keeps the update)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    delay = 0.02
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except Exception as exc:
            if not is_transient(exc) or loop.time() + delay > deadline:
                raise
            log.info("%s: connection lost (%s); trying again", what, type(exc).__name__)
        if attempt <= QUICK_RETRIES:
            continue  # each pooled connection that died with the server fails once
        await asyncio.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, 0.5)
