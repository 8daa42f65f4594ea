"""`SqlStore`: the engine's SessionStore on SQLAlchemy, for SQLite and PostgreSQL.

Same promise as `dialogs.store.MemoryStore`: `commit` applies a step's Changes and records
its idempotency key in one transaction, only if the user's version is still the one loaded.

Every chat turn is one `load` and one `commit`, so both are a fixed handful of prepared Core
statements rather than the ORM's unit of work. Load: the user, the plans each with its
current answers aggregated into one JSON object in SQL, the key. Commit: version bump, plan
writes, answer appends, key. The statements are written once, as plain functions of a
synchronous `Connection`, and run two ways:

- PostgreSQL: on the AsyncEngine (asyncpg) through `AsyncConnection.run_sync`.
- SQLite: on a synchronous twin engine (the stdlib sqlite3 driver) in worker threads, one
  thread hop per load or commit. aiosqlite hops to its thread for every cursor call,
  ~0.4 ms per statement here, which capped a turn at ~80/s. Commits go through a single
  writer thread which group-commits whatever is queued (see `_ThreadRunner`).

Concurrency: on SQLite the writer takes the write lock (BEGIN IMMEDIATE) before reading
anything; on PostgreSQL the UPDATE's row lock on the user serialises concurrent commits. The
second of two commits from one snapshot then matches no row and raises VersionConflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import (
    JSON,
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
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from dialogs.store import VersionConflict
from dialogs.types import (
    AnswerRecord,
    AnswerValue,
    Changes,
    PlanRecord,
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


class json_object_agg(FunctionElement[Any]):
    """Aggregate (key, JSON value) rows into one JSON object, on SQLite and PostgreSQL.

    A plan's current answers come back as one JSON document decoded in one go, instead of
    a row per answer each decoded and validated on its own."""

    type = JSON()
    inherit_cache = True
    name = "json_object_agg"


@compiles(json_object_agg, "sqlite")
def _json_object_agg_sqlite(element: json_object_agg, compiler: SQLCompiler, **kw: Any) -> str:
    key, value = element.clauses
    return (
        f"json_group_object({compiler.process(key, **kw)}, json({compiler.process(value, **kw)}))"
    )


@compiles(json_object_agg, "postgresql")
def _json_object_agg_postgresql(element: json_object_agg, compiler: SQLCompiler, **kw: Any) -> str:
    key, value = element.clauses
    return f"jsonb_object_agg({compiler.process(key, **kw)}, {compiler.process(value, **kw)})"


# The newest row per path of one plan: a walk along the covering index (plan_id, path, id),
# so a long edit history costs index entries, not JSON decoding.
_older = answers.alias("older")
_latest_ids = (
    select(func.max(_older.c.id))
    .where(_older.c.plan_id == plans.c.id)
    .group_by(_older.c.path)
    .correlate(plans)
)
_current_answers = (
    select(json_object_agg(answers.c.path, answers.c.value))
    .where(answers.c.plan_id == plans.c.id, answers.c.id.in_(_latest_ids))
    .correlate(plans)
    .scalar_subquery()
)
_SELECT_PLANS = select(
    plans.c.id,
    plans.c.template_id,
    plans.c.title,
    plans.c.status,
    plans.c.state,
    plans.c.created_at,
    plans.c.updated_at,
    _current_answers.label("answers"),
).where(plans.c.user_id == bindparam("user_id"))
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
    """Runs statement functions on a synchronous twin of an SQLite AsyncEngine.

    Loads run on a small pool of reader threads (WAL lets them read beside a writer).
    Commits queue up for one writer thread, which applies every commit waiting at that
    moment in one SQLite transaction, each under its own SAVEPOINT, and then COMMITs once:
    a failed commit rolls back only its savepoint, and the fsync that makes the answers
    durable (synchronous=FULL) is paid once per batch rather than once per answer. No
    caller hears "committed" before that COMMIT has returned.
    """

    MAX_BATCH = 64

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine: Engine = create_engine(engine.url.set(drivername="sqlite+pysqlite"))
        install_sqlite_pragmas(self._engine)
        self._readers = ThreadPoolExecutor(2, thread_name_prefix="planbot-sqlite-read")
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._writer = threading.Thread(
            target=self._write_forever, name="planbot-sqlite-write", daemon=True
        )
        self._writer.start()

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._read, fn)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        with self._engine.connect() as conn:
            return fn(conn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        job = _Job(fn, loop, loop.create_future())
        self._queue.put(job)
        return await job.future

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join()
        self._readers.shutdown(wait=True)
        self._engine.dispose()

    def _write_forever(self) -> None:
        while (first := self._queue.get()) is not None:
            batch: list[_Job[Any]] = [first]
            stop = False
            while len(batch) < self.MAX_BATCH:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                batch.append(job)
            self._write_batch(batch)
            if stop:
                return

    def _write_batch(self, batch: list[_Job[Any]]) -> None:
        try:
            with self._engine.connect() as conn:
                # Take the write lock now: every read below sees the latest commit.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                if len(batch) == 1:
                    batch[0].run(conn)
                else:
                    for job in batch:
                        savepoint = conn.begin_nested()
                        if job.run(conn):
                            savepoint.commit()
                        else:
                            savepoint.rollback()
                if any(job.ok for job in batch):
                    conn.commit()
                else:
                    conn.rollback()
        except BaseException as exc:  # the COMMIT itself failed: nobody was committed
            for job in batch:
                if job.ok:
                    job.fail(exc)
        for loop, jobs in _by_loop(batch).items():
            # A closed event loop has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, jobs)


class _Job(Generic[T]):
    """One queued commit: the function, and where to report how it went."""

    def __init__(
        self, fn: Callable[[Connection], T], loop: asyncio.AbstractEventLoop, future: Any
    ) -> None:
        self.fn = fn
        self.loop = loop
        self.future: asyncio.Future[T] = future
        self.ok = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def run(self, conn: Connection) -> bool:
        try:
            self.result = self.fn(conn)
        except Exception as exc:
            self.error = exc
            return False
        self.ok = True
        return True

    def fail(self, exc: BaseException) -> None:
        self.ok = False
        self.error = exc

    def settle(self) -> None:
        if self.future.done():  # the caller was cancelled meanwhile
            return
        if self.ok:
            self.future.set_result(cast(T, self.result))
        else:
            self.future.set_exception(self.error or RuntimeError("commit not run"))


def _by_loop(batch: list[_Job[Any]]) -> dict[asyncio.AbstractEventLoop, list[_Job[Any]]]:
    grouped: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
    for job in batch:
        grouped.setdefault(job.loop, []).append(job)
    return grouped


def _settle(jobs: list[_Job[Any]]) -> None:
    for job in jobs:
        job.settle()


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
    return {
        row.id: PlanRecord(
            id=row.id,
            template_id=row.template_id,
            title=row.title,
            status=row.status,
            state=row.state,
            answers=row.answers or {},
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in conn.execute(_SELECT_PLANS, {"user_id": user_id})
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
