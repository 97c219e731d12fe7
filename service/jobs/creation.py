"""Creating a job: the checks, then the row with its audit event, then its message (see ``create_job``)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import psycopg
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from actors.broker import new_message_id
from actors.errors import OptionUnavailable
from actors.links import tracking_result
from actors.registry import JobKind, all_kinds, get_kind
from db import direct
from db import state_machine as sm
from db.base import utcnow
from db.live import LiveEvent
from db.models import Job
from db.statuses import JobStatus
from service.auth.principal import Principal
from service.errors import BadRequest, Conflict, ServiceUnavailable
from service.jobs.enqueue import publish
from service.jobs.params import validate_params
from service.jobs.schemas import CreateJobRequest, JobOut, job_out, new_job_out
from service.notifications.jobs import check_notify_param, send_message_to_user
from service.payments.checkout import create_checkout, require_stripe
from service.payments.quotes import price_of
from service.quota.rate_limit import enforce_rate_limit
from service.quota.service import enforce_quota
from service.resources import Resources


async def create_job(
    res: Resources,
    user: Principal,
    req: CreateJobRequest,
    *,
    job_id: uuid.UUID | None = None,
    with_files: bool = False,
) -> tuple[JobOut, bool]:
    """Create and enqueue a job; returns (the job, created). An existing idempotency key returns that job.

    ``job_id`` and ``with_files``: for a job whose files were already stored under that id
    (``service.uploads``).

    The common case (a free kind without quota, rate limit or idempotency key) is one statement on an
    autocommit connection and one Redis pipeline, shared with the jobs created at the same moment
    (``service.jobs.batching``): the row and its audit event are committed first, naming the message id chosen
    for it, and only then is the message sent, so a worker never gets a message whose job is not stored. If
    Redis fails, the row is deleted again and the caller gets 503; if this process dies in between, the
    sweeper finds the queued job without its message and sends it."""
    kind = get_kind(req.kind)
    if kind is None:
        known = sorted(all_kinds())
        raise BadRequest(
            f"Unknown job kind {req.kind!r}. Known kinds: {', '.join(known) or 'none'}.",
            code="unknown_kind",
            details={"known_kinds": known},
        )
    _check_files_sent(kind, with_files)
    parsed = validate_params(kind, req.params)
    params = msgspec.to_builtins(parsed)
    check_notify_param(params, allow_private=res.settings.notify.allow_private)
    if req.idempotency_key is not None:
        existing = await _by_idempotency_key(res, user, req, params)
        if existing is not None:
            return existing, False
    if kind.check_params is not None:
        _check_params(res, kind, parsed)
    queue = kind.queue_for_params(parsed, req.priority)
    # Paid-ness depends on the kind and its params (e.g. a paid lane); the price is
    # fixed here and stored, so the webhook compares Stripe's amount with it.
    quote = await price_of(res, kind, parsed)
    paid = quote is not None
    stripe_connection = require_stripe(res.stripe) if paid else None
    job_id = job_id or uuid.uuid4()
    now = utcnow()
    job = sm.NewJob(
        id=job_id,
        owner_id=user.id,
        kind=kind.name,
        params=params,
        status=(JobStatus.PENDING_PAYMENT if paid else JobStatus.QUEUED).value,
        priority=req.priority,
        queue=queue,
        title=kind.title(parsed) if kind.title else None,
        max_attempts=kind.max_retries + 1,
        idempotency_key=req.idempotency_key,
        created_at=now,
        queued_at=None if paid else now,
        message_id=None if paid else new_message_id(),
        payment=sm.NewPayment(amount_cents=quote.amount_cents, currency=quote.currency) if quote else None,
        # Shown by the creation answer, GET and the first SSE event alike, before any worker ran.
        result=tracking_result(res.settings.public_url, job_id) if kind.tracked else None,
    )
    actor = f"user:{user.id}"

    async def checkout() -> None:
        # Before the row and after the checks: if Stripe fails, nothing is stored (its idempotency key is the
        # job id), and a refused job never gets a payment page.
        if stripe_connection is not None and quote is not None:
            await create_checkout(stripe_connection, res.settings, job, quote, user)

    try:
        if _needs_checks(kind, user):
            async with res.sessions() as session, session.begin():
                if kind.counts_toward_quota:
                    await enforce_quota(session, res.settings, user)
                await enforce_rate_limit(session, user, kind, res.kind_settings.get(kind.name))
                await checkout()
                events = await sm.create_async(await session.connection(), job, actor=actor)
        elif paid or req.idempotency_key is not None:
            await checkout()
            async with direct.connection(res.direct) as conn:
                events = await sm.create_direct(conn, job, actor=actor)
        else:
            # The common case: stored and sent together with the jobs created at the same moment.
            await res.creations.create(kind, job, actor)
            events = None
    except (IntegrityError, psycopg.errors.UniqueViolation):
        # Lost a race with the same idempotency key: return the winner.
        existing = await _by_idempotency_key(res, user, req, params)
        if existing is None:
            raise
        return existing, False
    await _announce(res, kind, job, events)
    await send_message_to_user(res, job.id, params)
    return new_job_out(job), True


async def _announce(res: Resources, kind: JobKind, job: sm.NewJob, events: list[LiveEvent] | None) -> None:
    """After the commit: a queued job's message and first event, or a paid job's first event (``None``: the
    batcher sent them already)."""
    if events is None:
        return
    if job.status == JobStatus.PENDING_PAYMENT.value:
        await publish(res, events)
    else:
        await res.creations.send([(kind, job)], events)


def _needs_checks(kind: JobKind, user: Principal) -> bool:
    """Whether creating a job of ``kind`` checks the user's quota or rate limit (in a locked transaction)."""
    if user.is_admin:
        return False
    return kind.counts_toward_quota or kind.rate_limit is not None


def _check_params(res: Resources, kind: JobKind, parsed: Any) -> None:
    """The kind's own deployment checks (``JobKind.check_params``)."""
    assert kind.check_params is not None
    try:
        kind.check_params(parsed, res.kind_settings.get(kind.name))
    except OptionUnavailable as exc:
        raise ServiceUnavailable(
            str(exc), code="option_unavailable", details={"field": f"params.{exc.option}", "value": exc.value}
        ) from None
    except ValueError as exc:
        raise BadRequest(
            f"Invalid params for kind {kind.name!r}: {exc}",
            code="invalid_params",
            details=[{"field": "params", "message": str(exc)}],
        ) from None


def _check_files_sent(kind: JobKind, with_files: bool) -> None:
    """A kind that needs files cannot be created without them (from JSON)."""
    if not with_files and kind.uploads is not None and kind.uploads.required:
        raise BadRequest(
            f"Job kind {kind.name!r} takes files: send it as multipart/form-data with the part(s) "
            f"{', '.join(kind.uploads.required)}.",
            code="files_required",
            details={"required": list(kind.uploads.required)},
        )


async def _by_idempotency_key(
    res: Resources, user: Principal, req: CreateJobRequest, params: dict[str, Any]
) -> JobOut | None:
    async with res.sessions() as session:
        job = await session.scalar(
            select(Job).where(Job.owner_id == user.id, Job.idempotency_key == req.idempotency_key)
        )
    if job is None:
        return None
    if job.kind != req.kind or job.params != params:
        raise Conflict(
            f"idempotency_key {req.idempotency_key!r} was already used for a different job (id {job.id}).",
            code="idempotency_key_reused",
            details={"job_id": str(job.id)},
        )
    return job_out(job)
