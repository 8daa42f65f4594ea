"""Reminders: one row per reminder derived from a plan, with its delivery state.

Revision ID: 0002_remind
Revises: 0001
Create Date: 2026-11-28

Self-contained like 0001: it does not import storage.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_remind"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("about", sa.Text(), nullable=False),
        sa.Column("when_text", sa.Text(), nullable=False),
        sa.Column("due_at", _timestamp(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", _timestamp(), nullable=False),
        sa.Column("claimed_at", _timestamp(), nullable=True),
        sa.Column("sent_at", _timestamp(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name="fk_reminders_plan_id_plans", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_reminders_user_id_users", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("plan_id", "kind", "ref", name="uq_reminders_plan_id_kind_ref"),
    )
    op.create_index("ix_reminders_state_next_try_at", "reminders", ["state", "next_try_at"])
    op.create_index("ix_reminders_user_id", "reminders", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_reminders_user_id", table_name="reminders")
    op.drop_index("ix_reminders_state_next_try_at", table_name="reminders")
    op.drop_table("reminders")
