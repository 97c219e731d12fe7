"""Which paid jobs are owed a refund, and keeping a refund's status current after Stripe created it.

A refund Stripe answers ``pending`` (or ``requires_action``) settles later as ``succeeded``, ``failed`` or
``canceled``. The later status reaches us as a ``refund.updated`` / ``refund.failed`` webhook, or, when that
is lost, from the scheduler re-reading unsettled refunds. Events may arrive out of order, so a settled status
is never replaced by an unsettled one.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from db import state_machine as sm
from db.models import Job, Payment
from db.statuses import JobStatus

# A paid job that ended without delivering: failed or timed out after its retries.
REFUNDABLE = frozenset({JobStatus.FAILED.value, JobStatus.TIMED_OUT.value})
# A job closed while it waited for payment (cancelled, expired) whose payment still went through (a customer
# paying in the gap): it was never queued, so it never ran, and the money goes back.
CLOSED_UNPAID = frozenset({JobStatus.CANCELLED.value, JobStatus.EXPIRED.value})
log = logging.getLogger("genjobs.refund")
UNSETTLED_REFUND = frozenset({"pending", "requires_action"})
SETTLED_REFUND = frozenset({"succeeded", "failed", "canceled"})


def owes_refund(status: str, payment_status: str | None, queued_at: Any) -> bool:
    """Whether a job with these columns must be refunded (once)."""
    if payment_status != "paid":
        return False
    return status in REFUNDABLE or (status in CLOSED_UNPAID and queued_at is None)


def owes_refund_clause() -> ColumnElement[bool]:
    """``owes_refund`` as a SQL condition on ``jobs`` joined with their ``payments``."""
    return and_(
        Payment.status == "paid",
        or_(
            Job.status.in_(list(REFUNDABLE)),
            and_(Job.status.in_(list(CLOSED_UNPAID)), Job.queued_at.is_(None)),
        ),
    )


def apply_refund_status(
    session: Session, refund: dict[str, Any], *, actor: str, source: str
) -> tuple[uuid.UUID | None, str]:
    """Store a Refund object's status on the job that owns it; returns (job id, what happened)."""
    refund_id = refund.get("id")
    status = refund.get("status")
    if not isinstance(refund_id, str) or not isinstance(status, str):
        return None, "ignored:not_a_refund"
    row = session.execute(
        select(Payment.job_id, Payment.refund_status).where(Payment.refund_id == refund_id).with_for_update()
    ).one_or_none()
    if row is None:
        return None, "ignored:unknown_refund"
    job_id, current = row
    if current == status:
        return job_id, "unchanged"
    if current in SETTLED_REFUND and status in UNSETTLED_REFUND:
        # An older event delivered late: the refund has already settled.
        return job_id, "ignored:stale"
    session.execute(sm.payments.refund_settled(job_id, status))
    detail: dict[str, Any] = {"refund_id": refund_id, "from": current, "status": status, "source": source}
    if refund.get("failure_reason"):
        detail["failure_reason"] = refund["failure_reason"]
    sm.record_event(session, job_id, "refund_updated", actor=actor, detail=detail)
    if status in {"failed", "canceled"}:
        # The money did not go back: someone has to look (the job's history says why).
        log.error("refund %s of job %s is %s: %s", refund_id, job_id, status, refund.get("failure_reason"))
    return job_id, f"refund:{status}"
