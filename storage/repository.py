"""`SqlStore`: the engine's SessionStore on SQLAlchemy, for SQLite and PostgreSQL.

Same promise as `dialogs.store.MemoryStore`: `commit` applies a step's Changes and records
its idempotency key in one transaction, only if the user's version is still the one loaded.

Every chat turn is one `load` and one `commit`, so both are a fixed handful of statements
rather than the ORM's unit of work:

- load: the user row with "was this key processed?" folded in (one row even for an unknown
  user), then, for a known user, the plans each with its current answers aggregated into one
  JSON object in SQL;
- commit: the version bump (users.state is rewritten only when the step changed it), one
  INSERT or UPDATE per new or changed plan, the answer appends, the key.

The statements are described once, in SQLAlchemy Core on the models' tables, and the turn
logic (`_load`, `_commit`, `_history`) is written once over a small adapter, `_Rows`, that
runs them two ways:

- PostgreSQL (and an in-memory SQLite): `_CoreRows`, on the AsyncEngine through
  `AsyncConnection.run_sync`.
- An SQLite file: `_SqliteRows` in `_SqliteRunner`. The same Core statements are compiled
  once to SQLite's SQL and executed on the raw sqlite3 connections of a synchronous twin
  engine (SQLAlchemy still opens those connections and sets the PRAGMAs): per statement
  SQLAlchemy's execution path (cache lookup, bind and result processing, result objects)
  cost several times SQLite's own work, most of a turn's CPU.
  Loads run on the caller's thread (the event loop's; a WAL read does not wait for the
  writer and takes tens of microseconds), commits on one writer thread that group-commits:
  one thread hop per turn. aiosqlite would hop to its thread for every cursor call.

Concurrency: on SQLite the writer takes the write lock (BEGIN IMMEDIATE) before reading
anything; on PostgreSQL the UPDATE's row lock on the user serialises concurrent commits. The
second of two commits from one snapshot then matches no row and raises VersionConflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import queue
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy import (
    JSON,
    ClauseElement,
    Connection,
    Integer,
    and_,
    bindparam,
    create_engine,
    delete,
    exists,
    func,
    insert,
    literal_column,
    null,
    select,
    update,
)
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import NullPool, PoolProxiedConnection
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
from dialogs.validators import personal_data
from storage.access import members
from storage.models import answers, inbox, plans, processed_keys, users
from storage.pragmas import install_sqlite_pragmas
from storage.retry import reconnecting

T = TypeVar("T")


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


# ----------------------------------------------------------------------------- statements

_USER_BY_REF = and_(
    users.c.channel == bindparam("channel"), users.c.external_id == bindparam("external_id")
)
_SELECT_USER_ID = select(users.c.id).where(_USER_BY_REF)
# One row whether or not the user exists: (SELECT 1) LEFT JOIN users. An unknown user comes
# back as id NULL; the key check rides along in the same statement.
_ONE_ROW = select(literal_column("1").label("one")).subquery("one_row")
_SELECT_USER_AND_KEY = select(
    users.c.id,
    users.c.state,
    users.c.version,
    exists().where(processed_keys.c.key == bindparam("key")).label("key_seen"),
).select_from(_ONE_ROW.outerjoin(users, _USER_BY_REF))

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
_SELECT_HISTORY = (
    select(answers.c.plan_id, answers.c.path, answers.c.value, answers.c.created_at)
    .where(answers.c.plan_id == bindparam("plan_id"))
    .order_by(answers.c.id)
)

_INSERT_USER = insert(users).values(
    channel=bindparam("channel"),
    external_id=bindparam("external_id"),
    display_name=bindparam("display_name"),
    state=bindparam("state"),
    version=bindparam("version"),
    created_at=bindparam("created_at"),
    updated_at=bindparam("updated_at"),
)
_INSERT_USER_RETURNING_ID = _INSERT_USER.returning(users.c.id)
_BUMPED = {
    "display_name": bindparam("display_name"),
    "updated_at": bindparam("updated_at"),
    "version": users.c.version + literal_column("1", Integer),
}
_THIS_VERSION = and_(users.c.id == bindparam("b_id"), users.c.version == bindparam("b_version"))
# Most answer turns leave the user's state as it was: then only the version moves.
_BUMP_VERSION = update(users).where(_THIS_VERSION).values(_BUMPED)
_BUMP_USER = update(users).where(_THIS_VERSION).values({**_BUMPED, "state": bindparam("state")})
_DELETE_USER = delete(users).where(_THIS_VERSION)
# All of a teacher's data: the admission and the link from old idempotency keys go too (the
# keys themselves stay, so a re-delivered update still changes nothing).
_DELETE_MEMBER = delete(members).where(
    members.c.channel == bindparam("b_channel"), members.c.external_id == bindparam("b_external_id")
)
# Updates of the teacher's that wait in the inbox no longer (parked ones keep their text).
_DELETE_INBOX = delete(inbox).where(
    inbox.c.teacher == bindparam("b_teacher"), inbox.c.status != literal_column("'pending'")
)
_UNLINK_KEYS = (
    update(processed_keys)
    .where(processed_keys.c.user_id == bindparam("b_user_id"))
    .values(user_id=null())
)
# An answer that held personal data, replaced: every stored version of it goes.
_DELETE_PATH_HISTORY = delete(answers).where(
    answers.c.plan_id == bindparam("b_plan_id"), answers.c.path == bindparam("b_path")
)
_INSERT_PLAN = insert(plans).values(
    id=bindparam("id"),
    user_id=bindparam("user_id"),
    template_id=bindparam("template_id"),
    title=bindparam("title"),
    status=bindparam("status"),
    state=bindparam("state"),
    created_at=bindparam("created_at"),
    updated_at=bindparam("updated_at"),
)
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
# One plan at a time (executemany): deleting plans is rare, and the SQL stays fixed.
_DELETE_PLAN = delete(plans).where(
    plans.c.id == bindparam("b_id"), plans.c.user_id == bindparam("b_user_id")
)
_INSERT_ANSWER = insert(answers).values(
    plan_id=bindparam("plan_id"),
    path=bindparam("path"),
    value=bindparam("value"),
    created_at=bindparam("created_at"),
)
_INSERT_KEY = insert(processed_keys).values(
    key=bindparam("key"), user_id=bindparam("user_id"), created_at=bindparam("created_at")
)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _strangers(snapshot: Snapshot, changes: Changes) -> None:
    """Refuse answers for a plan that is neither the user's nor new in this commit."""
    existing = snapshot.plans.keys() - set(changes.deleted_plans)
    strangers = {a.plan_id for a in changes.answers} - existing - changes.plans.keys()
    if strangers:
        raise ValueError(
            f"answers for plans {sorted(strangers)} that are not among the user's plans; "
            "put a new plan in Changes.plans in the same commit"
        )


