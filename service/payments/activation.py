"""Starting a paid job: check a Checkout Session against the job, then queue and enqueue it in one step.

Used by the webhook and the admin start; the checks themselves (shared with the scheduler's reconciliation)
are in ``actors.payments.activation``. The job's advisory lock is held while the message is sent and the
transaction commits (as when a job is created): a worker that gets the message first waits for the row.
"""

from __future__ import annotations

from typing import Any

import anyio
import redis
from sqlalchemy.ext.asyncio import AsyncSession

from actors.broker import send_job
from actors.payments.stripe_client import CheckoutFacts
from actors.registry import get_kind
from db import state_machine as sm
from db.live import LiveEvent
from db.models import Job
from service.errors import ServiceUnavailable
from service.resources import Resources


async def start_paid_job(
    res: Resources, session: AsyncSession, job: Job, facts: CheckoutFacts, *, actor: str, detail: dict[str, Any]
) -> list[LiveEvent]:
    """Send the job's message and move it to queued; the caller holds the lock and commits."""
    kind = get_kind(job.kind)
    message_id = None
    if kind is not None:
        try:
            message_id = await anyio.to_thread.run_sync(send_job, res.broker, kind, job.id, job.queue)
        except redis.RedisError:
            raise ServiceUnavailable(
                "The job queue (Redis) is unavailable; the payment is kept and will be applied on retry.",
                details={"component": "redis"},
            ) from None
    # Without a message (unknown kind) the sweeper reports it; the payment is still recorded as taken.
    changed = await session.run_sync(
        sm.mark_paid, job.id, actor=actor, message_id=message_id, detail=detail, payment_intent=facts.payment_intent
    )
    return changed.events if changed is not None else []
