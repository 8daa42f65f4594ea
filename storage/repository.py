"""`SqlStore`: the engine's SessionStore on SQLAlchemy, for SQLite and PostgreSQL.

Same promise as `dialogs.store.MemoryStore`: `commit` applies a step's Changes and records
its idempotency key in one transaction, only if the user's version is still the one loaded.

Every chat turn is one `load` and one `commit`, so both are a fixed handful of prepared Core
statements (load: user, plans, current answers, key; commit: version bump, plan writes,
answer appends, key) rather than the ORM's unit of work. The statements are written once,
as plain functions of a synchronous `Connection`, and run two ways:

- PostgreSQL: on the AsyncEngine (asyncpg) through `AsyncConnection.run_sync`.
- SQLite: on a synchronous engine (the stdlib sqlite3 driver) in worker threads, one thread
  hop per load or commit. aiosqlite hops to its thread for every cursor call, ~0.4 ms per
  statement here, which alone would cap a turn at a few hundred per second. Commits go
  through a single writer thread, so writers in one process never wait on SQLite's lock
  (busy_timeout only covers other processes); loads run beside it (WAL).

The first statement of a commit is a write, so SQLite takes (or waits for) the write lock
before anything is read, and on PostgreSQL the row lock on the user serialises concurrent
commits; the second of two commits from one snapshot then matches no row and conflicts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from dialogs.store import VersionConflict
from dialogs.types import (
    AnswerRecord,
    AnswerValue,
    Changes,
    PlanRecord,
    PlanStatus,
    Snapshot,
    UserRecord,
    UserRef,
)
from storage.models import answers, plans, processed_keys, users
from storage.pragmas import install_sqlite_pragmas

T = TypeVar("T")

_SELECT_USER = select(users.c.id, users.c.state, users.c.version).where(
    users.c.channel == bindparam("channel"), users.c.external_id == bindparam("external_id")
)
_SELECT_PLANS = select(
    plans.c.id,
    plans.c.template_id,
    plans.c.title,
    plans.c.status,
    plans.c.state,
    plans.c.created_at,
    plans.c.updated_at,
).where(plans.c.user_id == bindparam("user_id"))
# The newest row per (plan, path) of the user's plans, found on the covering index
# (plan_id, path, id), so a long edit history costs index entries, not JSON decoding.
_LATEST_IDS = (
    select(func.max(answers.c.id).label("id"))
    .join(plans, plans.c.id == answers.c.plan_id)
    .where(plans.c.user_id == bindparam("user_id"))
    .group_by(answers.c.plan_id, answers.c.path)
    .subquery("latest")
)
_SELECT_CURRENT_ANSWERS = select(answers.c.plan_id, answers.c.path, answers.c.value).join(
    _LATEST_IDS, _LATEST_IDS.c.id == answers.c.id
)
_SELECT_KEY = select(processed_keys.c.key).where(processed_keys.c.key == bindparam("key"))
_SELECT_HISTORY = (
    select(answers.c.plan_id, answers.c.path, answers.c.value, answers.c.created_at)
    .where(answers.c.plan_id == bindparam("plan_id"))
    .order_by(answers.c.id)
)

_INSERT_USER = insert(users).returning(users.c.id)
_NEW_USER_STATE = {
    "state": bindparam("state"),
    "display_name": bindparam("display_name"),
    "updated_at": bindparam("updated_at"),
    "version": users.c.version + 1,
}
_BUMP_USER = (
    update(users)
    .where(users.c.id == bindparam("b_id"), users.c.version == bindparam("b_version"))
    .values(_NEW_USER_STATE)
)
_BUMP_USER_BY_REF = (
    update(users)
    .where(
        users.c.channel == bindparam("b_channel"),
        users.c.external_id == bindparam("b_external_id"),
        users.c.version == bindparam("b_version"),
    )
    .values(_NEW_USER_STATE)
    .returning(users.c.id)
)
_DELETE_USER = delete(users).where(
    users.c.id == bindparam("b_id"), users.c.version == bindparam("b_version")
)
_DELETE_USER_BY_REF = delete(users).where(
    users.c.channel == bindparam("b_channel"),
    users.c.external_id == bindparam("b_external_id"),
    users.c.version == bindparam("b_version"),
)
_INSERT_PLAN = insert(plans)
_UPDATE_PLAN = (
    update(plans)
    .where(plans.c.id == bindparam("b_id"), plans.c.user_id == bindparam("b_user_id"))
    .values(
        template_id=bindparam("template_id"),
        title=bindparam("title"),
        status=bindparam("status"),
        state=bindparam("state"),
        updated_at=bindparam("updated_at"),
    )
)
_DELETE_PLANS = delete(plans).where(
    plans.c.id.in_(bindparam("ids", expanding=True)), plans.c.user_id == bindparam("user_id")
)
_INSERT_ANSWER = insert(answers)
_INSERT_KEY = insert(processed_keys)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SqlStore:
    """A SessionStore on an async SQLAlchemy engine (see storage.db.open_database).

    Call `close()` when done: on SQLite it stops the worker threads and their connections.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._threads: _ThreadRunner | None = None
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            self._threads = _ThreadRunner(engine)

    async def load(self, user: UserRef, key: str) -> Snapshot:
        return await self._read(_load, user, key)

    async def commit(self, snapshot: Snapshot, changes: Changes, key: str) -> None:
        await self._write(_commit, snapshot, changes, key)

    async def history(self, plan_id: str) -> list[AnswerRecord]:
        return await self._read(_history, plan_id)

    async def close(self) -> None:
        if self._threads is not None:
            await asyncio.to_thread(self._threads.close)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        if self._threads is not None:
            return await self._threads.read(lambda conn: fn(conn, *args))
        async with self._engine.connect() as conn:
            return await conn.run_sync(fn, *args)

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        if self._threads is not None:
            return await self._threads.write(lambda conn: fn(conn, *args))
        async with self._engine.begin() as conn:
            return await conn.run_sync(fn, *args)


