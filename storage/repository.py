"""`SqlStore`: the engine's SessionStore on SQLAlchemy, for SQLite and PostgreSQL.

Same promise as `dialogs.store.MemoryStore`: `commit` applies a step's Changes and records
its idempotency key in one transaction, only if the user's version is still the one loaded.

Every chat turn is one `load` and one `commit`, so both use prepared Core statements and a
fixed handful of round trips (load: user, plans, answers, key; commit: version bump, plan
writes, answer appends, key) rather than the ORM's unit of work. The first statement of a
commit is a write, so on SQLite the write lock is taken (or waited for) before anything is
read, and on PostgreSQL the row lock on the user serialises concurrent commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
_SELECT_CURRENT_ANSWERS = (
    select(answers.c.plan_id, answers.c.path, answers.c.value)
    .join(plans, plans.c.id == answers.c.plan_id)
    .where(plans.c.user_id == bindparam("user_id"))
    .order_by(answers.c.id)
)
_SELECT_KEY = select(processed_keys.c.key).where(processed_keys.c.key == bindparam("key"))
_SELECT_HISTORY = (
    select(answers.c.plan_id, answers.c.path, answers.c.value, answers.c.created_at)
    .where(answers.c.plan_id == bindparam("plan_id"))
    .order_by(answers.c.id)
)

_INSERT_USER = insert(users).returning(users.c.id)
_BUMP_USER = (
    update(users)
    .where(users.c.id == bindparam("b_id"), users.c.version == bindparam("b_version"))
    .values(
        state=bindparam("state"),
        display_name=bindparam("display_name"),
        updated_at=bindparam("updated_at"),
        version=users.c.version + 1,
    )
)
_BUMP_USER_BY_REF = (
    update(users)
    .where(
        users.c.channel == bindparam("b_channel"),
        users.c.external_id == bindparam("b_external_id"),
        users.c.version == bindparam("b_version"),
    )
    .values(
        state=bindparam("state"),
        display_name=bindparam("display_name"),
        updated_at=bindparam("updated_at"),
        version=users.c.version + 1,
    )
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
_UPDATE_PLAN = update(plans).where(
    plans.c.id == bindparam("b_id"), plans.c.user_id == bindparam("b_user_id")
)
_DELETE_PLANS = delete(plans).where(
    plans.c.id.in_(bindparam("ids", expanding=True)), plans.c.user_id == bindparam("user_id")
)
_INSERT_ANSWER = insert(answers)
_INSERT_KEY = insert(processed_keys)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SqlStore:
    """A SessionStore on an async SQLAlchemy engine (see storage.db.open_database)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # ------------------------------------------------------------------------- reading

    async def load(self, user: UserRef, key: str) -> Snapshot:
        async with self._engine.connect() as conn:
            # The user is read first: if plans change between the reads, the snapshot's
            # version is already stale and the commit will be refused.
            row = (
                await conn.execute(
                    _SELECT_USER, {"channel": user.channel, "external_id": user.external_id}
                )
            ).first()
            if row is None:
                record = UserRecord(ref=user)
                loaded: dict[str, PlanRecord] = {}
            else:
                record = UserRecord(id=row.id, ref=user, state=row.state, version=row.version)
                loaded = await self._load_plans(conn, row.id)
            seen = (await conn.execute(_SELECT_KEY, {"key": key})).first() is not None
        return Snapshot(user=record, plans=loaded, key_seen=seen)

    async def _load_plans(self, conn: AsyncConnection, user_id: int) -> dict[str, PlanRecord]:
        plan_rows = (await conn.execute(_SELECT_PLANS, {"user_id": user_id})).all()
        if not plan_rows:
            return {}
        latest: dict[str, dict[str, dict[str, Any]]] = {row.id: {} for row in plan_rows}
        for plan_id, path, value in await conn.execute(
            _SELECT_CURRENT_ANSWERS, {"user_id": user_id}
        ):
            latest[plan_id][path] = value  # rows come oldest first: the last one wins
        return {
            row.id: PlanRecord(
                id=row.id,
                template_id=row.template_id,
                title=row.title,
                status=PlanStatus(row.status),
                state=row.state,
                answers={
                    path: AnswerValue.model_validate(value)
                    for path, value in latest[row.id].items()
                },
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
            for row in plan_rows
        }

    async def history(self, plan_id: str) -> list[AnswerRecord]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(_SELECT_HISTORY, {"plan_id": plan_id})
            return [
                AnswerRecord(
                    plan_id=plan_id,
                    path=path,
                    value=AnswerValue.model_validate(value),
                    created_at=created_at,
                )
                for plan_id, path, value, created_at in rows
            ]

    # ------------------------------------------------------------------------- writing

    async def commit(self, snapshot: Snapshot, changes: Changes, key: str) -> None:
        now = _utc_now()
        async with self._engine.begin() as conn:
            if changes.delete_user:
                await self._delete_user(conn, snapshot)
                await _record_key(conn, key, None, now)
                return
            user_id = await self._write_user(conn, snapshot, changes, now)
            await self._write_plans(conn, snapshot, changes, user_id)
            if changes.answers:
                await conn.execute(
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
            await _record_key(conn, key, user_id, now)

    async def _write_user(
        self, conn: AsyncConnection, snapshot: Snapshot, changes: Changes, now: dt.datetime
    ) -> int:
        """Insert the user (first commit) or bump its version; refuse a stale snapshot."""
        user = snapshot.user
        ref = user.ref
        if user.version == 0:
            try:
                inserted = await conn.execute(
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
                # Another first commit for this user won the race (unique channel+id).
                raise VersionConflict(ref) from exc
            return int(inserted.scalar_one())
        params = {
            "b_version": user.version,
            "state": changes.user_state,
            "display_name": ref.display_name,
            "updated_at": now,
        }
        if user.id is not None:
            result = await conn.execute(_BUMP_USER, {**params, "b_id": user.id})
            if result.rowcount != 1:
                raise VersionConflict(ref)
            return user.id
        found = (
            await conn.execute(
                _BUMP_USER_BY_REF,
                {**params, "b_channel": ref.channel, "b_external_id": ref.external_id},
            )
        ).first()
        if found is None:
            raise VersionConflict(ref)
        return int(found.id)

    async def _write_plans(
        self, conn: AsyncConnection, snapshot: Snapshot, changes: Changes, user_id: int
    ) -> None:
        """Delete, then insert new and update existing plans, as MemoryStore orders them.

        Which plans exist is known from the snapshot: the version check has just proved
        nobody changed this user's data since it was loaded. Only the user's own plans are
        ever updated or deleted, whatever plan id a channel passed in.
        """
        deleted = set(changes.deleted_plans)
        if deleted:
            await conn.execute(_DELETE_PLANS, {"ids": sorted(deleted), "user_id": user_id})
        existing = snapshot.plans.keys() - deleted
        owned = existing | changes.plans.keys()
        strangers = {a.plan_id for a in changes.answers} - owned
        if strangers:
            raise ValueError(
                f"answers for plans {sorted(strangers)} that are not among the user's plans; "
                "include the plan in Changes.plans"
            )
        new = [_plan_row(p, user_id) for pid, p in changes.plans.items() if pid not in existing]
        changed = [
            {**_plan_row(p, user_id), "b_id": pid, "b_user_id": user_id}
            for pid, p in changes.plans.items()
            if pid in existing
        ]
        if new:
            await conn.execute(_INSERT_PLAN, new)
        if changed:
            for row in changed:
                del row["id"], row["user_id"], row["created_at"]
            await conn.execute(_UPDATE_PLAN, changed)

    async def _delete_user(self, conn: AsyncConnection, snapshot: Snapshot) -> None:
        """Delete the user; plans and answers go with it (ON DELETE CASCADE)."""
        user = snapshot.user
        ref = user.ref
        if user.version == 0:
            # Nothing stored yet, as far as the snapshot knows; it must still be so.
            found = (
                await conn.execute(
                    _SELECT_USER, {"channel": ref.channel, "external_id": ref.external_id}
                )
            ).first()
            if found is not None:
                raise VersionConflict(ref)
            return
        if user.id is not None:
            result = await conn.execute(_DELETE_USER, {"b_id": user.id, "b_version": user.version})
        else:
            result = await conn.execute(
                _DELETE_USER_BY_REF,
                {
                    "b_channel": ref.channel,
                    "b_external_id": ref.external_id,
                    "b_version": user.version,
                },
            )
        if result.rowcount != 1:
            raise VersionConflict(ref)


async def _record_key(
    conn: AsyncConnection, key: str, user_id: int | None, now: dt.datetime
) -> None:
    """Record the idempotency key; seen already means another commit got there first."""
    try:
        await conn.execute(_INSERT_KEY, {"key": key, "user_id": user_id, "created_at": now})
    except IntegrityError as exc:
        raise VersionConflict(key) from exc


def _plan_row(plan: PlanRecord, user_id: int) -> dict[str, Any]:
    return {
        "id": plan.id,
        "user_id": user_id,
        "template_id": plan.template_id,
        "title": plan.title,
        "status": plan.status.value,
        "state": plan.state,
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
    }
