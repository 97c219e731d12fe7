"""What the jobs endpoints do; handlers stay thin and call one function here.

Creating a job is one transaction: take the job's advisory lock, insert the row and its first event,
enqueue the message, commit. A worker that receives the message early waits on the lock, so it never
misses the row; if Redis is down nothing is committed and the caller gets 503.
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import Any

import anyio
import msgspec
import redis
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actors.broker import job_message, new_message_id, send_job
from actors.errors import OptionUnavailable
from actors.links import tracking_result
from actors.registry import JobKind, all_kinds, get_kind, resolve
from db import state_machine as sm
from db.base import utcnow
from db.live import Deleted, LiveEvent, cancel_flag_key
from db.locks import lock_job
from db.models import Job, JobEvent
from db.statuses import ACTIVE, RETRYABLE_BY_USER, JobStatus
from service.auth.principal import Principal
from service.errors import BadRequest, Conflict, NotFound, ServiceUnavailable, dependency_down
from service.jobs.params import validate_params
from service.jobs.schemas import CreateJobRequest, HistoryEntry, JobOut, JobPage, job_out, new_job_out
from service.notifications.jobs import check_notify_param, send_message_to_user
from service.payments.checkout import create_checkout, expire_checkout, require_stripe
from service.payments.quotes import price_of
from service.quota.rate_limit import enforce_rate_limit
from service.quota.service import enforce_quota
from service.resources import Resources

log = logging.getLogger("genjobs.jobs")
CANCEL_FLAG_TTL_SECONDS = 86_400


def visible_to(user: Principal) -> list[ColumnElement[bool]]:
    """Rows a caller may see: their own (admins: all), never deleted ones."""
    conditions: list[ColumnElement[bool]] = [Job.deleted_at.is_(None)]
    if not user.is_admin:
        conditions.append(Job.owner_id == user.id)
    return conditions


async def publish(res: Resources, events: list[LiveEvent]) -> None:
    # Postgres already holds the change; live subscribers recover from a lost event by reconnecting.
    try:
        await res.publisher.publish(events)
    except redis.RedisError:
        log.warning("could not publish %d live event(s): Redis unavailable", len(events))


async def send_message(res: Resources, kind_name: str, job_id: uuid.UUID, queue: str) -> str:
    """Send the message that runs a job (inside the caller's transaction, under the job's lock); 503 without Redis."""
    kind = get_kind(kind_name)
    if kind is None:
        raise BadRequest(f"Job kind {kind_name!r} is no longer available.", code="unknown_kind")
    try:
        return await anyio.to_thread.run_sync(send_job, res.broker, kind, job_id, queue)
    except redis.RedisError as exc:
        raise dependency_down(
            "redis",
            "The job queue (Redis) is unavailable, so the job was not created; please try again shortly.",
            type(exc).__name__,
        ) from None


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

    The common case (a free kind without quota or rate limit) is one statement on an autocommit connection
    and one Redis pipeline: the row and its audit event are committed first, naming the message id chosen
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
        amount_cents=quote.amount_cents if quote else None,
        currency=quote.currency if quote else None,
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
        else:
            await checkout()
            async with res.engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                events = await sm.create_async(autocommit, job, actor=actor)
    except IntegrityError:
        # Lost a race with the same idempotency key: return the winner.
        existing = await _by_idempotency_key(res, user, req, params)
        if existing is None:
            raise
        return existing, False
    if paid:
        await publish(res, events)
    else:
        await _send_new_job(res, kind, job, events)
    await send_message_to_user(res, job.id, params)
    return new_job_out(job), True


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


async def _send_new_job(res: Resources, kind: JobKind, job: sm.NewJob, events: list[LiveEvent]) -> None:
    """Send a committed job's message and first event; without Redis, un-create the job and answer 503."""
    message = job_message(kind, job.id, job.queue, message_id=job.message_id)
    try:
        await res.sender.send(message, events)
    except redis.RedisError as exc:
        # Nothing half-stored: the row (and, by cascade, its event) goes again. Were this to fail too, the
        # sweeper would send the job's message once Redis is back.
        async with res.engine.begin() as conn:
            await conn.execute(delete(Job).where(Job.id == job.id, Job.status == JobStatus.QUEUED.value))
        raise dependency_down(
            "redis",
            "The job queue (Redis) is unavailable, so the job was not created; please try again shortly.",
            type(exc).__name__,
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


async def get_job_row(session: AsyncSession, user: Principal, job_id: uuid.UUID, *, for_update: bool = False) -> Job:
    stmt = select(Job).where(Job.id == job_id, *visible_to(user))
    job = await session.scalar(stmt.with_for_update() if for_update else stmt)
    if job is None:
        raise NotFound(f"No job {job_id}.", code="job_not_found")
    return job


async def get_job(res: Resources, user: Principal, job_id: uuid.UUID) -> JobOut:
    async with res.sessions() as session:
        row = await get_job_row(session, user, job_id)
        out = job_out(row)
        kind = get_kind(row.kind)
        if kind is not None and kind.details is not None:
            out.details = await resolve(kind.details)(session, row)
        return out


async def list_jobs(
    res: Resources, user: Principal, *, page: int, per_page: int, status: str | None, kind: str | None
) -> JobPage:
    conditions = visible_to(user)
    if status:
        conditions.append(Job.status == status)
    if kind:
        conditions.append(Job.kind == kind)
    async with res.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(Job).where(*conditions)) or 0
        rows = (
            await session.scalars(
                select(Job)
                .where(*conditions)
                .order_by(Job.created_at.desc(), Job.id.desc())
                .offset((page - 1) * per_page)
                .limit(per_page)
            )
        ).all()
    return JobPage([job_out(j) for j in rows], total, page, per_page, max(1, math.ceil(total / per_page)))


