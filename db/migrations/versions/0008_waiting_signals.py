"""jobs that wait (status waiting, waiting_for, wait_deadline, job_state, last_signal) and fair scheduling
(held_since: a job held back because its owner has reached the kind's running limit)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OLD_STATUSES = (
    "'pending_payment', 'queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled', 'timed_out', 'expired'"
)
_NEW_STATUSES = _OLD_STATUSES + ", 'waiting'"


def upgrade() -> None:
    op.add_column("jobs", sa.Column("waiting_for", sa.Text(), nullable=True))
    op.add_column("jobs", sa.Column("wait_deadline", sa.DateTime(timezone=True), nullable=True))
    op.add_column("jobs", sa.Column("job_state", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("jobs", sa.Column("last_signal", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("jobs", sa.Column("held_since", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f("ck_jobs_status_valid"), "jobs", type_="check")
    op.create_check_constraint(op.f("ck_jobs_status_valid"), "jobs", f"status IN ({_NEW_STATUSES})")
    op.create_index("ix_jobs_wait_deadline", "jobs", ["wait_deadline"], postgresql_where=sa.text("status = 'waiting'"))
    op.create_index(
        "ix_jobs_owner_kind_running", "jobs", ["owner_id", "kind"], postgresql_where=sa.text("status = 'running'")
    )
    op.create_index(
        "ix_jobs_held", "jobs", ["owner_id", "kind", "created_at"], postgresql_where=sa.text("held_since IS NOT NULL")
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_held", table_name="jobs")
    op.drop_index("ix_jobs_owner_kind_running", table_name="jobs")
    op.drop_index("ix_jobs_wait_deadline", table_name="jobs")
    # Waiting jobs cannot be represented before this revision: they are cancelled.
    op.execute("UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE status = 'waiting'")
    op.drop_constraint(op.f("ck_jobs_status_valid"), "jobs", type_="check")
    op.create_check_constraint(op.f("ck_jobs_status_valid"), "jobs", f"status IN ({_OLD_STATUSES})")
    op.drop_column("jobs", "held_since")
    op.drop_column("jobs", "last_signal")
    op.drop_column("jobs", "job_state")
    op.drop_column("jobs", "wait_deadline")
    op.drop_column("jobs", "waiting_for")