class SqlStore:
    """A SessionStore on an async SQLAlchemy engine (see storage.db.open_database).

    Call `close()` when done: on SQLite it stops the writer thread and closes the connections.
    """

    REMEMBERED_STATES = 10_000

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite: _SqliteRunner | None = None
        # users.state as loaded, as JSON text, by (user id, version): a commit whose state
        # serialises to the same text leaves the column alone. Text, not the loaded dict,
        # because a caller may have changed the snapshot's dict in place; the version pins
        # the row's content. Bounded: a load that is never committed is forgotten later.
        self._loaded_states: dict[tuple[int, int], str] = {}
        self._pg = (
            _PgTurns(engine, engine.pool.size() if hasattr(engine.pool, "size") else 10)
            if engine.dialect.name == "postgresql"
            else None
        )
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            self._sqlite = _SqliteRunner(engine)

    async def load(self, user: UserRef, key: str) -> Snapshot:
        if self._sqlite is not None:
            snapshot, state = self._sqlite.read(_load, user, key)
        elif self._pg is not None:
            pg = self._pg
            snapshot, state = await reconnecting(lambda: pg.load(user, key), what="load")
        else:

            async def load() -> tuple[Snapshot, str | None]:
                async with self._engine.connect() as conn:
                    return await conn.run_sync(_core(_load), user, key)

            snapshot, state = await reconnecting(load, what="load")
        if snapshot.user.id is not None and state is not None:
            loaded = self._loaded_states
            if len(loaded) >= self.REMEMBERED_STATES:
                del loaded[next(iter(loaded))]
            loaded[snapshot.user.id, snapshot.user.version] = state
        return snapshot

    async def commit(self, snapshot: Snapshot, changes: Changes, key: str) -> None:
        state: str | None = _to_json(changes.user_state)
        user = snapshot.user
        if user.id is not None and self._loaded_states.pop((user.id, user.version), None) == state:
            state = None  # unchanged: only the version moves
        if self._sqlite is not None:
            await self._sqlite.write(_commit, snapshot, changes, key, state is not None)
            return
        write_state = state is not None
        # The one-statement PostgreSQL turn covers the everyday answer; deleting a teacher or
        # replacing an answer that held personal data (its history must go) takes the full path.
        if (
            self._pg is not None
            and user.version > 0
            and not changes.delete_user
            and not _replaced_personal_data(snapshot, changes)
        ):
            pg, written = self._pg, state

            async def fast() -> None:
                await pg.commit(snapshot, changes, key, written)

            await reconnecting(fast, what="commit")
            return

        async def commit() -> None:
            async with self._engine.begin() as conn:
                await conn.run_sync(_core(_commit), snapshot, changes, key, write_state)

        await reconnecting(commit, what="commit")

    async def history(self, plan_id: str) -> list[AnswerRecord]:
        if self._sqlite is not None:
            return self._sqlite.read(_history, plan_id)

        async def history() -> list[AnswerRecord]:
            async with self._engine.connect() as conn:
                return await conn.run_sync(_core(_history), plan_id)

        return await reconnecting(history, what="history")

    async def close(self) -> None:
        if self._sqlite is not None:
            await asyncio.to_thread(self._sqlite.close)
        if self._pg is not None:
            await self._pg.close()


