"""Scheduler passes that close the gaps between Stripe and our jobs.

* ``pending_payment`` jobs past their session's expiry are looked up in Stripe: a paid session (its
  webhook was lost) starts the job after the same checks as the webhook; an open one is expired in Stripe
  first; anything else expires the job.
* paid jobs that ended ``failed`` / ``timed_out`` without a refund (the refund message was lost, or its
  retries ran out) are refunded (idempotency key ``refund-<job id>``: never twice).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import stripe
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from actors.broker import send_job
from actors.payments.refund import REFUNDABLE, refund_job
from actors.payments.stripe_client import StripeConnection, checkout_facts
from actors.registry import get_kind
from db import state_machine as sm
from db.live import LiveEvent, LivePublisher
from db.models import Job
from db.statuses import JobStatus
from service.payments.activation import check_session, lock_for_update, mark_paid, session_detail

log = logging.getLogger("genjobs.reconcile")
ACTOR = "scheduler:reconcile"
BATCH = 100


@dataclass
class ReconcileReport:
    started: list[uuid.UUID] = field(default_factory=list)
    expired: list[uuid.UUID] = field(default_factory=list)
    refunded: list[uuid.UUID] = field(default_factory=list)


@dataclass
class PaymentReconciler:
    sessions: sessionmaker[Session]
    broker: RedisBroker
    publisher: LivePublisher
    connection: StripeConnection
    # Leave a failed job's refund to its actor for this long before the scheduler does it.
    refund_grace_seconds: float = 60.0

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        self._settle_expired_checkouts(report)
        self._refund_missing(report)
        if report.started or report.expired or report.refunded:
            log.info(
                "payments: started %d, expired %d, refunded %d",
                len(report.started),
                len(report.expired),
                len(report.refunded),
            )
        return report

    def _settle_expired_checkouts(self, report: ReconcileReport) -> None:
        with self.sessions() as session:
            rows = session.execute(
                select(Job.id, Job.payment_session_id)
                .where(Job.status == JobStatus.PENDING_PAYMENT.value, Job.payment_expires_at < func.now())
                .order_by(Job.payment_expires_at)
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
            if facts is not None and facts.payment_status == "paid":
                detail = session_detail(facts, reason="paid; its webhook was not received")
                mismatch = check_session(job, facts)
                kind = get_kind(job.kind)
                if mismatch is not None or kind is None:
                    why = mismatch.message if mismatch else f"unknown kind {job.kind}"
                    sm.record_event(session, job_id, "payment_rejected", actor=ACTOR, detail={**detail, "why": why})
                    # Push the next look back, so a rejected job is not looked up again on every pass.
                    session.execute(
                        update(Job).where(Job.id == job_id).values(payment_expires_at=func.now() + timedelta(days=1))
                    )
                    return
                message_id = send_job(self.broker, kind, job_id, job.queue)
                changed = mark_paid(
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
                session.execute(update(Job).where(Job.id == job_id).values(payment_status="expired"))
                if changed is not None:
                    events = changed.events
                    report.expired.append(job_id)
        self.publisher.publish(events)

    def _refund_missing(self, report: ReconcileReport) -> None:
        with self.sessions() as session:
            rows = session.scalars(
                select(Job.id)
                .where(
                    Job.status.in_(list(REFUNDABLE)),
                    Job.payment_status == "paid",
                    Job.refund_id.is_(None),
                    Job.refund_status.is_(None),
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
