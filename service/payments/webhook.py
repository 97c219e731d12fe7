"""``POST /api/webhooks/stripe``: verify, deduplicate and apply Stripe's Checkout events.

The signature is checked on the raw body with the SDK's helper (300 s tolerance by default), and a timestamp
more than the tolerance in the future is refused too (the SDK checks only the past, so a signature dated
ahead would stay replayable until then); an event id
is stored in a unique row in the same transaction as its effect, so a redelivery finds the row and does
nothing, and a failure part-way rolls both back for Stripe to deliver again. Handled events:

* ``checkout.session.completed`` (paid) and ``checkout.session.async_payment_succeeded``: start the job
  (see ``service.payments.activation``); any mismatch is recorded on the job, which does not run. A payment
  for a job that was cancelled or expired while it waited (the customer paid in the gap) is recorded and
  refunded: the job never runs, so the money goes back;
* ``checkout.session.async_payment_failed`` and ``checkout.session.expired``: the job expires, unless it
  was already paid (an expiry arriving after the completion changes nothing);
* ``refund.created`` / ``refund.updated`` / ``refund.failed`` / ``charge.refund.updated``: the refund's new
  status is stored on its job (a ``pending`` refund that later succeeds or fails);
* anything else: stored and ignored.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import anyio
import msgspec
import redis
import stripe
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from actors.payments.activation import check_session, session_detail
from actors.payments.refund import send_refund
from actors.payments.refund_status import CLOSED_UNPAID, apply_refund_status
from actors.payments.stripe_client import CheckoutFacts, checkout_facts
from db import state_machine as sm
from db.live import LiveEvent
from db.locks import lock_job
from db.models import Job, StripeEvent
from db.statuses import JobStatus
from service.errors import BadRequest, ServiceUnavailable
from service.jobs.enqueue import publish
from service.payments import observed
from service.payments.activation import start_paid_job
from service.resources import Resources

log = logging.getLogger("genjobs.webhook")
ACTOR = "stripe:webhook"
PAID_EVENTS = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
EXPIRY_EVENTS = frozenset({"checkout.session.async_payment_failed", "checkout.session.expired"})
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})
# The outcome of a payment for a job closed before it was paid: refunded once the event is stored.
REFUND_DUE_PREFIX = "refund_due:"
REFUND_DUE = f"{REFUND_DUE_PREFIX}job_closed"
# Checks about the payment itself: failing one means money was taken that does not pay for this job.
REFUNDED_MISMATCHES = frozenset({"amount_mismatch", "currency_mismatch", "owner_mismatch"})


class EventData(msgspec.Struct):
    object: dict[str, Any]


class Event(msgspec.Struct):
    id: str
    type: str
    data: EventData


class WebhookOutcome(msgspec.Struct):
    received: bool
    event_id: str
    outcome: str
    duplicate: bool = False


def verify(res: Resources, payload: bytes, signature: str | None) -> Event:
    """The event, if ``payload`` carries a valid signature; else 400 (nothing is stored)."""
    secret = res.settings.stripe.webhook_secret
    if not secret:
        raise ServiceUnavailable("Stripe webhooks are not configured on this server.", code="payments_not_configured")
    if not signature:
        raise BadRequest("Missing Stripe-Signature header.", code="invalid_signature")
    tolerance = res.settings.stripe.webhook_tolerance_seconds
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise BadRequest(f"Invalid Stripe signature: {exc}", code="invalid_signature") from None
    # verify_header has parsed t= already; a valid signature has exactly one
    signed_at = int(dict(part.split("=", 1) for part in signature.split(",") if "=" in part)["t"])
    if signed_at > time.time() + tolerance:
        raise BadRequest("Invalid Stripe signature: timestamp is in the future", code="invalid_signature")
    try:
        return msgspec.json.decode(payload, type=Event)
    except msgspec.DecodeError as exc:
        raise BadRequest(f"The event body is not a Stripe event: {exc}", code="invalid_event") from None


def _job_id_of(facts: CheckoutFacts) -> uuid.UUID | None:
    for raw in (facts.client_reference_id, facts.metadata.get("job_id")):
        try:
            return uuid.UUID(str(raw))
        except ValueError:
            continue
    return None


def _refund_job_id(obj: dict[str, Any]) -> uuid.UUID | None:
    metadata = obj.get("metadata")
    try:
        return uuid.UUID(str(metadata.get("job_id"))) if isinstance(metadata, dict) else None
    except ValueError:
        return None


async def handle(res: Resources, event: Event) -> WebhookOutcome:
    """Apply a verified event once; a duplicate event id answers with ``duplicate=True`` and does nothing."""
    is_checkout = event.type.startswith("checkout.session.")
    facts = None
    if is_checkout:
        try:
            facts = checkout_facts(event.data.object)
        except msgspec.ValidationError:
            facts = None
    job_id = _job_id_of(facts) if facts is not None else None
    if event.type in REFUND_EVENTS:
        job_id = _refund_job_id(event.data.object)
    events: list[LiveEvent] = []
    async with res.sessions() as session, session.begin():
        inserted = await session.scalar(
            insert(StripeEvent)
            .values(event_id=event.id, type=event.type, job_id=job_id, outcome="received")
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(StripeEvent.id)
        )
        if inserted is None:
            return WebhookOutcome(True, event.id, "duplicate", duplicate=True)
        if event.type in REFUND_EVENTS:
            outcome = await _apply_refund(session, event)
        elif facts is None or job_id is None or event.type not in PAID_EVENTS | EXPIRY_EVENTS:
            outcome = "ignored"
        else:
            outcome, events = await _apply(res, session, event, facts, job_id)
        await session.execute(update(StripeEvent).where(StripeEvent.id == inserted).values(outcome=outcome[:128]))
    log.info("stripe event %s (%s) for job %s: %s", event.id, event.type, job_id, outcome)
    await publish(res, events)
    if outcome.startswith(REFUND_DUE_PREFIX) and job_id is not None:
        await _send_refund(res, job_id)
    return WebhookOutcome(True, event.id, outcome)


async def _send_refund(res: Resources, job_id: uuid.UUID) -> None:
    try:
        await anyio.to_thread.run_sync(lambda: send_refund(res.broker, job_id))
    except redis.RedisError:
        # The payment is stored on the job: the scheduler's catch-up pass refunds it.
        log.warning("could not enqueue the refund of job %s: Redis unavailable", job_id)


async def _apply_refund(session: AsyncSession, event: Event) -> str:
    _, outcome = await session.run_sync(
        lambda s: apply_refund_status(s, event.data.object, actor=ACTOR, source=f"{event.type} {event.id}")
    )
    return outcome


async def _apply(
    res: Resources, session: AsyncSession, event: Event, facts: CheckoutFacts, job_id: uuid.UUID
) -> tuple[str, list[LiveEvent]]:
    await session.run_sync(lock_job, job_id)
    job = await session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if job is None:
        return "unknown_job", []
    detail = session_detail(facts, event_id=event.id, event_type=event.type)
    if event.type in PAID_EVENTS:
        mismatch = check_session(job, facts)
        if mismatch is not None and _paid_after_close(job, facts):
            await session.execute(sm.payments.paid(job_id, facts.payment_intent))
            await _record(session, job_id, "payment_after_close", {**detail, "reason": f"job is {job.status}"})
            return REFUND_DUE, []
        if mismatch is not None and _refund_on_mismatch(job, facts, mismatch.code):
            # The job's own session was paid, but not as the job says (amount, currency, payer): the job must
            # not run, and money is never kept for a job that does not run. It expires and is refunded.
            reason = f"the payment did not match this generation ({mismatch.message}), so it was refunded"
            changed = await session.run_sync(lambda s: sm.expire(s, job_id, actor=ACTOR, reason=reason))
            await session.execute(sm.payments.paid(job_id, facts.payment_intent))
            await _record(
                session,
                job_id,
                "payment_rejected",
                {**detail, "reason": mismatch.code, "why": mismatch.message, "refunded": True},
            )
            return f"{REFUND_DUE_PREFIX}{mismatch.code}", changed.events if changed is not None else []
        if mismatch is not None:
            await _record(
                session, job_id, "payment_rejected", {**detail, "reason": mismatch.code, "why": mismatch.message}
            )
            return f"rejected:{mismatch.code}", []
        observed.paid(job, facts)
        return "queued", await start_paid_job(res, session, job, facts, actor=ACTOR, detail=detail)
    # An expiry or a failed async payment: only a job still waiting for payment expires.
    if job.status != JobStatus.PENDING_PAYMENT or _session_of(job) != facts.id:
        await _record(session, job_id, "payment_event_ignored", {**detail, "reason": f"job is {job.status}"})
        return "ignored:not_pending", []
    reason = "payment failed" if event.type == "checkout.session.async_payment_failed" else "checkout session expired"
    changed = await session.run_sync(lambda s: sm.expire(s, job_id, actor=ACTOR, reason=reason))
    await session.execute(sm.payments.closed(job_id, "expired"))
    await _record(session, job_id, "payment_expired", detail)
    return "expired", changed.events if changed is not None else []


def _refund_on_mismatch(job: Job, facts: CheckoutFacts, code: str) -> bool:
    """A paid session of this waiting job that fails a check about the payment itself."""
    return (
        code in REFUNDED_MISMATCHES
        and facts.payment_status == "paid"
        and job.status == JobStatus.PENDING_PAYMENT
        and _session_of(job) == facts.id
    )


def _paid_after_close(job: Job, facts: CheckoutFacts) -> bool:
    """This job's own session was paid after the job was cancelled or expired, before it ever ran."""
    return (
        facts.payment_status == "paid"
        and job.status in CLOSED_UNPAID
        and job.queued_at is None
        and job.payment is not None
        and job.payment.session_id == facts.id
        and job.payment.status != "paid"
    )


def _session_of(job: Job) -> str | None:
    return job.payment.session_id if job.payment is not None else None


async def _record(session: AsyncSession, job_id: uuid.UUID, type_: str, detail: dict[str, Any]) -> None:
    await session.run_sync(lambda s: sm.record_event(s, job_id, type_, actor=ACTOR, detail=detail))