# ============================================================================= one turn
# The load and the commit are written once, over `_Rows`: SQLAlchemy Core on a Connection
# (PostgreSQL, an in-memory SQLite, any tool on the engine), or the same statements
# compiled once and run on a raw sqlite3 connection (the SQLite file's hot path). An
# adapter says only how a statement runs and how values are stored.


class _Rows(Protocol):
    integrity_error: tuple[type[Exception], ...]

    def rows(self, statement: ClauseElement, params: Mapping[str, Any]) -> Sequence[Any]: ...
    def run(self, statement: ClauseElement, params: Mapping[str, Any]) -> int: ...
    def run_all(self, statement: ClauseElement, rows: list[dict[str, Any]]) -> None: ...
    def insert_user(self, params: Mapping[str, Any]) -> int: ...
    def to_json(self, value: Any) -> Any: ...
    def from_json(self, stored: Any) -> Any: ...
    def to_time(self, value: dt.datetime) -> Any: ...
    def from_time(self, stored: Any) -> dt.datetime: ...


class _CoreRows:
    """Statements on a SQLAlchemy Connection; the column types convert the values."""

    integrity_error: tuple[type[Exception], ...] = (IntegrityError,)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def rows(self, statement: ClauseElement, params: Mapping[str, Any]) -> Sequence[Any]:
        return list(self.conn.execute(statement, params))  # type: ignore[call-overload]

    def run(self, statement: ClauseElement, params: Mapping[str, Any]) -> int:
        return int(self.conn.execute(statement, params).rowcount)  # type: ignore[call-overload]

    def run_all(self, statement: ClauseElement, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(statement, rows)  # type: ignore[call-overload]

    def insert_user(self, params: Mapping[str, Any]) -> int:
        return int(self.conn.execute(_INSERT_USER_RETURNING_ID, params).scalar_one())

    def to_json(self, value: Any) -> Any:
        return value

    def from_json(self, stored: Any) -> Any:
        return stored

    def to_time(self, value: dt.datetime) -> Any:
        return value

    def from_time(self, stored: Any) -> dt.datetime:
        return cast(dt.datetime, stored)


def _core(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn(rows, ...)` as `AsyncConnection.run_sync` calls it: `(connection, ...)`."""

    def on_connection(conn: Connection, *args: Any) -> T:
        return fn(_CoreRows(conn), *args)

    return on_connection


def _load(rows: _Rows, user: UserRef, key: str) -> tuple[Snapshot, str | None]:
    """The snapshot, and users.state as JSON text (to tell later whether it changed)."""
    # The user is read first: if plans change between the reads, the snapshot's version is
    # already stale and its commit will be refused.
    ((user_id, state, version, seen),) = rows.rows(
        _SELECT_USER_AND_KEY, {"key": key, "channel": user.channel, "external_id": user.external_id}
    )
    if user_id is None:
        return Snapshot(user=UserRecord(ref=user), key_seen=bool(seen)), None
    loaded = {
        pid: PlanRecord(
            id=pid,
            template_id=template_id,
            title=title,
            status=status,
            state=rows.from_json(plan_state),
            answers=rows.from_json(current) if current is not None else {},
            created_at=rows.from_time(created_at),
            updated_at=rows.from_time(updated_at),
        )
        for pid, template_id, title, status, plan_state, created_at, updated_at, current in (
            rows.rows(_SELECT_PLANS, {"user_id": user_id})
        )
    }
    user_state = rows.from_json(state)
    snapshot = Snapshot(
        user=UserRecord(id=user_id, ref=user, state=user_state, version=version),
        plans=loaded,
        key_seen=bool(seen),
    )
    return snapshot, _to_json(user_state)


def _history(rows: _Rows, plan_id: str) -> list[AnswerRecord]:
    return [
        AnswerRecord(
            plan_id=pid,
            path=path,
            value=AnswerValue.model_validate(rows.from_json(value)),
            created_at=rows.from_time(created_at),
        )
        for pid, path, value, created_at in rows.rows(_SELECT_HISTORY, {"plan_id": plan_id})
    ]


def _commit(
    rows: _Rows, snapshot: Snapshot, changes: Changes, key: str, write_state: bool = True
) -> None:
    """The whole commit, inside the caller's transaction; users.state only if `write_state`
    (a new user's always)."""
    now = rows.to_time(_utc_now())
    if changes.delete_user:
        _delete_user(rows, snapshot)
        _record_key(rows, key, None, now)
        return
    _strangers(snapshot, changes)
    user_id = _write_user(rows, snapshot, changes, now, write_state)
    rows.run_all(
        _DELETE_PLAN,
        [{"b_id": pid, "b_user_id": user_id} for pid in sorted(set(changes.deleted_plans))],
    )
    new, changed = _plan_rows(snapshot, changes, user_id, rows.to_json, rows.to_time)
    rows.run_all(_INSERT_PLAN, new)
    rows.run_all(_UPDATE_PLAN, changed)
    rows.run_all(_DELETE_PATH_HISTORY, _replaced_personal_data(snapshot, changes))
    rows.run_all(
        _INSERT_ANSWER,
        [
            {
                "plan_id": a.plan_id,
                "path": a.path,
                "value": rows.to_json(a.value.model_dump(mode="json")),
                "created_at": rows.to_time(a.created_at),
            }
            for a in changes.answers
        ],
    )
    _record_key(rows, key, user_id, now)


def _write_user(
    rows: _Rows, snapshot: Snapshot, changes: Changes, now: Any, write_state: bool
) -> int:
    """Insert the user (first commit) or bump its version; refuse a stale snapshot."""
    user = snapshot.user
    ref = user.ref
    if user.version == 0:
        try:
            return rows.insert_user(
                {
                    "channel": ref.channel,
                    "external_id": ref.external_id,
                    "display_name": ref.display_name,
                    "state": rows.to_json(changes.user_state),
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        except rows.integrity_error as exc:
            # Another first commit for this user won the race (unique channel + id).
            raise VersionConflict(ref) from exc
    user_id = user.id if user.id is not None else _user_id(rows, ref)
    params: dict[str, Any] = {
        "b_id": user_id,
        "b_version": user.version,
        "display_name": ref.display_name,
        "updated_at": now,
    }
    if write_state:
        bumped = rows.run(_BUMP_USER, {**params, "state": rows.to_json(changes.user_state)})
    else:
        bumped = rows.run(_BUMP_VERSION, params)
    if bumped != 1:
        raise VersionConflict(ref)
    return user_id


def _user_id(rows: _Rows, ref: UserRef) -> int:
    found = rows.rows(_SELECT_USER_ID, {"channel": ref.channel, "external_id": ref.external_id})
    if not found:
        raise VersionConflict(ref)
    return int(found[0][0])


def _delete_user(rows: _Rows, snapshot: Snapshot) -> None:
    """Delete the user; plans and answers go with it (ON DELETE CASCADE)."""
    user = snapshot.user
    ref = user.ref
    if user.version == 0:
        # Nothing stored yet as far as the snapshot knows; it must still be so.
        if rows.rows(_SELECT_USER_ID, {"channel": ref.channel, "external_id": ref.external_id}):
            raise VersionConflict(ref)
        return
    user_id = user.id if user.id is not None else _user_id(rows, ref)
    if rows.run(_DELETE_USER, {"b_id": user_id, "b_version": user.version}) != 1:
        raise VersionConflict(ref)
    rows.run(_DELETE_MEMBER, {"b_channel": ref.channel, "b_external_id": ref.external_id})
    rows.run(_UNLINK_KEYS, {"b_user_id": user_id})
    rows.run(_DELETE_INBOX, {"b_teacher": f"{ref.channel}:{ref.external_id}"})


def _replaced_personal_data(snapshot: Snapshot, changes: Changes) -> list[dict[str, Any]]:
    """(plan, path) of each new answer that replaces one holding personal data (a
    personnummer, an e-mail address... kept after the warning): that answer's history is
    deleted before the new one is written, so the flagged text leaves no trace."""
    found: list[dict[str, Any]] = []
    for answer in changes.answers:
        plan = snapshot.plans.get(answer.plan_id)
        old = plan.answers.get(answer.path) if plan is not None else None
        if old is not None and old.text != answer.value.text and personal_data(old.text):
            found.append({"b_plan_id": answer.plan_id, "b_path": answer.path})
    return found


def _record_key(rows: _Rows, key: str, user_id: int | None, now: Any) -> None:
    """Record the idempotency key; seen already means another commit got there first."""
    try:
        rows.run(_INSERT_KEY, {"key": key, "user_id": user_id, "created_at": now})
    except rows.integrity_error as exc:
        raise VersionConflict(key) from exc


def _plan_rows(
    snapshot: Snapshot,
    changes: Changes,
    user_id: int,
    state: Callable[[dict[str, Any]], Any],
    at: Callable[[dt.datetime], Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The parameters of one INSERT per new plan and one UPDATE per changed plan.

    Which plans exist is known from the snapshot: the version check has just proved nobody
    changed this user's data since it was loaded. Only the user's own plans are updated
    (`b_user_id`), whatever plan id a channel passed in."""
    existing = snapshot.plans.keys() - set(changes.deleted_plans)
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for pid, plan in changes.plans.items():
        row = {
            "template_id": plan.template_id,
            "title": plan.title,
            "status": plan.status.value,
            "state": state(plan.state),
            "updated_at": at(plan.updated_at),
        }
        if pid in existing:
            changed.append({**row, "b_id": pid, "b_user_id": user_id})
        else:
            new.append({**row, "id": pid, "user_id": user_id, "created_at": at(plan.created_at)})
    return new, changed


# ============================================================================= SQLite file
# The same statements, compiled once, on raw sqlite3 connections. Values are converted the
# way the models' types store them on SQLite, so either path reads what the other wrote:
# JSON as text, UtcDateTime as naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'.

_SQLITE = sqlite_dialect.dialect(paramstyle="named")


def _sqlite_sql(statement: ClauseElement) -> str:
    """SQLite's SQL for a Core statement whose every parameter is a named bindparam."""
    compiled = statement.compile(dialect=_SQLITE)
    preset = {name: value for name, value in compiled.params.items() if value is not None}
    if preset:  # a literal bound as a parameter would be silently missing at execution
        raise AssertionError(f"literal parameters {preset} in {compiled}")
    return str(compiled)


_SQLITE_SQL = {
    id(statement): _sqlite_sql(statement)
    for statement in (
        _SELECT_USER_AND_KEY,
        _SELECT_USER_ID,
        _SELECT_PLANS,
        _SELECT_HISTORY,
        _INSERT_USER,
        _BUMP_VERSION,
        _BUMP_USER,
        _DELETE_USER,
        _DELETE_MEMBER,
        _UNLINK_KEYS,
        _DELETE_INBOX,
        _DELETE_PATH_HISTORY,
        _INSERT_PLAN,
        _UPDATE_PLAN,
        _DELETE_PLAN,
        _INSERT_ANSWER,
        _INSERT_KEY,
    )
}


def _to_sqlite_time(value: dt.datetime) -> str:
    """models.UtcDateTime's SQLite form: naive UTC text with microseconds."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def _from_sqlite_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _SqliteRows:
    """The statements compiled once for SQLite, on a raw sqlite3 connection."""

    integrity_error: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def rows(self, statement: ClauseElement, params: Mapping[str, Any]) -> Sequence[Any]:
        return self.db.execute(_SQLITE_SQL[id(statement)], params).fetchall()

    def run(self, statement: ClauseElement, params: Mapping[str, Any]) -> int:
        return self.db.execute(_SQLITE_SQL[id(statement)], params).rowcount

    def run_all(self, statement: ClauseElement, rows: list[dict[str, Any]]) -> None:
        sql = _SQLITE_SQL[id(statement)]
        if len(rows) == 1:  # the usual case: a plain execute is cheaper
            self.db.execute(sql, rows[0])
        elif rows:
            self.db.executemany(sql, rows)

    def insert_user(self, params: Mapping[str, Any]) -> int:
        return cast(int, self.db.execute(_SQLITE_SQL[id(_INSERT_USER)], params).lastrowid)

    def to_json(self, value: Any) -> Any:
        return _to_json(value)

    def from_json(self, stored: Any) -> Any:
        return json.loads(stored)

    def to_time(self, value: dt.datetime) -> Any:
        return _to_sqlite_time(value)

    def from_time(self, stored: Any) -> dt.datetime:
        return _from_sqlite_time(stored)


class _SqliteRunner:
    """Raw sqlite3 connections of a synchronous twin of an SQLite AsyncEngine.

    Reads run on the calling thread, on an idle reader connection (WAL: readers never wait
    for the writer). Commits go to one writer thread. Those an event loop asks for during
    one pass of the loop are handed over together, and the writer applies every commit
    waiting at that moment in one SQLite transaction, each under its own SAVEPOINT, and then
    COMMITs once: a failed commit rolls back only its savepoint, and the fsync that makes
    the answers durable (synchronous=FULL) is paid once per batch rather than once per
    answer. No caller hears "committed" before that COMMIT has returned.
    """

    MAX_BATCH = 64

    def __init__(self, engine: AsyncEngine) -> None:
        # NullPool: the connections are held for the store's lifetime, not pooled.
        self._engine = create_engine(
            engine.url.set(drivername="sqlite+pysqlite"), poolclass=NullPool
        )
        install_sqlite_pragmas(self._engine)
        self._opened: list[PoolProxiedConnection] = []
        self._opened_lock = threading.Lock()
        self._idle_readers: list[sqlite3.Connection] = []
        self._writer_db = self._connect()
        self._pending: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
        self._queue: queue.SimpleQueue[list[_Job[Any]] | None] = queue.SimpleQueue()
        self._writer = threading.Thread(
            target=self._write_forever, name="planbot-sqlite-write", daemon=True
        )
        self._writer.start()

    def _connect(self) -> sqlite3.Connection:
        proxied = self._engine.raw_connection()
        db = cast(sqlite3.Connection, proxied.driver_connection)
        db.isolation_level = None  # no implicit BEGIN: the writer says BEGIN/COMMIT itself
        with self._opened_lock:
            self._opened.append(proxied)
        return db

    def read(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            db = self._idle_readers.pop()
        except IndexError:  # first read, or reads on several threads at once
            db = self._connect()
        try:
            return fn(_SqliteRows(db), *args)
        finally:
            self._idle_readers.append(db)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        job: _Job[T] = _Job(fn, args, loop, loop.create_future())
        pending = self._pending.get(loop)
        if pending is None:
            # Hand over at the end of this pass of the loop, with the commits other tasks
            # ask for meanwhile: the writer then sees them as one batch.
            pending = self._pending[loop] = []
            loop.call_soon(self._hand_over, loop)
        pending.append(job)
        return await job.future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        self._queue.put(self._pending.pop(loop))

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join()
        with self._opened_lock:
            for proxied in self._opened:
                proxied.close()
            self._opened.clear()
        self._idle_readers.clear()
        self._engine.dispose()

    def _write_forever(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = list(first)
            stop = False
            while len(batch) < self.MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.extend(more)
            self._write_batch(batch)
            if stop:
                return

    def _write_batch(self, batch: list[_Job[Any]]) -> None:
        db = self._writer_db
        try:
            # Take the write lock now: every read below sees the latest commit.
            db.execute("BEGIN IMMEDIATE")
            if len(batch) == 1:
                batch[0].run(db)
            else:
                for job in batch:
                    db.execute("SAVEPOINT planbot_commit")
                    if not job.run(db):
                        db.execute("ROLLBACK TO planbot_commit")
                    db.execute("RELEASE planbot_commit")
            db.execute("COMMIT" if any(job.ok for job in batch) else "ROLLBACK")
        except BaseException as exc:  # BEGIN or COMMIT failed: nobody was committed
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            for job in batch:
                if job.ok or job.error is None:
                    job.fail(exc)
        for loop, jobs in _by_loop(batch).items():
            # A closed event loop has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, jobs)


class _Job(Generic[T]):
    """One queued commit: the function, and where to report how it went."""

    def __init__(
        self,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[T],
    ) -> None:
        self.fn = fn
        self.args = args
        self.loop = loop
        self.future = future
        self.ok = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def run(self, db: sqlite3.Connection) -> bool:
        try:
            self.result = self.fn(_SqliteRows(db), *self.args)
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


def _by_loop(batch: list[_Job[Any]]) -> Mapping[asyncio.AbstractEventLoop, list[_Job[Any]]]:
    grouped: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
    for job in batch:
        grouped.setdefault(job.loop, []).append(job)
    return grouped


def _settle(jobs: list[_Job[Any]]) -> None:
    for job in jobs:
        job.settle()


# ============================================================================= PostgreSQL
# A turn in two round trips on asyncpg: the load is one statement (user, key seen, plans with
# their current answers as one JSON text), the usual commit is one statement (data-modifying
# CTEs: the version bump, plan inserts/updates/deletes, answer appends and the key, all or
# nothing, autocommitted: one server fsync). asyncpg prepares each once per connection and
# keeps it (statement cache). A new user's first commit and "delete all my data" take the Core
# path above; both are once in a teacher's life.

_PG_LOAD = """
SELECT u.id, u.state::text, u.version,
       EXISTS (SELECT 1 FROM processed_keys k WHERE k.key = $3) AS seen,
       (SELECT jsonb_agg(jsonb_build_array(
                   p.id, p.template_id, p.title, p.status, p.state, p.created_at, p.updated_at,
                   (SELECT jsonb_object_agg(a.path, a.value) FROM answers a
                     WHERE a.plan_id = p.id
                       AND a.id IN (SELECT max(o.id) FROM answers o
                                     WHERE o.plan_id = p.id GROUP BY o.path))))::text
          FROM plans p WHERE p.user_id = u.id) AS plans
  FROM (SELECT 1) AS one
  LEFT JOIN users u ON u.channel = $1 AND u.external_id = $2
"""

_PG_COMMIT = """
WITH bumped AS (
    UPDATE users
       SET version = version + 1, display_name = $3, updated_at = $4,
           state = CASE WHEN $5::boolean THEN $6::jsonb ELSE state END
     WHERE id = $1 AND version = $2
 RETURNING id
), dropped AS (
    DELETE FROM plans USING bumped
     WHERE plans.user_id = bumped.id AND plans.id = ANY($7::text[])
), added AS (
    INSERT INTO plans (id, user_id, template_id, title, status, state, created_at, updated_at)
    SELECT x.id, bumped.id, x.template_id, x.title, x.status, x.state, x.created_at,
           x.updated_at
      FROM bumped, jsonb_to_recordset($8::jsonb) AS x(
           id text, template_id text, title text, status text, state jsonb,
           created_at timestamptz, updated_at timestamptz)
), changed AS (
    UPDATE plans
       SET template_id = x.template_id, title = x.title, status = x.status, state = x.state,
           updated_at = x.updated_at
      FROM bumped, jsonb_to_recordset($9::jsonb) AS x(
           id text, template_id text, title text, status text, state jsonb,
           updated_at timestamptz)
     WHERE plans.id = x.id AND plans.user_id = bumped.id
), answered AS (
    INSERT INTO answers (plan_id, path, value, created_at)
    SELECT x.plan_id, x.path, x.value, x.created_at
      FROM bumped, jsonb_to_recordset($10::jsonb) AS x(
           plan_id text, path text, value jsonb, created_at timestamptz)
), keyed AS (
    INSERT INTO processed_keys (key, user_id, created_at) SELECT $11, id, $4 FROM bumped
)
SELECT count(*) FROM bumped
"""


def _iso(value: dt.datetime) -> str:
    return value.isoformat()


def _pg_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value.astimezone(dt.UTC) if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def asyncpg_dsn(url: URL) -> str:
    """The engine's URL as a DSN for asyncpg itself: SQLAlchemy's dialect takes ?ssl=, which
    normalize_url made of libpq's ?sslmode=, but asyncpg's DSN parser knows only sslmode
    (anything else it sends to the server as a setting, which the server refuses)."""
    query = dict(url.query)
    if "ssl" in query:
        query["sslmode"] = query.pop("ssl")
    return url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)


class _PgTurns:
    """The load and the usual commit on asyncpg, on a pool of its own: no SQLAlchemy pool
    checkout (a greenlet switch each way) and no reset query when a connection goes back
    (nothing of a turn outlives its one autocommitted statement). The pool replaces a
    connection the server closed when it is next taken."""

    def __init__(self, engine: AsyncEngine, size: int) -> None:
        self._dsn = asyncpg_dsn(engine.url)
        self._size = size
        self._pool: Any = None
        self._opening = asyncio.Lock()

    async def _open(self) -> Any:
        import asyncpg  # type: ignore[import-untyped]

        async def no_reset(conn: Any) -> None:
            return None

        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=1,
                    max_size=self._size,
                    reset=no_reset,
                    statement_cache_size=256,
                )
        return self._pool

    @contextlib.asynccontextmanager
    async def _driver(self) -> Any:
        pool = self._pool or await self._open()
        async with pool.acquire() as db:
            yield db

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def load(self, user: UserRef, key: str) -> tuple[Snapshot, str | None]:
        async with self._driver() as db:
            row = await db.fetchrow(_PG_LOAD, user.channel, user.external_id, key)
        user_id, state_text, version, seen, plans_text = row
        if user_id is None:
            return Snapshot(user=UserRecord(ref=user), key_seen=bool(seen)), None
        loaded: dict[str, PlanRecord] = {}
        for pid, template_id, title, status, state, created, updated, current in json.loads(
            plans_text or "[]"
        ):
            loaded[pid] = PlanRecord(
                id=pid,
                template_id=template_id,
                title=title,
                status=status,
                state=state,
                answers=current or {},
                created_at=_pg_time(created),
                updated_at=_pg_time(updated),
            )
        user_state = json.loads(state_text)
        snapshot = Snapshot(
            user=UserRecord(id=user_id, ref=user, state=user_state, version=version),
            plans=loaded,
            key_seen=bool(seen),
        )
        return snapshot, _to_json(user_state)

    async def commit(
        self, snapshot: Snapshot, changes: Changes, key: str, state: str | None
    ) -> None:
        import asyncpg

        _strangers(snapshot, changes)
        user = snapshot.user
        assert user.id is not None
        now = _utc_now()
        new, changed = _plan_rows(snapshot, changes, user.id, lambda s: s, _iso)
        changed = [{**row, "id": row["b_id"]} for row in changed]
        answers_json = [
            {
                "plan_id": a.plan_id,
                "path": a.path,
                "value": a.value.model_dump(mode="json"),
                "created_at": _iso(a.created_at),
            }
            for a in changes.answers
        ]
        async with self._driver() as db:
            try:
                bumped = await db.fetchval(
                    _PG_COMMIT,
                    user.id,
                    user.version,
                    user.ref.display_name,
                    now,
                    state is not None,
                    state,
                    sorted(set(changes.deleted_plans)),
                    _to_json(new),
                    _to_json(changed),
                    _to_json(answers_json),
                    key,
                )
            except asyncpg.UniqueViolationError as exc:  # the key: another commit got there
                raise VersionConflict(key) from exc
        if bumped != 1:
            raise VersionConflict(user.ref)
