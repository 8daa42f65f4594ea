"""The reminders table: kept in step with the plans, claimed once, marked as it goes.

`ReminderStore.sync` makes a plan's rows match what `dialogs.reminders.derive` says the plan
should have (called after every committed turn, and by `planbot remind` before a pass, for
plans changed while nothing synced them). A row keeps its delivery state as long as its due
time stays the same: a reminder sent is not sent again because the teacher answered another
question. A new due time (the teacher changed the date, or a nudge re-armed by activity)
makes it pending again, unless the teacher turned the plan's reminders off.

Delivery, exactly once across any number of workers:

    pending/snoozed ──claim──► claimed ──mark_sent──► sent
                                  │  └──retry_later──► pending (next_try_at later)
                                  └──drop──► dropped (the teacher blocked the bot)

`claim_due` is one UPDATE that moves due rows to `claimed` and returns them. On PostgreSQL
its row choice is `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint
rows without waiting on each other; on SQLite the UPDATE runs under the database's write
lock, so a second process sees the rows already claimed. A claim older than `LEASE` (the
worker died between claim and mark) is claimed again: after a crash a reminder may go out a
second time, but it is never lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialogs.reminders import DueReminder
from dialogs.types import PlanStatus, UserRef
from storage.models import plans, reminders, users

PENDING = "pending"
CLAIMED = "claimed"
SENT = "sent"
DROPPED = "dropped"
SNOOZED = "snoozed"
OFF = "off"
STATES = (PENDING, CLAIMED, SENT, DROPPED, SNOOZED, OFF)

LEASE = dt.timedelta(minutes=10)
DONE_STATUS = PlanStatus.DONE.value
_WAITING = (PENDING, SNOOZED)


@dataclass(frozen=True)
class StoredReminder:
    """One row, with its plan's title and template for the message."""

    id: int
    plan_id: str
    user_id: int
    kind: str
    ref: str
    about: str
    when_text: str
    due_at: dt.datetime
    channel: str
    chat: str
    state: str
    attempts: int
    next_try_at: dt.datetime
    sent_at: dt.datetime | None
    title: str
    template_id: str
    plan_status: str
    plan_updated_at: dt.datetime


_COLUMNS = (
    reminders.c.id,
    reminders.c.plan_id,
    reminders.c.user_id,
    reminders.c.kind,
    reminders.c.ref,
    reminders.c.about,
    reminders.c.when_text,
    reminders.c.due_at,
    reminders.c.channel,
    reminders.c.chat,
    reminders.c.state,
    reminders.c.attempts,
    reminders.c.next_try_at,
    reminders.c.sent_at,
    plans.c.title,
    plans.c.template_id,
    plans.c.status,
    plans.c.updated_at,
)
_WITH_PLAN = select(*_COLUMNS).select_from(reminders.join(plans, plans.c.id == reminders.c.plan_id))


def _row(row: Any) -> StoredReminder:
    return StoredReminder(*row)


