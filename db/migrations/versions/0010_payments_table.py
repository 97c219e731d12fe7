"""payments: the payment columns of jobs move to their own table, one row per Checkout Session

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# jobs' old column -> payments' column, in the order both are listed.
_MOVED = (
    ("amount_cents", "amount_cents", sa.Integer()),
    ("currency", "currency", sa.String(length=3)),
    ("payment_session_id", "session_id", sa.String(length=255)),
    ("payment_url", "url", sa.Text()),
    ("payment_expires_at", "expires_at", sa.DateTime(timezone=True)),
    ("payment_status", "status", sa.String(length=16)),
    ("payment_intent_id", "intent_id", sa.String(length=255)),
    ("refund_id", "refund_id", sa.String(length=255)),
    ("refund_status", "refund_status", sa.String(length=32)),
)


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("intent_id", sa.String(length=255), nullable=True),
        sa.Column("refund_id", sa.String(length=255), nullable=True),
        sa.Column("refund_status", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'expired', 'cancelled')", name=op.f("ck_payments_status_valid")
        ),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_payments_amount_not_negative")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_payments_job_id_jobs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("job_id", name=op.f("uq_payments_job_id")),
        sa.UniqueConstraint("session_id", name=op.f("uq_payments_session_id")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_payments_refund_id")),
    )
    new = ", ".join(name for _, name, _ in _MOVED)
    old = ", ".join(
        "coalesce(payment_status, 'pending')" if name == "payment_status" else name for name, _, _ in _MOVED
    )
    op.execute(
        f"INSERT INTO payments (id, job_id, {new}, created_at, updated_at) "
        f"SELECT gen_random_uuid(), id, {old}, created_at, updated_at FROM jobs "
        "WHERE amount_cents IS NOT NULL AND currency IS NOT NULL"
    )
    op.drop_index("ix_jobs_payment_session_id", table_name="jobs")
    for name, _, _ in _MOVED:
        op.drop_column("jobs", name)


def downgrade() -> None:
    for name, _, type_ in _MOVED:
        op.add_column("jobs", sa.Column(name, type_, nullable=True))
    op.create_index("ix_jobs_payment_session_id", "jobs", ["payment_session_id"])
    sets = ", ".join(f"{old} = p.{new}" for old, new, _ in _MOVED)
    op.execute(f"UPDATE jobs SET {sets} FROM payments AS p WHERE p.job_id = jobs.id")
    op.drop_table("payments")
