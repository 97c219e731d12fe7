"""payments: Stripe events and refunds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_JOB_COLUMNS = (
    ("payment_url", sa.Text()),
    ("payment_expires_at", sa.DateTime(timezone=True)),
    ("payment_status", sa.String(length=16)),
    ("payment_intent_id", sa.String(length=255)),
    ("refund_id", sa.String(length=255)),
    ("refund_status", sa.String(length=32)),
)


def upgrade() -> None:
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_stripe_events_event_id")),
    )
    for name, type_ in _JOB_COLUMNS:
        op.add_column("jobs", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(_JOB_COLUMNS):
        op.drop_column("jobs", name)
    op.drop_table("stripe_events")
