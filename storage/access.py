"""Who may use a deployment: invitation codes, the teachers they admitted, and a counter of
refusals (nothing else is kept about someone who was refused).

Core statements on the application's AsyncEngine; the tables are described here with the
shared metadata and created by the migration 0003_deploy.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Integer, String, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UtcDateTime


class Invitation(Base):
    """A code a school hands out: it admits `uses_left` teachers (None: any number) until
    `expires_at` (None: no end)."""

    __tablename__ = "invitations"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    org: Mapped[str] = mapped_column(String(255))
    uses_left: Mapped[int | None] = mapped_column(Integer, nullable=True)
    used: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Member(Base):
    """A teacher admitted to the deployment in one channel, and by which organisation."""

    __tablename__ = "members"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    org: Mapped[str] = mapped_column(String(255))
    admitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Refusal(Base):
    """How many messages were refused per channel: a number, no one's id."""

    __tablename__ = "access_refusals"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


invitations = cast(Table, Invitation.__table__)
members = cast(Table, Member.__table__)
refusals = cast(Table, Refusal.__table__)


@dataclass(frozen=True)
class NewInvitation:
    code: str
    org: str
    uses: int | None
    expires_at: dt.datetime | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_code() -> str:
    """16 characters of [A-Za-z0-9_-]: fits Telegram's deep-link start parameter."""
    return secrets.token_urlsafe(12)


class AccessStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def invite(
        self, org: str, *, uses: int | None = None, expires_at: dt.datetime | None = None
    ) -> NewInvitation:
        code = new_code()
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(invitations).values(
                    code=code,
                    org=org,
                    uses_left=uses,
                    used=0,
                    expires_at=expires_at,
                    created_at=_now(),
                )
            )
        return NewInvitation(code, org, uses, expires_at)

    async def is_member(self, channel: str, external_id: str) -> bool:
        async with self.engine.connect() as conn:
            row = await conn.execute(
                select(members.c.org).where(
                    members.c.channel == channel, members.c.external_id == external_id
                )
            )
            return row.first() is not None

    async def redeem(
        self, code: str, channel: str, external_id: str, now: dt.datetime | None = None
    ) -> str | None:
        """Admit the teacher with `code`: the organisation's name, or None when the code is
        unknown, used up or expired. Redeeming again as a member changes nothing."""
        now = now or _now()
        async with self.engine.begin() as conn:
            found = (
                await conn.execute(
                    select(invitations.c.org, invitations.c.uses_left, invitations.c.expires_at)
                    .where(invitations.c.code == code)
                    .with_for_update()
                )
            ).first()
            if found is None:
                return None
            org, uses_left, expires_at = found
            if expires_at is not None and expires_at < now:
                return None
            already = (
                await conn.execute(
                    select(members.c.org).where(
                        members.c.channel == channel, members.c.external_id == external_id
                    )
                )
            ).first()
            if already is not None:
                return str(already[0])
            if uses_left is not None and uses_left <= 0:
                return None
            await conn.execute(
                update(invitations)
                .where(invitations.c.code == code)
                .values(
                    used=invitations.c.used + 1,
                    uses_left=None if uses_left is None else invitations.c.uses_left - 1,
                )
            )
            await conn.execute(
                insert(members).values(
                    channel=channel, external_id=external_id, org=org, admitted_at=now
                )
            )
            return str(org)

    async def refused(self, channel: str) -> None:
        async with self.engine.begin() as conn:
            changed = await conn.execute(
                update(refusals)
                .where(refusals.c.channel == channel)
                .values(count=refusals.c.count + 1)
            )
            if changed.rowcount == 0:
                await conn.execute(insert(refusals).values(channel=channel, count=1))

    async def refusal_counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(refusals.c.channel, refusals.c.count))
            return {str(channel): int(count) for channel, count in rows}

    async def forget(self, channel: str, external_id: str) -> None:
        """The teacher's admission goes with the rest of their data."""
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(members).where(
                    members.c.channel == channel, members.c.external_id == external_id
                )
            )
