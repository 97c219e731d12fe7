"""A paid job's transitions: paid (it may run) or expired (it never will)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from db.models import Job
from db.state_machine.core import Changed, finish_values, transition
from db.statuses import JobStatus


def mark_paid(
    session: Session, job_id: uuid.UUID, *, actor: str, message_id: str | None, detail: dict[str, Any] | None = None
) -> Changed | None:
    """pending_payment -> queued once payment is confirmed."""
    return transition(
        session,
        job_id,
        JobStatus.QUEUED,
        actor=actor,
        detail=detail,
        values={"message_id": message_id, "queued_at": func.now()},
        where=[Job.status == JobStatus.PENDING_PAYMENT.value],
    )


def expire(session: Session, job_id: uuid.UUID, *, actor: str, reason: str) -> Changed | None:
    """pending_payment -> expired."""
    return transition(
        session,
        job_id,
        JobStatus.EXPIRED,
        actor=actor,
        detail={"reason": reason},
        values=finish_values(error=reason),
        event={"error": reason},
    )
