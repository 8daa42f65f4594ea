"""The table behind retention (bot/datarights.py): when a teacher was told that a finished,
untouched plan will be deleted. Created by the migration 0003_deploy."""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UtcDateTime


class RetentionNotice(Base):
    __tablename__ = "retention_notices"

    plan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True
    )
    noticed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


retention_notices = cast(Table, RetentionNotice.__table__)
