"""The tables behind the session store, described once with SQLAlchemy's typed ORM.

The repository talks to these tables with Core statements (see repository.py) because one
chat turn must cost a handful of round trips; the ORM classes exist as the single, typed
description of the schema. Migrations in `migrations/versions/` are written by hand to match.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JSONType: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL keeps the offset (timestamptz). SQLite has no datetime type and SQLAlchemy
    would silently drop the offset, so values are converted to UTC before they are stored
    and marked UTC again when read. A naive datetime is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """One teacher in one channel; `version` is the optimistic lock every commit checks."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Plan(Base):
    """One plan; its id is a uuid hex chosen by the engine, so it is known before commit."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Answer(Base):
    """The append-only answer history; a plan's current answers are the latest row per path."""

    __tablename__ = "answers"
    __table_args__ = (
        # history of one plan, oldest first
        Index("ix_answers_plan_id_id", "plan_id", "id"),
        # newest answer per path, read on every load without touching the JSON
        Index("ix_answers_plan_id_path_id", "plan_id", "path", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(255))
    value: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ProcessedKey(Base):
    """Idempotency keys of updates already applied. Deliberately no foreign key: the key of
    a "delete all my data" update must outlive the user it deleted."""

    __tablename__ = "processed_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Reminder(Base):
    """A reminder the bot sends by itself, derived from a plan (dialogs/reminders.py).

    (plan_id, kind, ref) is the derived key; the rest is delivery: `state` is pending →
    claimed → sent, or snoozed / off / dropped (the teacher blocked the bot); `next_try_at`
    is when a worker may next claim it (due time, snooze end, or a retry after a failure)."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("plan_id", "kind", "ref"),
        # the claim: what is due, oldest first
        Index("ix_reminders_state_next_try_at", "state", "next_try_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(255))
    about: Mapped[str] = mapped_column(Text, default="")
    when_text: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(32))
    chat: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


# The Core tables, typed, for the repository's statements.
users = cast(Table, User.__table__)
plans = cast(Table, Plan.__table__)
answers = cast(Table, Answer.__table__)
processed_keys = cast(Table, ProcessedKey.__table__)
reminders = cast(Table, Reminder.__table__)


class InboxRow(Base):
    """An update as the platform delivered it, stored before it was acknowledged.

    `key` is the turn's idempotency key (`telegram:<update_id>`, `slack:<event_id>`), so a
    platform's retry of an update already stored meets its row; `teacher` orders processing
    (one teacher's rows in `id` order). `status`: pending → done, or parked after too many
    failed attempts."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("key"),
        Index(
            "ix_inbox_pending_teacher_id",
            "teacher",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    key: Mapped[str] = mapped_column(String(255))
    platform: Mapped[str] = mapped_column(String(32))
    update_id: Mapped[str] = mapped_column(String(255))
    teacher: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


inbox = cast(Table, InboxRow.__table__)
