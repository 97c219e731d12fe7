"""Checkout Sessions of paid jobs: created with the job, expired when the job is cancelled while unpaid."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import stripe

from actors.payments.stripe_client import StripeConnection, checkout_facts
from db.state_machine import NewJob
from service.auth.principal import Principal
from service.errors import Conflict, ServiceUnavailable
from service.payments import observed
from service.payments.pricing import Quote
from service.settings import Settings

log = logging.getLogger("genjobs.payments")


def require_stripe(connection: StripeConnection | None) -> StripeConnection:
    """The connection, or 503 when this deployment has no Stripe key (nothing is stored)."""
    if connection is None:
        raise ServiceUnavailable(
            "Paid options are not available: payments are not configured on this server.",
            code="payments_not_configured",
        )
    return connection


def _stripe_unavailable(exc: stripe.StripeError, doing: str) -> ServiceUnavailable:
    # Stripe's message may name our account or request ids: log it, answer with its class only.
    log.warning("Stripe error while %s: %s %s", doing, type(exc).__name__, exc.user_message or "")
    return ServiceUnavailable(
        f"The payment provider could not be reached while {doing}; nothing was charged, please try again.",
        code="payment_provider_error",
        details={"reason": type(exc).__name__},
    )


async def create_checkout(
    connection: StripeConnection, settings: Settings, job: NewJob, quote: Quote, user: Principal
) -> None:
    """Create the job's Checkout Session and put its id, URL and expiry on ``job.payment`` (not yet stored)."""
    assert job.payment is not None, "a paid job is created with its payment"
    expires_at = int(time.time()) + settings.stripe.checkout_expiry_seconds
    metadata = {
        "job_id": str(job.id),
        "user_id": str(user.id),
        "kind": job.kind,
        "hostname": job.title or "",
        "url_count": str(quote.url_count),
    }
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": quote.currency,
                    "unit_amount": quote.amount_cents,
                    "product_data": {"name": _product_name(job, quote)},
                },
            }
        ],
        "client_reference_id": str(job.id),
        "customer_email": user.email,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "expires_at": expires_at,
        "success_url": f"{settings.public_url}/payment/success?job={job.id}",
        "cancel_url": f"{settings.public_url}/payment/cancel?job={job.id}",
    }
    try:
        session: Any = await connection.client.v1.checkout.sessions.create_async(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": f"checkout-{job.id}"},
        )
    except stripe.StripeError as exc:
        raise _stripe_unavailable(exc, "creating the payment page") from None
    facts = checkout_facts(session)
    job.payment.session_id = facts.id
    job.payment.url = facts.url
    job.payment.expires_at = datetime.fromtimestamp(facts.expires_at or expires_at, UTC)
    job.payment.status = "pending"
    observed.checkout_created(job)


def _product_name(job: NewJob, quote: Quote) -> str:
    what = job.title or job.kind
    option = f" ({quote.provider})" if quote.provider else ""
    pages = f", {quote.url_count} URLs" if quote.url_count else ""
    return f"{job.kind}{option}: {what}{pages}"[:250]


async def expire_checkout(connection: StripeConnection | None, session_id: str) -> None:
    """Expire an open Checkout Session so it can no longer be paid; 409 if it was paid meanwhile."""
    conn = require_stripe(connection)
    try:
        await conn.client.v1.checkout.sessions.expire_async(session_id)
    except stripe.InvalidRequestError:
        # Not open any more: expired already (fine) or complete (paid: the job is about to start).
        try:
            session: Any = await conn.client.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise _stripe_unavailable(exc, "cancelling the payment") from None
        if checkout_facts(session).status == "complete":
            raise Conflict(
                "This job has just been paid and will start shortly; cancel it once it is queued.",
                code="already_paid",
            ) from None
    except stripe.StripeError as exc:
        raise _stripe_unavailable(exc, "cancelling the payment") from None
