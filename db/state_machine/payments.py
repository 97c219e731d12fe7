"""A paid job's money side: its ``payments`` row and the job transitions that depend on payment.

This module is the only writer of ``payments`` (``db.models.payment``). The row is inserted with its job
(``creation``), then moved by the statements below, which sync and async callers execute in their own
transaction next to the job's transition and audit row. The job side: paid (it may run) or expired (it never
will).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Update, func, update
from sqlalchemy.orm import Session

from db.models import Job, Payment
from db.state_machine.core import Changed, finish_values, transition
from db.statuses import JobStatus


class NewPayment(msgspec.Struct, kw_only=True):
    """The payment row created with a paid job: its price, then its Checkout Session once Stripe made it."""

    amount_cents: int
    currency: str
    session_id: str | None = None
    url: str | None = None
    expires_at: datetime | None = None
    status: str = "pending"


def mark_paid(
    session: Session,
    job_id: uuid.UUID,
    *,
    actor: str,
    message_id: str | None,
    payment_intent: str | None,
    detail: dict[str, Any] | None = None,
) -> Changed | None:
    """pending_payment -> queued once payment is confirmed, and the payment marked paid, in the caller's
    transaction."""
    changed = transition(
        session,
        job_id,
        JobStatus.QUEUED,
        actor=actor,
        detail=detail,
        values={"message_id": message_id, "queued_at": func.now()},
        where=[Job.status == JobStatus.PENDING_PAYMENT.value],
    )
    if changed is not None:
        session.execute(paid(job_id, payment_intent))
    return changed


def expire(session: Session, job_id: uuid.UUID, *, actor: str, reason: str) -> Changed | None:
    """pending_payment -> expired (the payment's own status is the caller's: ``closed`` or ``paid``)."""
    return transition(
        session,
        job_id,
        JobStatus.EXPIRED,
        actor=actor,
        detail={"reason": reason},
        values=finish_values(error=reason),
        event={"error": reason},
    )


def _update(job_id: uuid.UUID, *where: ColumnElement[bool], **values: Any) -> Update:
    return update(Payment).where(Payment.job_id == job_id, *where).values(updated_at=func.now(), **values)


def paid(job_id: uuid.UUID, payment_intent: str | None) -> Update:
    """The job's payment went through (whether or not the job may still run)."""
    return _update(job_id, status="paid", intent_id=payment_intent)


def closed(job_id: uuid.UUID, status: str) -> Update:
    """The job's Checkout Session will not be paid: ``expired`` or ``cancelled``."""
    if status not in {"expired", "cancelled"}:
        raise ValueError(f"a payment closes as expired or cancelled, not {status}")
    return _update(job_id, status=status)


def look_again_at(job_id: uuid.UUID, when: Any) -> Update:
    """Move the time the scheduler next looks at an unpaid session (its expiry as far as we act on it)."""
    return _update(job_id, expires_at=when)


def refund_asked(job_id: uuid.UUID, refund_id: str | None, status: str) -> Update:
    """The refund Stripe created (or refused: no id, ``failed``), stored once; returns the job id when stored."""
    return _update(job_id, Payment.refund_id.is_(None), refund_id=refund_id, refund_status=status[:32]).returning(
        Payment.job_id
    )


def refund_settled(job_id: uuid.UUID, status: str) -> Update:
    """A later status of the job's refund, as Stripe reports it."""
    return _update(job_id, refund_status=status[:32])
