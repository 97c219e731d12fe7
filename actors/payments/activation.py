"""The checks and the move that start a paid job, shared by the webhook, the admin start (API) and the
scheduler's reconciliation (``actors.payments.reconcile``): the session is paid, is this job's session, was
paid by the job's owner, for the job's price and currency, and the job is still waiting for payment.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from actors.payments.stripe_client import CheckoutFacts
from db.locks import lock_job
from db.models import Job
from db.statuses import JobStatus


class Mismatch(msgspec.Struct, frozen=True):
    """Why a session does not start its job (recorded in the job's history)."""

    code: str
    message: str


def check_session(job: Job, facts: CheckoutFacts, *, require_owner: bool = True) -> Mismatch | None:
    """The first reason ``facts`` must not start ``job``, or None when it may."""
    if facts.payment_status != "paid":
        return Mismatch("unpaid", f"the session's payment_status is {facts.payment_status!r}, not 'paid'")
    if job.status != JobStatus.PENDING_PAYMENT:
        return Mismatch("job_not_pending", f"the job is {job.status}, not pending_payment")
    payment = job.payment
    if payment is None or payment.session_id != facts.id:
        return Mismatch("session_mismatch", f"session {facts.id} is not the job's session")
    if require_owner and facts.metadata.get("user_id") != str(job.owner_id):
        return Mismatch("owner_mismatch", "the session's user is not the job's owner")
    if facts.amount_total != payment.amount_cents:
        return Mismatch("amount_mismatch", f"amount_total {facts.amount_total} != price {payment.amount_cents}")
    if (facts.currency or "").lower() != payment.currency:
        return Mismatch("currency_mismatch", f"currency {facts.currency!r} != {payment.currency!r}")
    return None


def session_detail(facts: CheckoutFacts, **extra: Any) -> dict[str, Any]:
    """What the job's history keeps about a session (no customer data)."""
    return {
        "session_id": facts.id,
        "payment_status": facts.payment_status,
        "amount_total": facts.amount_total,
        "currency": facts.currency,
        **extra,
    }


def lock_for_update(session: Session, job_id: uuid.UUID) -> Job | None:
    """Take the job's advisory lock (held until commit) and its row."""
    lock_job(session, job_id)
    return session.scalar(select(Job).where(Job.id == job_id).with_for_update())
