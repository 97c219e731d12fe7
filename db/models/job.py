"""A generation job: the single source of truth for its state."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, UUIDPrimaryKey, utcnow
from db.models.payment import Payment
from db.statuses import JobStatus

_STATUS_VALUES = ", ".join(f"'{s.value}'" for s in JobStatus)


class Job(UUIDPrimaryKey, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="status_valid"),
        CheckConstraint("priority IN ('low', 'normal', 'high')", name="priority_valid"),
        Index("ix_jobs_owner_created", "owner_id", text("created_at DESC")),
        Index("ix_jobs_status_kind", "status", "kind"),
        Index("ix_jobs_wait_deadline", "wait_deadline", postgresql_where=text("status = 'waiting'")),
        # Fair scheduling: an owner's running jobs of a kind are counted at every claim.
        Index("ix_jobs_owner_kind_running", "owner_id", "kind", postgresql_where=text("status = 'running'")),
        Index("ix_jobs_held", "owner_id", "kind", "created_at", postgresql_where=text("held_since IS NOT NULL")),
        Index(
            "uq_jobs_owner_idempotency_key",
            "owner_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    queue: Mapped[str] = mapped_column(String(128))
    title: Mapped[str | None] = mapped_column(String(300))

    progress_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress_total: Mapped[int | None] = mapped_column(Integer)
    progress_step: Mapped[str | None] = mapped_column(String(200))

    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    idempotency_key: Mapped[str | None] = mapped_column(String(200))

    # Delivery bookkeeping: the broker's id of the live message (for the sweeper), the running claim
    # (so a worker that lost its lease can no longer write), and when a retry is due.
    message_id: Mapped[str | None] = mapped_column(String(64))
    claim_token: Mapped[uuid.UUID | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    run_after: Mapped[datetime | None]
    # Fair scheduling: set while the job is held back (no message) because its owner already runs as many
    # jobs of its kind as allowed; a finishing job of that owner sends it again (``db.fairness``).
    held_since: Mapped[datetime | None]

    # Waiting (``db.waits``): what the parked job waits for, until when, the state its kind keeps between
    # stages, and the signal that resumed it (read by the next run).
    waiting_for: Mapped[str | None] = mapped_column(Text)
    wait_deadline: Mapped[datetime | None]
    job_state: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    last_signal: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    # A paid job's payment (``db.models.payment``), loaded with the job; read-only here: written only by
    # ``db.state_machine.payments``.
    payment: Mapped[Payment | None] = relationship(lazy="selectin", viewonly=True, uselist=False)