class ReminderStore:
    """Reminder rows on the application's AsyncEngine (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def _postgres(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    # ------------------------------------------------------------------ keeping in step

    async def sync(
        self,
        user: UserRef,
        derived: Mapping[str, Sequence[DueReminder]],
        now: dt.datetime,
        deleted: Iterable[str] = (),
    ) -> None:
        """Make the rows of each plan in `derived` match its list; remove those of `deleted`
        plans. Plans not named are left alone."""
        for attempt in range(3):
            try:
                async with self._engine.begin() as conn:
                    await self._sync(conn, user, derived, now, list(deleted))
                return
            except IntegrityError:
                # Another worker synced the same plan meanwhile (the unique key), or the
                # plan was deleted: read again and redo.
                if attempt == 2:
                    raise

    async def _sync(
        self,
        conn: AsyncConnection,
        user: UserRef,
        derived: Mapping[str, Sequence[DueReminder]],
        now: dt.datetime,
        deleted: list[str],
    ) -> None:
        if deleted:
            await conn.execute(delete(reminders).where(reminders.c.plan_id.in_(deleted)))
        if not derived:
            return
        user_id = (
            await conn.execute(
                select(users.c.id).where(
                    users.c.channel == user.channel, users.c.external_id == user.external_id
                )
            )
        ).scalar()
        if user_id is None:
            return  # the user deleted all their data in this turn: nothing to remind
        known = set(
            (
                await conn.execute(
                    select(plans.c.id).where(
                        plans.c.id.in_(list(derived)), plans.c.user_id == user_id
                    )
                )
            ).scalars()
        )
        existing: dict[str, dict[tuple[str, str], Any]] = {pid: {} for pid in known}
        for row in await conn.execute(
            select(
                reminders.c.id,
                reminders.c.plan_id,
                reminders.c.kind,
                reminders.c.ref,
                reminders.c.due_at,
                reminders.c.state,
                reminders.c.about,
                reminders.c.when_text,
                reminders.c.channel,
                reminders.c.chat,
            ).where(reminders.c.plan_id.in_(known))
        ):
            existing[row.plan_id][row.kind, row.ref] = row
        for plan_id in known:
            rows = existing[plan_id]
            plan_off = any(r.state == OFF for r in rows.values())
            wanted = {(d.kind.value, d.ref): d for d in derived[plan_id]}
            said = {d.off for d in wanted.values()} - {None}
            if said:  # the teacher's own word (plan state) beats an operator's setting
                plan_off = said == {True}
            gone = [r.id for key, r in rows.items() if key not in wanted]
            if gone:
                await conn.execute(delete(reminders).where(reminders.c.id.in_(gone)))
            for key, due in wanted.items():
                found = rows.get(key)
                common = {
                    "about": due.about,
                    "when_text": due.when,
                    "channel": user.channel,
                    "chat": user.external_id,
                    "updated_at": now,
                }
                if found is None:
                    await conn.execute(
                        insert(reminders).values(
                            plan_id=plan_id,
                            user_id=user_id,
                            kind=key[0],
                            ref=key[1],
                            due_at=due.due_at,
                            state=OFF if plan_off else PENDING,
                            attempts=0,
                            next_try_at=due.due_at,
                            last_error="",
                            **common,
                        )
                    )
                    continue
                values: dict[str, Any] = {
                    k: v for k, v in common.items() if k != "updated_at" and found._mapping[k] != v
                }
                state = found.state
                if due.off is True and state != OFF:
                    values.update(state=OFF)
                    state = OFF
                elif due.off is False and state == OFF:
                    values.update(state=PENDING, next_try_at=due.due_at, attempts=0)
                    state = PENDING
                if found.due_at != due.due_at:
                    values.update(due_at=due.due_at, next_try_at=due.due_at)
                    if state not in (OFF, CLAIMED):
                        values.update(state=PENDING, attempts=0, sent_at=None, last_error="")
                if not values:
                    continue  # the usual turn: this reminder did not change
                values["updated_at"] = now
                await conn.execute(
                    update(reminders).where(reminders.c.id == found.id).values(**values)
                )

    # ------------------------------------------------------------------ delivery

    async def claim_due(
        self,
        now: dt.datetime,
        *,
        limit: int = 100,
        channel: str | None = None,
        chat: str | None = None,
    ) -> list[StoredReminder]:
        """Take up to `limit` reminders due at `now` for this worker alone."""
        due = or_(
            and_(reminders.c.state.in_(_WAITING), reminders.c.next_try_at <= now),
            and_(reminders.c.state == CLAIMED, reminders.c.claimed_at < now - LEASE),
        )
        choose = select(reminders.c.id).where(due).order_by(reminders.c.next_try_at).limit(limit)
        if channel is not None:
            choose = choose.where(reminders.c.channel == channel)
        if chat is not None:
            choose = choose.where(reminders.c.chat == chat)
        if self._postgres:
            choose = choose.with_for_update(skip_locked=True)
        claim = (
            update(reminders)
            .where(reminders.c.id.in_(choose.scalar_subquery()), due)
            .values(state=CLAIMED, claimed_at=now, attempts=reminders.c.attempts + 1)
            .returning(reminders.c.id)
        )
        async with self._engine.begin() as conn:
            ids = list((await conn.execute(claim)).scalars())
            if not ids:
                return []
            found = await conn.execute(
                _WITH_PLAN.where(reminders.c.id.in_(ids)).order_by(reminders.c.next_try_at)
            )
            return [_row(r) for r in found]

    async def _set(self, reminder_id: int, only: Sequence[str], **values: Any) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(reminders)
                .where(reminders.c.id == reminder_id, reminders.c.state.in_(only))
                .values(**values)
            )
            return bool(result.rowcount)

    async def mark_sent(self, reminder_id: int, now: dt.datetime) -> bool:
        return await self._set(
            reminder_id, (CLAIMED,), state=SENT, sent_at=now, last_error="", updated_at=now
        )

    async def retry_later(
        self, reminder_id: int, at: dt.datetime, error: str, now: dt.datetime
    ) -> bool:
        """A send that failed for a reason that may pass: try again at `at`."""
        return await self._set(
            reminder_id,
            (CLAIMED,),
            state=PENDING,
            next_try_at=at,
            claimed_at=None,
            last_error=error[:1000],
            updated_at=now,
        )

    async def reschedule(self, reminder_id: int, due: dt.datetime, now: dt.datetime) -> bool:
        """A claimed reminder that turned out not to be due yet (a nudge whose plan was
        answered meanwhile): back to pending at its real due time."""
        return await self._set(
            reminder_id,
            (CLAIMED,),
            state=PENDING,
            due_at=due,
            next_try_at=due,
            claimed_at=None,
            attempts=0,
            updated_at=now,
        )

    async def drop(self, reminder_id: int, reason: str, now: dt.datetime) -> bool:
        """Never to be sent (the teacher blocked the bot, the chat is gone)."""
        return await self._set(
            reminder_id,
            (CLAIMED, PENDING, SNOOZED),
            state=DROPPED,
            last_error=reason[:1000],
            updated_at=now,
        )

    # ------------------------------------------------------------------ the teacher's wishes

    async def snooze(self, reminder_id: int, until: dt.datetime, now: dt.datetime) -> bool:
        """ "Påminn mig om en vecka": the same reminder again at `until`."""
        return await self._set(
            reminder_id,
            (PENDING, CLAIMED, SENT, SNOOZED, DROPPED),
            state=SNOOZED,
            next_try_at=until,
            sent_at=None,
            updated_at=now,
        )

    async def turn_off(self, plan_id: str, now: dt.datetime) -> int:
        """ "Stäng av påminnelser för planen": every reminder of the plan, now and later."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(reminders)
                .where(reminders.c.plan_id == plan_id, reminders.c.state != OFF)
                .values(state=OFF, updated_at=now)
            )
            return int(result.rowcount)

    async def turn_on(self, plan_id: str, now: dt.datetime) -> int:
        """Reminders of the plan back on; one whose time passed meanwhile goes out now."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(reminders)
                .where(reminders.c.plan_id == plan_id, reminders.c.state == OFF)
                .values(
                    state=PENDING,
                    next_try_at=func.coalesce(reminders.c.due_at, reminders.c.next_try_at),
                    attempts=0,
                    updated_at=now,
                )
            )
            return int(result.rowcount)

    # ------------------------------------------------------------------ reading

    async def get(self, reminder_id: int) -> StoredReminder | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_WITH_PLAN.where(reminders.c.id == reminder_id))).first()
            return None if row is None else _row(row)

    async def of_plan(self, plan_id: str) -> list[StoredReminder]:
        async with self._engine.connect() as conn:
            found = await conn.execute(
                _WITH_PLAN.where(reminders.c.plan_id == plan_id).order_by(reminders.c.due_at)
            )
            return [_row(r) for r in found]

    async def upcoming(self, user: UserRef) -> list[StoredReminder]:
        """The teacher's reminders still to come (and those turned off), soonest first: what
        /paminnelser and Slack's App Home list."""
        async with self._engine.connect() as conn:
            found = await conn.execute(
                _WITH_PLAN.join(users, users.c.id == reminders.c.user_id)
                .where(
                    users.c.channel == user.channel,
                    users.c.external_id == user.external_id,
                    reminders.c.state.in_((PENDING, CLAIMED, SNOOZED, OFF)),
                )
                .order_by(reminders.c.next_try_at)
            )
            return [_row(r) for r in found]

    async def without_rows(self) -> list[tuple[UserRef, str]]:
        """Unfinished plans that have no reminder row at all: new plans with nothing to remind
        of yet, or plans written where no hook synced them (another tool, an older version).
        Cheap to find, so `planbot remind` catches up on them before every pass."""
        async with self._engine.connect() as conn:
            found = await conn.execute(
                select(users.c.channel, users.c.external_id, plans.c.id)
                .select_from(plans.join(users, users.c.id == plans.c.user_id))
                .where(
                    plans.c.status != DONE_STATUS,
                    ~select(reminders.c.id).where(reminders.c.plan_id == plans.c.id).exists(),
                )
                .order_by(users.c.id)
            )
            return [(UserRef(channel=c, external_id=e), pid) for c, e, pid in found]

    async def users(self) -> list[UserRef]:
        """Every teacher, for a full resync (plans written before reminders existed)."""
        async with self._engine.connect() as conn:
            found = await conn.execute(
                select(users.c.channel, users.c.external_id).order_by(users.c.id)
            )
            return [UserRef(channel=c, external_id=e) for c, e in found]

    async def due(self, now: dt.datetime) -> list[StoredReminder]:
        """What a pass at `now` would send, without claiming anything (--dry-run)."""
        async with self._engine.connect() as conn:
            found = await conn.execute(
                _WITH_PLAN.where(
                    or_(
                        and_(reminders.c.state.in_(_WAITING), reminders.c.next_try_at <= now),
                        and_(reminders.c.state == CLAIMED, reminders.c.claimed_at < now - LEASE),
                    )
                ).order_by(reminders.c.next_try_at)
            )
            return [_row(r) for r in found]