class _ThreadRunner:
    """Runs statement functions on a synchronous twin of an SQLite AsyncEngine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine: Engine = create_engine(engine.url.set(drivername="sqlite+pysqlite"))
        install_sqlite_pragmas(self._engine)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="planbot-sqlite-write")
        self._readers = ThreadPoolExecutor(2, thread_name_prefix="planbot-sqlite-read")

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._read, fn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._write, fn)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        with self._engine.connect() as conn:
            return fn(conn)

    def _write(self, fn: Callable[[Connection], T]) -> T:
        with self._engine.begin() as conn:
            return fn(conn)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._engine.dispose()


# ----------------------------------------------------------------------------- reading


def _load(conn: Connection, user: UserRef, key: str) -> Snapshot:
    # The user is read first: if plans change between the reads, the snapshot's version is
    # already stale and its commit will be refused.
    row = conn.execute(
        _SELECT_USER, {"channel": user.channel, "external_id": user.external_id}
    ).first()
    if row is None:
        record = UserRecord(ref=user)
        loaded: dict[str, PlanRecord] = {}
    else:
        record = UserRecord(id=row.id, ref=user, state=row.state, version=row.version)
        loaded = _load_plans(conn, row.id)
    seen = conn.execute(_SELECT_KEY, {"key": key}).first() is not None
    return Snapshot(user=record, plans=loaded, key_seen=seen)


def _load_plans(conn: Connection, user_id: int) -> dict[str, PlanRecord]:
    plan_rows = conn.execute(_SELECT_PLANS, {"user_id": user_id}).all()
    if not plan_rows:
        return {}
    current: dict[str, dict[str, AnswerValue]] = {row.id: {} for row in plan_rows}
    for plan_id, path, value in conn.execute(_SELECT_CURRENT_ANSWERS, {"user_id": user_id}):
        current[plan_id][path] = AnswerValue.model_validate(value)
    return {
        row.id: PlanRecord(
            id=row.id,
            template_id=row.template_id,
            title=row.title,
            status=PlanStatus(row.status),
            state=row.state,
            answers=current[row.id],
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in plan_rows
    }


def _history(conn: Connection, plan_id: str) -> list[AnswerRecord]:
    return [
        AnswerRecord(
            plan_id=plan_id,
            path=path,
            value=AnswerValue.model_validate(value),
            created_at=created_at,
        )
        for plan_id, path, value, created_at in conn.execute(_SELECT_HISTORY, {"plan_id": plan_id})
    ]


# ----------------------------------------------------------------------------- writing


def _commit(conn: Connection, snapshot: Snapshot, changes: Changes, key: str) -> None:
    """The whole commit, inside the caller's transaction."""
    now = _utc_now()
    if changes.delete_user:
        _delete_user(conn, snapshot)
        _record_key(conn, key, None, now)
        return
    user_id = _write_user(conn, snapshot, changes, now)
    _write_plans(conn, snapshot, changes, user_id)
    if changes.answers:
        conn.execute(
            _INSERT_ANSWER,
            [
                {
                    "plan_id": a.plan_id,
                    "path": a.path,
                    "value": a.value.model_dump(mode="json"),
                    "created_at": a.created_at,
                }
                for a in changes.answers
            ],
        )
    _record_key(conn, key, user_id, now)


