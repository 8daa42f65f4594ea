"""Deployment: invitations, admitted members, a refusal counter, retention notices.

Revision ID: 0003_deploy
Revises: 0002_remind
Create Date: 2026-11-28

Self-contained like 0001: it does not import storage.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_deploy"
down_revision: str | None = "0002_remind"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("org", sa.String(255), nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=True),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("expires_at", _timestamp(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_invitations"),
    )
    op.create_table(
        "members",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("org", sa.String(255), nullable=False),
        sa.Column("admitted_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "external_id", name="pk_members"),
    )
    op.create_table(
        "access_refusals",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("channel", name="pk_access_refusals"),
    )
    op.create_table(
        "retention_notices",
        sa.Column("plan_id", sa.String(32), nullable=False),
        sa.Column("noticed_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name="pk_retention_notices"),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name="fk_retention_notices_plan_id_plans",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("retention_notices")
    op.drop_table("access_refusals")
    op.drop_table("members")
    op.drop_table("invitations")
