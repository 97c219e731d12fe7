"""``POST /api/webhooks/stripe``: verify, deduplicate and apply Stripe's Checkout events.

The signature is checked on the raw body with the SDK's helper (300 s tolerance by default); an event id
is stored in a unique row in the same transaction as its effect, so a redelivery finds the row and does
nothing, and a failure part-way rolls both back for Stripe to deliver again. Handled events:

* ``checkout.session.completed`` (paid) and ``checkout.session.async_payment_succeeded``: start the job
  (see ``service.payments.activation``); any mismatch is recorded on the job, which does not run;
* ``checkout.session.async_payment_failed`` and ``checkout.session.expired``: the job expires, unless it
  was already paid (an expiry arriving after the completion changes nothing);
* anything else: stored and ignored.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import msgspec
import stripe
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from actors.payments.stripe_client import CheckoutFacts, checkout_facts
from db import state_machine as sm
from db.live import LiveEvent
from db.locks import lock_job
from db.models import Job, StripeEvent
from db.statuses import JobStatus
from service.errors import BadRequest, ServiceUnavailable
from service.jobs.service import publish
from service.payments.activation import check_session, session_detail, start_paid_job
from service.resources import Resources

log = logging.getLogger("genjobs.webhook")
ACTOR = "stripe:webhook"
PAID_EVENTS = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
EXPIRY_EVENTS = frozenset({"checkout.session.async_payment_failed", "checkout.session.expired"})


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
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret, res.settings.stripe.webhook_tolerance_seconds)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise BadRequest(f"Invalid Stripe signature: {exc}", code="invalid_signature") from None
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
        if facts is None or job_id is None or event.type not in PAID_EVENTS | EXPIRY_EVENTS:
            outcome = "ignored"
        else:
            outcome, events = await _apply(res, session, event, facts, job_id)
        await session.execute(update(StripeEvent).where(StripeEvent.id == inserted).values(outcome=outcome[:128]))
    log.info("stripe event %s (%s) for job %s: %s", event.id, event.type, job_id, outcome)
    await publish(res, events)
    return WebhookOutcome(True, event.id, outcome)


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
        if mismatch is not None:
            await _record(
                session, job_id, "payment_rejected", {**detail, "reason": mismatch.code, "why": mismatch.message}
            )
            return f"rejected:{mismatch.code}", []
        return "queued", await start_paid_job(res, session, job, facts, actor=ACTOR, detail=detail)
    # An expiry or a failed async payment: only a job still waiting for payment expires.
    if job.status != JobStatus.PENDING_PAYMENT or job.payment_session_id != facts.id:
        await _record(session, job_id, "payment_event_ignored", {**detail, "reason": f"job is {job.status}"})
        return "ignored:not_pending", []
    reason = "payment failed" if event.type == "checkout.session.async_payment_failed" else "checkout session expired"
    changed = await session.run_sync(lambda s: sm.expire(s, job_id, actor=ACTOR, reason=reason))
    await session.execute(update(Job).where(Job.id == job_id).values(payment_status="expired"))
    await _record(session, job_id, "payment_expired", detail)
    return "expired", changed.events if changed is not None else []


async def _record(session: AsyncSession, job_id: uuid.UUID, type_: str, detail: dict[str, Any]) -> None:
    await session.run_sync(lambda s: sm.record_event(s, job_id, type_, actor=ACTOR, detail=detail))