def _write_user(conn: Connection, snapshot: Snapshot, changes: Changes, now: dt.datetime) -> int:
    """Insert the user (first commit) or bump its version; refuse a stale snapshot."""
    user = snapshot.user
    ref = user.ref
    if user.version == 0:
        try:
            inserted = conn.execute(
                _INSERT_USER,
                {
                    "channel": ref.channel,
                    "external_id": ref.external_id,
                    "display_name": ref.display_name,
                    "state": changes.user_state,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        except IntegrityError as exc:
            # Another first commit for this user won the race (unique channel + id).
            raise VersionConflict(ref) from exc
        return int(inserted.scalar_one())
    params = {
        "b_version": user.version,
        "state": changes.user_state,
        "display_name": ref.display_name,
        "updated_at": now,
    }
    if user.id is not None:
        if conn.execute(_BUMP_USER, {**params, "b_id": user.id}).rowcount != 1:
            raise VersionConflict(ref)
        return user.id
    found = conn.execute(
        _BUMP_USER_BY_REF, {**params, "b_channel": ref.channel, "b_external_id": ref.external_id}
    ).first()
    if found is None:
        raise VersionConflict(ref)
    return int(found.id)


def _write_plans(conn: Connection, snapshot: Snapshot, changes: Changes, user_id: int) -> None:
    """Delete, then insert new and update existing plans, in MemoryStore's order.

    Which plans exist is known from the snapshot: the version check has just proved nobody
    changed this user's data since it was loaded. Only the user's own plans are updated or
    deleted, whatever plan id a channel passed in.
    """
    deleted = set(changes.deleted_plans)
    if deleted:
        conn.execute(_DELETE_PLANS, {"ids": sorted(deleted), "user_id": user_id})
    existing = snapshot.plans.keys() - deleted
    strangers = {a.plan_id for a in changes.answers} - existing - changes.plans.keys()
    if strangers:
        raise ValueError(
            f"answers for plans {sorted(strangers)} that are not among the user's plans; "
            "put a new plan in Changes.plans in the same commit"
        )
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for pid, plan in changes.plans.items():
        row = {
            "template_id": plan.template_id,
            "title": plan.title,
            "status": plan.status.value,
            "state": plan.state,
            "updated_at": plan.updated_at,
        }
        if pid in existing:
            changed.append({**row, "b_id": pid, "b_user_id": user_id})
        else:
            new.append({**row, "id": pid, "user_id": user_id, "created_at": plan.created_at})
    if new:
        conn.execute(_INSERT_PLAN, new)
    if changed:
        conn.execute(_UPDATE_PLAN, changed)


def _delete_user(conn: Connection, snapshot: Snapshot) -> None:
    """Delete the user; plans and answers go with it (ON DELETE CASCADE)."""
    user = snapshot.user
    ref = user.ref
    if user.version == 0:
        # Nothing stored yet as far as the snapshot knows; it must still be so.
        found = conn.execute(
            _SELECT_USER, {"channel": ref.channel, "external_id": ref.external_id}
        ).first()
        if found is not None:
            raise VersionConflict(ref)
        return
    if user.id is not None:
        result = conn.execute(_DELETE_USER, {"b_id": user.id, "b_version": user.version})
    else:
        result = conn.execute(
            _DELETE_USER_BY_REF,
            {"b_channel": ref.channel, "b_external_id": ref.external_id, "b_version": user.version},
        )
    if result.rowcount != 1:
        raise VersionConflict(ref)


def _record_key(conn: Connection, key: str, user_id: int | None, now: dt.datetime) -> None:
    """Record the idempotency key; seen already means another commit got there first."""
    try:
        conn.execute(_INSERT_KEY, {"key": key, "user_id": user_id, "created_at": now})
    except IntegrityError as exc:
        raise VersionConflict(key) from exc