async def delete_job(res: Resources, user: Principal, job_id: uuid.UUID) -> None:
    """Cancel the job if it is active, then hide it (soft delete: its history stays)."""
    async with res.sessions() as session, session.begin():
        job = await get_job_row(session, user, job_id)
        was_active = job.status in ACTIVE
        events = await cancel_row(res, session, user, job) if was_active else []
        # A deleted job frees its idempotency key: the same key may create a new job.
        await session.execute(update(Job).where(Job.id == job_id).values(deleted_at=func.now(), idempotency_key=None))
        await session.run_sync(sm.record_event, job_id, "deleted", actor=f"user:{user.id}")
        owner_id = job.owner_id
    if was_active:
        await set_cancel_flag(res, job_id)
    events.append(LiveEvent(owner_id, Deleted(job_id, deleted=True)))
    await publish(res, events)


async def cancel_row(res: Resources, session: AsyncSession, user: Principal, job: Job) -> list[LiveEvent]:
    """Cancel an active job in the caller's transaction (its payment page closed first); returns the live
    events to publish after commit. The caller sets the cancel flag after commit (``set_cancel_flag``)."""
    if job.status == JobStatus.PENDING_PAYMENT and job.payment_session_id:
        # Close the payment page first: a cancelled job must not be payable any more.
        await expire_checkout(res.stripe, job.payment_session_id)
        await session.execute(update(Job).where(Job.id == job.id).values(payment_status="cancelled"))
    changed = await session.run_sync(sm.cancel, job.id, actor=f"user:{user.id}", reason="cancelled by user")
    return changed.events if changed is not None else []


async def set_cancel_flag(res: Resources, job_id: uuid.UUID) -> None:
    # The running worker sees this within half a second; if Redis is down it still stops at its next
    # progress report, which finds the job no longer running in Postgres.
    try:
        await res.redis.set(cancel_flag_key(job_id), "1", ex=CANCEL_FLAG_TTL_SECONDS)
    except redis.RedisError:
        log.warning("could not set the cancel flag of job %s: Redis unavailable", job_id)


async def retry_job(res: Resources, user: Principal, job_id: uuid.UUID) -> JobOut:
    """failed | timed_out | cancelled -> queued, with a new message."""
    async with res.sessions() as session, session.begin():
        # The row lock makes a concurrent retry wait and then see the job already queued (409, no message).
        job = await get_job_row(session, user, job_id, for_update=True)
        if job.amount_cents is not None:
            # A paid run is not repeated for free (a failed one is refunded); the user starts a new job.
            raise Conflict(
                f"Job {job_id} was a paid job; start a new job instead of retrying it.",
                code="paid_job_not_retryable",
                details={"status": job.status},
            )
        if job.status not in RETRYABLE_BY_USER:
            raise Conflict(
                f"Job {job_id} is {job.status}; only failed, timed-out or cancelled jobs can be retried.",
                code="not_retryable",
                details={"status": job.status},
            )
        await session.run_sync(lock_job, job_id)
        try:
            await res.redis.delete(cancel_flag_key(job_id))
        except redis.RedisError:
            raise dependency_down("redis", "The job queue (Redis) is unavailable; please try again shortly.") from None
        message_id = await send_message(res, job.kind, job_id, job.queue)
        changed = await session.run_sync(sm.requeue, job_id, actor=f"user:{user.id}", message_id=message_id)
        if changed is None:
            raise Conflict(f"Job {job_id} changed while retrying; reload it.", code="not_retryable")
        kind = get_kind(job.kind)
        if kind is not None and kind.tracked:
            # The retry cleared the old result; the tracking URL stays from the first moment of the new run.
            initial = tracking_result(res.settings.public_url, job_id)
            await session.execute(update(Job).where(Job.id == job_id).values(result=initial))
        await session.refresh(job)
    await publish(res, changed.events)
    return job_out(job)


async def job_history(res: Resources, user: Principal, job_id: uuid.UUID) -> list[HistoryEntry]:
    async with res.sessions() as session:
        await get_job_row(session, user, job_id)
        rows = (await session.scalars(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id))).all()
    return [HistoryEntry(e.at, e.type, e.from_status, e.to_status, e.actor, e.detail) for e in rows]
