"""Payment metrics (``db.observe.catalog``): checkouts created, outcomes of verified webhooks with their
amounts, the time from checkout to a verified payment, and webhooks refused before handling."""

from __future__ import annotations

from datetime import UTC, datetime

from actors.payments.stripe_client import CheckoutFacts
from db.models import Job
from db.observe import catalog
from db.observe.recorder import inc, observe
from db.state_machine import NewJob


def checkout_created(job: Job | NewJob) -> None:
    inc(catalog.CHECKOUTS_CREATED, job.kind)


def payment_outcome(outcome: str, facts: CheckoutFacts | None) -> None:
    """``paid``, ``expired``, ``cancelled`` or ``refunded``, with its amount when the session says it."""
    inc(catalog.PAYMENTS, outcome)
    if facts is not None and facts.amount_total is not None:
        inc(catalog.PAYMENT_AMOUNT, outcome, (facts.currency or "").lower(), amount=float(facts.amount_total))


def paid(job: Job, facts: CheckoutFacts) -> None:
    """A verified payment that starts its job; its checkout was created with the job."""
    payment_outcome("paid", facts)
    observe(catalog.CHECKOUT_TO_WEBHOOK, (datetime.now(UTC) - job.created_at).total_seconds())


def webhook_refused(reason: str) -> None:
    inc(catalog.WEBHOOK_FAILURES, reason)
