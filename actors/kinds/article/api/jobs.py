"""Starting an order's job: the platform's job row, message and (for a paid first job) Stripe Checkout.

Called inside the order's transaction, so the order, its job and its Checkout Session are stored together or
not at all. The job's payment, webhook activation and refund are the platform's (``service.payments``).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from actors.kinds.article.links import order_job_result
from actors.kinds.article.models import Order
from actors.registry import get_kind
from db import state_machine as sm
from db.base import utcnow
from db.live import LiveEvent
from db.locks import lock_job
from db.statuses import JobStatus
from service.auth.principal import Principal
from service.jobs.enqueue import send_message
from service.payments.checkout import create_checkout, require_stripe
from service.payments.pricing import BreakdownLine, Quote, display_amount
from service.resources import Resources


def order_quote(order: Order, kind: str, label: str) -> Quote:
    """The order's price as the platform's checkout takes it (one line: the domain's price)."""
    assert order.amount_cents is not None and order.currency is not None
    amount = order.amount_cents
    return Quote(
        amount_cents=amount,
        currency=order.currency,
        display=display_amount(amount, order.currency),
        breakdown=[BreakdownLine(label, 1, amount, amount)],
        kind=kind,
        provider=None,
        url_count=0,
    )


async def start_job(
    session: AsyncSession,
    res: Resources,
    user: Principal,
    order: Order,
    kind_name: str,
    params: dict[str, Any],
    *,
    title: str,
    quote: Quote | None = None,
) -> tuple[sm.NewJob, list[LiveEvent]]:
    """Insert the job (``pending_payment`` with its Checkout Session when ``quote``, else ``queued`` with its
    message) and make it the order's current job; the caller commits."""
    kind = get_kind(kind_name)
    assert kind is not None, f"kind {kind_name} is registered by actors.kinds.article"
    stripe_connection = require_stripe(res.stripe) if quote is not None else None
    queue = kind.queue_for("normal")
    job = sm.NewJob(
        id=uuid.uuid4(),
        owner_id=order.owner_id,
        kind=kind.name,
        params=params,
        status=(JobStatus.PENDING_PAYMENT if quote else JobStatus.QUEUED).value,
        priority="normal",
        queue=queue,
        title=title[:300],
        max_attempts=kind.max_retries + 1,
        created_at=utcnow(),
        queued_at=None if quote else utcnow(),
        payment=sm.NewPayment(amount_cents=quote.amount_cents, currency=quote.currency) if quote else None,
        # Notifications link to the order's page, not the job's, and speak of orders.
        result=order_job_result(res.settings.public_url, order.id),
    )
    if stripe_connection is not None and quote is not None:
        # Before the row, which stores the payment page; inside the order's transaction, so a Stripe failure
        # rolls back the order too (an unused Checkout Session expires by itself).
        await create_checkout(stripe_connection, res.settings, job, quote, user)
    await session.run_sync(lock_job, job.id)
    if quote is None:
        job.message_id = await send_message(res, kind.name, job.id, queue)
    events = await session.run_sync(sm.create, job, actor=f"{'admin' if user.is_admin else 'user'}:{user.id}")
    order.current_job_id = job.id
    if order.first_job_id is None:
        order.first_job_id = job.id
    return job, events
