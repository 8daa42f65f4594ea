"""The inbox: updates stored before the platform hears "received", processed from here.

A channel calls `Inbox.add` with the update as it arrived and acknowledges it (HTTP 200, a
Socket Mode ack, the next long-polling offset) only once that returned: the row is committed,
so a worker killed a moment later loses nothing. Processing then takes one teacher's pending
rows in arrival (`id`) order and marks each `done`; a row that keeps failing is `parked` after
a bounded number of attempts (see bot/ordering.py, which drives all of this).

Several workers on one PostgreSQL database: `teacher_lock` is a session-level advisory lock
held on its own connection while a worker processes that teacher's rows. A worker that dies
loses its connection, and PostgreSQL releases the lock at once, so a live worker (or the next
start) takes the rows over within a sweep, without waiting out a lease. On SQLite one process
owns the file; the lock is the in-process ordering's alone.

The inbox key is the turn's idempotency key: a platform's retry of a stored update meets its
row (`add` says it is not new), and a row processed again after a crash meets the key the turn
recorded in `processed_keys` (the engine then changes nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import inbox
from storage.retry import is_transient, reconnecting

PENDING, DONE, PARKED = "pending", "done", "parked"
# Advisory lock namespace of the inbox (two-int form: this, then the teacher's hash).
_LOCK_SPACE = 0x696E  # "in"


@dataclass(frozen=True)
class InboxItem:
    """An update to store: which platform, its key (the turn's idempotency key), its own id,
    whose it is (the ordering key), and the raw payload as received."""

    platform: str
    key: str
    update_id: str
    teacher: str
    payload: str


@dataclass(frozen=True)
class InboxEntry:
    id: int
    key: str
    platform: str
    teacher: str
    payload: str
    attempts: int
    status: str
    received_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _lock_id(teacher: str) -> int:
    """A teacher's 32-bit advisory lock id (a collision only serialises two teachers)."""
    return int.from_bytes(
        hashlib.blake2b(teacher.encode(), digest_size=4).digest(), "big", signed=True
    )


_COLUMNS = (
    inbox.c.id,
    inbox.c.key,
    inbox.c.platform,
    inbox.c.teacher,
    inbox.c.payload,
    inbox.c.attempts,
    inbox.c.status,
    inbox.c.received_at,
)
_BY_KEY = select(*_COLUMNS).where(inbox.c.key == bindparam("key"))
_PENDING_OF = (
    select(*_COLUMNS)
    .where(inbox.c.teacher == bindparam("teacher"), inbox.c.status == PENDING)
    .order_by(inbox.c.id)
    .limit(bindparam("limit"))
)
_PENDING_TEACHERS = (
    select(inbox.c.teacher, func.min(inbox.c.id).label("first"))
    .where(inbox.c.status == PENDING, inbox.c.received_at <= bindparam("before"))
    .group_by(inbox.c.teacher)
    .order_by("first")
    .limit(bindparam("limit"))
)
_FINISH = (
    update(inbox)
    .where(and_(inbox.c.id == bindparam("b_id"), inbox.c.status == PENDING))
    .values(
        status=bindparam("status"),
        finished_at=bindparam("at"),
        last_error=bindparam("error"),
        # A processed update's text is in the plan now; the inbox keeps only its key (for the
        # platform's re-deliveries), not a second copy of what the teacher wrote.
        payload=case((bindparam("status") == DONE, literal("")), else_=inbox.c.payload),
    )
)
_FAILED = (
    update(inbox)
    .where(and_(inbox.c.id == bindparam("b_id"), inbox.c.status == PENDING))
    .values(attempts=inbox.c.attempts + 1, last_error=bindparam("error"))
    .returning(inbox.c.attempts)
)


def _entry(row: tuple[object, ...]) -> InboxEntry:
    return InboxEntry(*row)  # type: ignore[arg-type]


class Inbox:
    """The inbox table on an AsyncEngine (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.shared = engine.dialect.name == "postgresql"  # several workers may share it

    async def add(self, item: InboxItem) -> tuple[InboxEntry, bool]:
        return await reconnecting(lambda: self._add(item), what="inbox")

    async def _add(self, item: InboxItem) -> tuple[InboxEntry, bool]:
        """Store `item` (committed when this returns): the row, and whether it is new. A key
        stored before (a platform's retry, the same update at two workers) is not new."""
        values = {
            "key": item.key,
            "platform": item.platform,
            "update_id": item.update_id,
            "teacher": item.teacher,
            "payload": item.payload,
            "received_at": _now(),
            "status": PENDING,
            "attempts": 0,
        }
        # One statement, autocommitted: INSERT … ON CONFLICT (key) DO NOTHING RETURNING.
        dialect = pg_insert if self.shared else sqlite_insert
        statement = (
            dialect(inbox).values(values).on_conflict_do_nothing(index_elements=["key"])
        ).returning(*_COLUMNS)
        async with self._engine.begin() as conn:
            row = (await conn.execute(statement)).first()
            if row is not None:
                return _entry(tuple(row)), True
            row = (await conn.execute(_BY_KEY, {"key": item.key})).one()
        return _entry(tuple(row)), False

    async def pending(self, teacher: str, limit: int = 100) -> list[InboxEntry]:
        """The teacher's pending rows, oldest first."""

        async def read() -> list[InboxEntry]:
            async with self._engine.connect() as conn:
                rows = await conn.execute(_PENDING_OF, {"teacher": teacher, "limit": limit})
                return [_entry(tuple(r)) for r in rows]

        return await reconnecting(read, what="inbox")

    async def pending_teachers(self, older_than: float = 0.0, limit: int = 1000) -> list[str]:
        """Teachers with pending rows received at least `older_than` seconds ago, the one
        waiting longest first."""
        before = _now() - dt.timedelta(seconds=older_than)

        async def read() -> list[str]:
            async with self._engine.connect() as conn:
                rows = await conn.execute(_PENDING_TEACHERS, {"before": before, "limit": limit})
                return [str(r[0]) for r in rows]

        return await reconnecting(read, what="inbox")

    async def get(self, key: str) -> InboxEntry | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_BY_KEY, {"key": key})).first()
        return None if row is None else _entry(tuple(row))

    async def done(self, entry_id: int) -> None:
        await self._finish(entry_id, DONE, None)

    async def park(self, entry_id: int, error: str) -> None:
        await self._finish(entry_id, PARKED, error[:2000])

    async def failed(self, entry_id: int, error: str) -> int:
        """Count a failed attempt; the attempts so far."""

        async def count() -> int:
            async with self._engine.begin() as conn:
                params = {"b_id": entry_id, "error": error[:2000]}
                got = (await conn.execute(_FAILED, params)).first()
            return int(got[0]) if got is not None else 0

        return await reconnecting(count, what="inbox")

    async def forget(self, entry_id: int) -> None:
        """Delete one row: an update from someone the bot does not serve, of whom nothing
        is kept (the refusal is only counted)."""

        async def forget_one() -> None:
            async with self._engine.begin() as conn:
                await conn.execute(delete(inbox).where(inbox.c.id == entry_id))

        await reconnecting(forget_one, what="inbox")

    async def forget_done(self, days: float) -> int:
        """Delete processed rows older than `days`; parked rows stay for a person to look at.
        The number deleted."""
        before = _now() - dt.timedelta(days=days)

        async def forget() -> int:
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    delete(inbox).where(inbox.c.status == DONE, inbox.c.finished_at < before)
                )
                return int(result.rowcount)

        return await reconnecting(forget, what="inbox")

    async def _finish(self, entry_id: int, status: str, error: str | None) -> None:

        async def finish() -> None:
            async with self._engine.begin() as conn:
                await conn.execute(
                    _FINISH, {"b_id": entry_id, "status": status, "at": _now(), "error": error}
                )

        await reconnecting(finish, what="inbox")

    @contextlib.asynccontextmanager
    async def teacher_lock(self, teacher: str, wait: float = 0.0) -> AsyncIterator[bool]:
        """Hold the teacher's cross-worker lock (PostgreSQL) for the block; yields whether it
        was taken within `wait` seconds. On SQLite: always taken (one process per file)."""
        if not self.shared:
            yield True
            return
        lock = _lock_id(teacher)
        for attempt in range(5):  # a pooled connection that died with the server: next one
            conn = await self._engine.connect()
            try:
                raw = await conn.get_raw_connection()
                driver: Any = raw.driver_connection
                assert driver is not None
                deadline = asyncio.get_running_loop().time() + wait
                while True:
                    got = bool(
                        await driver.fetchval(
                            "SELECT pg_try_advisory_lock($1, $2)", _LOCK_SPACE, lock
                        )
                    )
                    if got or asyncio.get_running_loop().time() >= deadline:
                        break
                    await asyncio.sleep(0.02)
            except Exception as exc:
                if is_transient(exc):
                    await conn.invalidate()
                await conn.close()
                if is_transient(exc) and attempt < 4:
                    continue
                raise
            break
        try:
            yield got
        finally:
            try:
                if got:
                    await driver.fetchval("SELECT pg_advisory_unlock($1, $2)", _LOCK_SPACE, lock)
            except Exception as exc:  # the lock went with the connection
                if is_transient(exc):
                    await conn.invalidate()
            finally:
                await conn.close()
