"""Scheduler passes that close the gaps between Stripe and our jobs.

* ``pending_payment`` jobs past their session's expiry are looked up in Stripe: a paid session (its
  webhook was lost) starts the job after the same checks as the webhook; an open one is expired in Stripe
  first; a complete one whose payment is still processing (bank debits: ``async_payment_succeeded`` or
  ``_failed`` comes later) is left waiting and looked at again later; anything else expires the job.
* paid jobs owed a refund (ended ``failed`` / ``timed_out``, or paid after being closed) without one (the
  refund message was lost, or its retries ran out) are refunded (idempotency key ``refund-<job id>``: never
  twice).
* refunds Stripe answered ``pending`` / ``requires_action`` are re-read (at most once per grace period each),
  so their final status reaches the job even when the ``refund.updated`` webhook is lost.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import stripe
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from actors.broker import send_job
from actors.payments.activation import check_session, lock_for_update, session_detail
from actors.payments.refund import refund_job
from actors.payments.refund_status import UNSETTLED_REFUND, apply_refund_status, owes_refund_clause
from actors.payments.stripe_client import StripeConnection, checkout_facts
from actors.registry import get_kind
from db import state_machine as sm
from db.live import LiveEvent, LivePublisher
from db.models import Job, Payment
from db.statuses import JobStatus

log = logging.getLogger("genjobs.reconcile")
ACTOR = "scheduler:reconcile"
BATCH = 100
# A session paid by a method that settles later (e.g. a bank debit) is looked at again after this long.
PROCESSING_RECHECK = timedelta(hours=1)


@dataclass
class ReconcileReport:
    started: list[uuid.UUID] = field(default_factory=list)
    expired: list[uuid.UUID] = field(default_factory=list)
    refunded: list[uuid.UUID] = field(default_factory=list)
    refund_updates: list[uuid.UUID] = field(default_factory=list)


@dataclass
class PaymentReconciler:
    sessions: sessionmaker[Session]
    broker: RedisBroker
    publisher: LivePublisher
    connection: StripeConnection
    # Leave a failed job's refund to its actor for this long before the scheduler does it.
    refund_grace_seconds: float = 60.0
    # When each unsettled refund was last re-read (losing this on a restart costs one early look).
    _refund_checked: dict[uuid.UUID, float] = field(default_factory=dict)

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        self._settle_expired_checkouts(report)
        self._refund_missing(report)
        self._refresh_unsettled_refunds(report)
        if report.started or report.expired or report.refunded or report.refund_updates:
            log.info(
                "payments: started %d, expired %d, refunded %d, refund statuses updated %d",
                len(report.started),
                len(report.expired),
                len(report.refunded),
                len(report.refund_updates),
            )
        return report

    def _settle_expired_checkouts(self, report: ReconcileReport) -> None:
        with self.sessions() as session:
            rows = session.execute(
                select(Job.id, Payment.session_id)
                .join(Payment, Payment.job_id == Job.id)
                .where(Job.status == JobStatus.PENDING_PAYMENT.value, Payment.expires_at < func.now())
                .order_by(Payment.expires_at)
                .limit(BATCH)
            ).all()
        for job_id, session_id in rows:
            try:
                self._settle(job_id, session_id, report)
            except stripe.StripeError as exc:
                log.warning("could not look up the checkout of job %s: %s", job_id, type(exc).__name__)

    def _settle(self, job_id: uuid.UUID, session_id: str | None, report: ReconcileReport) -> None:
        client = self.connection.client
        facts = checkout_facts(client.v1.checkout.sessions.retrieve(session_id)) if session_id else None
        if facts is not None and facts.status == "open":
            # Our expiry passed but Stripe's has not (clocks): close it so it can no longer be paid, then look again.
            try:
                facts = checkout_facts(client.v1.checkout.sessions.expire(facts.id))
            except stripe.InvalidRequestError:
                facts = checkout_facts(client.v1.checkout.sessions.retrieve(facts.id))
        events: list[LiveEvent] = []
        with self.sessions.begin() as session:
            job = lock_for_update(session, job_id)
            if job is None or job.status != JobStatus.PENDING_PAYMENT:
                return
            if facts is not None and facts.status == "complete" and facts.payment_status != "paid":
                # Paid by a method that settles later: expiring the job now would keep the money of a job
                # that never runs. Its async_payment_succeeded / _failed webhook (or a later look) decides.
                sm.record_event(session, job_id, "payment_processing", actor=ACTOR, detail=session_detail(facts))
                session.execute(sm.payments.look_again_at(job_id, func.now() + PROCESSING_RECHECK))
                return
            if facts is not None and facts.payment_status == "paid":
                detail = session_detail(facts, reason="paid; its webhook was not received")
                mismatch = check_session(job, facts)
                kind = get_kind(job.kind)
                if mismatch is not None or kind is None:
                    why = mismatch.message if mismatch else f"unknown kind {job.kind}"
                    sm.record_event(session, job_id, "payment_rejected", actor=ACTOR, detail={**detail, "why": why})
                    # Push the next look back, so a rejected job is not looked up again on every pass.
                    session.execute(sm.payments.look_again_at(job_id, func.now() + timedelta(days=1)))
                    return
                message_id = send_job(self.broker, kind, job_id, job.queue)
                changed = sm.mark_paid(
                    session,
                    job_id,
                    actor=ACTOR,
                    message_id=message_id,
                    detail=detail,
                    payment_intent=facts.payment_intent,
                )
                if changed is not None:
                    events = changed.events
                    report.started.append(job_id)
            else:
                changed = sm.expire(session, job_id, actor=ACTOR, reason="checkout session expired unpaid")
                session.execute(sm.payments.closed(job_id, "expired"))
                if changed is not None:
                    events = changed.events
                    report.expired.append(job_id)
        self.publisher.publish(events)

    def _refund_missing(self, report: ReconcileReport) -> None:
        with self.sessions() as session:
            rows = session.scalars(
                select(Job.id)
                .join(Payment, Payment.job_id == Job.id)
                .where(
                    owes_refund_clause(),
                    Payment.refund_id.is_(None),
                    Payment.refund_status.is_(None),
                    Job.finished_at < func.now() - timedelta(seconds=self.refund_grace_seconds),
                )
                .limit(BATCH)
            ).all()
        for job_id in rows:
            try:
                outcome = refund_job(self.sessions, self.connection.client, job_id, actor=ACTOR)
            except stripe.StripeError as exc:
                log.warning("could not refund job %s: %s", job_id, type(exc).__name__)
                continue
            if outcome == "refunded":
                report.refunded.append(job_id)

    def _refresh_unsettled_refunds(self, report: ReconcileReport) -> None:
        with self.sessions() as session:
            rows = session.execute(
                select(Job.id, Payment.refund_id)
                .join(Payment, Payment.job_id == Job.id)
                .where(Payment.refund_id.is_not(None), Payment.refund_status.in_(list(UNSETTLED_REFUND)))
                .order_by(Job.finished_at)
                .limit(BATCH)
            ).all()
        now = time.monotonic()
        unsettled = {job_id for job_id, _ in rows}
        for job_id in list(self._refund_checked):
            if job_id not in unsettled:
                del self._refund_checked[job_id]
        for job_id, refund_id in rows:
            if refund_id is None or now - self._refund_checked.get(job_id, -math.inf) < self.refund_grace_seconds:
                continue
            self._refund_checked[job_id] = now
            try:
                refund = self.connection.client.v1.refunds.retrieve(refund_id).to_dict()
            except stripe.StripeError as exc:
                log.warning("could not look up refund %s of job %s: %s", refund_id, job_id, type(exc).__name__)
                continue
            with self.sessions.begin() as session:
                updated, outcome = apply_refund_status(session, refund, actor=ACTOR, source="stripe")
            if updated is not None and outcome.startswith("refund:"):
                report.refund_updates.append(updated)
