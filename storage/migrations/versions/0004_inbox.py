"""The inbox: every update a platform delivered, stored before it is acknowledged.

Revision ID: 0004_inbox
Revises: 0003_deploy
Create Date: 2026-11-28

A webhook answers 200 (Slack is acked, a long-polling offset confirmed) only after the
update's row is committed here; processing follows from this table, in `id` order per
teacher. Self-contained, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_inbox"
down_revision: str | None = "0003_deploy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("update_id", sa.String(255), nullable=False),
        sa.Column("teacher", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox"),
        sa.UniqueConstraint("key", name="uq_inbox_key"),
    )
    # The pending rows of one teacher, oldest first; and all pending rows for a sweep.
    op.create_index(
        "ix_inbox_pending_teacher_id",
        "inbox",
        ["teacher", "id"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_pending_teacher_id", table_name="inbox")
    op.drop_table("inbox")
