"""Refund a paid job that ended ``failed`` or ``timed_out`` after its retries, or that was paid after it was
cancelled or expired (see ``refund_status.owes_refund``): money is never kept for a job that did not deliver.

The finished-job hook sends one message to the refund actor; the actor asks Stripe's Refunds API with the
idempotency key ``refund-<job id>``, so however many times it runs (a redelivered message, the scheduler's
catch-up pass for a lost one) Stripe makes one refund. The refund id and status are stored on the job and the
refund is recorded in its history (a ``pending`` refund's later status: ``refund_status``). Passing errors
are retried with exponential backoff; after the last attempt the scheduler's pass (``refund_missing``) keeps
trying.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import dramatiq
import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actors.finished import on_finished
from actors.payments.refund_status import REFUNDABLE, owes_refund
from actors.payments.stripe_client import StripeConfig, StripeConnection, checkout_facts
from actors.retry import backoff_seconds
from db import state_machine as sm
from db.models import Job, Payment
from db.observe import catalog
from db.observe.recorder import inc

log = logging.getLogger("genjobs.refund")

REFUND_QUEUE = "payments"
REFUND_ACTOR = "payments:refund"
MAX_ATTEMPTS = 8
MIN_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 600.0


def refund_idempotency_key(job_id: uuid.UUID) -> str:
    return f"refund-{job_id}"


def send_refund(broker: dramatiq.Broker, job_id: uuid.UUID, *, attempt: int = 0, delay_ms: int | None = None) -> None:
    """Enqueue the refund of a job (by actor name: the sender need not declare the actor)."""
    message: dramatiq.Message[None] = dramatiq.Message(
        queue_name=REFUND_QUEUE, actor_name=REFUND_ACTOR, args=(str(job_id),), kwargs={"attempt": attempt}, options={}
    )
    broker.enqueue(message, delay=delay_ms)


@on_finished("refund")
def refund_when_failed(
    broker: dramatiq.Broker,
    job_id: uuid.UUID,
    status: str,
    /,
    *,
    owner_id: uuid.UUID | None = None,
    params: Mapping[str, Any] | None = None,
) -> None:
    # Every failed job gets a message; the actor returns at once for free ones (the hook has no database).
    if status in REFUNDABLE:
        send_refund(broker, job_id)


def refund_job(sessions: sessionmaker[Session], client: stripe.StripeClient, job_id: uuid.UUID, *, actor: str) -> str:
    """Refund one job if it is paid, owed a refund (``owes_refund``) and not refunded yet; returns what happened.

    Raises the SDK's errors for passing failures (the caller retries); a refusal by Stripe (e.g. the charge
    was already refunded from the dashboard) is stored as refund status ``failed`` and recorded."""
    with sessions() as session:
        job = session.execute(
            select(Job.status, Job.queued_at, Payment.status, Payment.session_id, Payment.intent_id, Payment.refund_id)
            .join(Payment, Payment.job_id == Job.id)
            .where(Job.id == job_id)
        ).one_or_none()
    if job is None:
        return "not_refundable"
    status, queued_at, payment_status, session_id, payment_intent, refund_id = job
    if not owes_refund(status, payment_status, queued_at):
        return "not_refundable"
    if refund_id is not None:
        return "already_refunded"
    if payment_intent is None and session_id:
        payment_intent = checkout_facts(client.v1.checkout.sessions.retrieve(session_id)).payment_intent
    if payment_intent is None:
        _store(sessions, job_id, None, "failed", actor, {"error": "the paid session has no payment intent"})
        return "refund_refused"
    try:
        refund: Any = client.v1.refunds.create(
            params={"payment_intent": payment_intent, "metadata": {"job_id": str(job_id)}},
            options={"idempotency_key": refund_idempotency_key(job_id)},
        )
    except stripe.InvalidRequestError as exc:
        _store(sessions, job_id, None, "failed", actor, {"error": exc.user_message or str(exc), "code": exc.code})
        return "refund_refused"
    created = refund.to_dict()
    detail = {"amount_cents": created.get("amount")}
    _store(sessions, job_id, str(created["id"]), str(created.get("status")), actor, detail)
    inc(catalog.PAYMENTS, "refunded")
    currency, amount = str(created.get("currency") or ""), float(created.get("amount") or 0)
    inc(catalog.PAYMENT_AMOUNT, "refunded", currency, amount=amount)
    return "refunded"


def _store(
    sessions: sessionmaker[Session],
    job_id: uuid.UUID,
    refund_id: str | None,
    status: str,
    actor: str,
    detail: dict[str, Any],
) -> None:
    with sessions.begin() as session:
        stored = session.execute(sm.payments.refund_asked(job_id, refund_id, status)).one_or_none()
        if stored is not None:
            event = "refunded" if refund_id else "refund_failed"
            sm.record_event(
                session, job_id, event, actor=actor, detail={"refund_id": refund_id, "status": status, **detail}
            )


def declare_refund_actor(
    broker: dramatiq.Broker, sessions: Callable[[], sessionmaker[Session]], config: StripeConfig
) -> None:
    """Declare the refund actor on a worker's broker; its Stripe client is made in the worker process."""
    connection: list[StripeConnection] = []
    lock = threading.Lock()

    def client() -> stripe.StripeClient:
        with lock:
            if not connection:
                connection.append(StripeConnection(config))
            return connection[0].client

    def refund(job_id: str, attempt: int = 0) -> None:
        job = uuid.UUID(job_id)
        try:
            if not config.configured:
                raise RuntimeError("Stripe is not configured in this worker (STRIPE_API_KEY)")
            outcome = refund_job(sessions(), client(), job, actor="worker:refund")
            log.info("refund of job %s: %s", job, outcome)
        except Exception as exc:
            if attempt + 1 >= MAX_ATTEMPTS:
                log.error("refund of job %s failed %d times (%s); the scheduler will retry", job, attempt + 1, exc)
                return
            delay = backoff_seconds(attempt + 1, base=MIN_BACKOFF_SECONDS, cap=MAX_BACKOFF_SECONDS)
            log.warning("refund of job %s failed (%s: %s); retrying in %.0f s", job, type(exc).__name__, exc, delay)
            send_refund(broker, job, attempt=attempt + 1, delay_ms=int(delay * 1000))

    dramatiq.actor(actor_name=REFUND_ACTOR, queue_name=REFUND_QUEUE, broker=broker, time_limit=120_000)(refund)
