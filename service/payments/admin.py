"""Admin actions on payments: start a paid job by hand once Stripe confirms its session is paid."""

from __future__ import annotations

from typing import Any

import stripe
from sqlalchemy import select

from actors.payments.activation import check_session, session_detail
from actors.payments.stripe_client import checkout_facts
from db import state_machine as sm
from db.locks import lock_job
from db.models import Job, Payment
from service.auth.admin import require_admin
from service.auth.principal import Principal
from service.errors import Conflict, NotFound
from service.jobs.enqueue import publish
from service.jobs.schemas import JobOut, job_out
from service.payments.activation import start_paid_job
from service.payments.checkout import _stripe_unavailable, require_stripe
from service.resources import Resources


async def start_by_admin(res: Resources, user: Principal, session_id: str) -> JobOut:
    """Check in Stripe that ``session_id`` is paid, then queue and enqueue its job (recorded in its history)."""
    require_admin(user)
    connection = require_stripe(res.stripe)
    try:
        session_obj: Any = await connection.client.v1.checkout.sessions.retrieve_async(session_id)
    except stripe.InvalidRequestError:
        raise NotFound(f"Stripe has no Checkout Session {session_id}.", code="session_not_found") from None
    except stripe.StripeError as exc:
        raise _stripe_unavailable(exc, "looking up the session") from None
    facts = checkout_facts(session_obj)
    actor = f"admin:{user.id}"
    async with res.sessions() as session, session.begin():
        job_id = await session.scalar(select(Payment.job_id).where(Payment.session_id == session_id))
        if job_id is None:
            raise NotFound(f"No job was created with Checkout Session {session_id}.", code="job_not_found")
        await session.run_sync(lock_job, job_id)
        job = await session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        assert job is not None
        detail = session_detail(facts, reason="started by an admin")
        # The admin is the human check: the owner's metadata need not match, everything else must.
        mismatch = check_session(job, facts, require_owner=False)
        if mismatch is not None:
            await session.run_sync(
                lambda s: sm.record_event(
                    s, job_id, "admin_start_refused", actor=actor, detail={**detail, "why": mismatch.message}
                )
            )
            refused = Conflict(
                f"Job {job_id} was not started: {mismatch.message}.",
                code=mismatch.code,
                details={"job_id": str(job_id), "status": job.status},
            )
        else:
            refused = None
            events = await start_paid_job(res, session, job, facts, actor=actor, detail=detail)
    if refused is not None:
        raise refused
    await publish(res, events)
    async with res.sessions() as session:
        started = await session.get(Job, job_id)
        assert started is not None
        return job_out(started)
