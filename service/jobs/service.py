"""What the jobs endpoints do for existing jobs (read, list, cancel, delete, retry, history); handlers stay
thin and call one function here. Creating a job is ``service.jobs.creation``."""

from __future__ import annotations

import functools
import logging
import math
import types
import uuid
from typing import Any, cast

import redis
from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    Uuid,
    any_,
    bindparam,
    func,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from actors.links import tracking_result
from actors.registry import get_kind
from db import direct
from db import state_machine as sm
from db.direct import DirectStatement
from db.live import Deleted, LiveEvent, cancel_flag_key
from db.locks import lock_job
from db.models import Job, JobEvent, JobLog, Payment
from db.statuses import ACTIVE, RETRYABLE_BY_USER, JobStatus
from service.auth.principal import Principal
from service.errors import Conflict, NotFound, dependency_down
from service.jobs.enqueue import publish, send_message
from service.jobs.schemas import HistoryEntry, JobOut, JobPage, job_out
from service.jobs.snapshot import add_snapshot_fields
from service.payments.checkout import expire_checkout
from service.resources import Resources

log = logging.getLogger("genjobs.jobs")
CANCEL_FLAG_TTL_SECONDS = 86_400


def visible_to(user: Principal) -> list[ColumnElement[bool]]:
    """Rows a caller may see: their own (admins: all), never deleted ones."""
    return _visibility(None if user.is_admin else user.id)


def _visibility(owner: uuid.UUID | BindParameter[uuid.UUID] | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Job.deleted_at.is_(None)]
    if owner is not None:
        conditions.append(Job.owner_id == owner)
    return conditions


# A paid job's payment, read with the job under these labels.
_PAYMENT_LABELS = {f"payment_{c.key}": c for c in Payment.__table__.columns}
# A job's last log lines, read with it for its snapshot under this label.
_LOG_LINES = "log_lines"
# The number of jobs a listing matches, read with each of its rows under this label.
_TOTAL = "total_matching"


@functools.cache
def _visible_job(admin: bool, whole: bool) -> DirectStatement:
    if not whole:
        return DirectStatement(select(Job.id).where(*_one_job(admin)))
    return DirectStatement(_with_payment().where(*_one_job(admin)))


def _one_job(admin: bool) -> list[ColumnElement[bool]]:
    """The conditions of a read of one job (``job_id``) that the caller (``owner_id`` unless admin) may see."""
    return [Job.id == bindparam("job_id", type_=Uuid()), *_visible_to_caller(admin)]


def _visible_to_caller(admin: bool) -> list[ColumnElement[bool]]:
    """``visible_to`` in a compiled statement: every job for an admin, else the ``owner_id`` parameter's."""
    return _visibility(None if admin else bindparam("owner_id", type_=Uuid()))


def _with_payment(*columns: Any) -> Select[Any]:
    """The jobs' columns, their payment's (labelled ``payment_*``) and ``columns``: rows for ``_job_like``."""
    payment = [column.label(label) for label, column in _PAYMENT_LABELS.items()]
    return select(*Job.__table__.columns, *payment, *columns).outerjoin(Payment, Payment.job_id == Job.id)


async def own_jobs(res: Resources, user: Principal, job_ids: list[uuid.UUID] | None, *, limit: int) -> list[Job]:
    """The caller's own jobs (admins' too: only their own), newest first, at most ``limit``: those of ``job_ids``,
    or all active ones; read like ``visible_job`` (one direct statement, payments joined)."""
    values: dict[str, Any] = {"owner_id": user.id}
    if job_ids is not None:
        values["job_ids"] = job_ids
    async with direct.connection(res.direct) as conn:
        rows = await _own_jobs(job_ids is not None, limit).fetch_all_named(conn, values)
    return [_job_like(row) for row in rows]


@functools.cache
def _own_jobs(named: bool, limit: int) -> DirectStatement:
    where = _visible_to_caller(admin=False)
    if named:
        where.append(Job.id == any_(bindparam("job_ids", type_=ARRAY(Uuid()))))
    else:
        where.append(Job.status.in_(sorted(s.value for s in ACTIVE)))
    return DirectStatement(_with_payment().where(*where).order_by(Job.created_at.desc()).limit(limit))


def _job_like(row: Any) -> Job:
    """A row of ``_visible_job(whole=True)`` (or ``_job_snapshot``) read like a Job (with its ``payment``) by
    ``job_out``."""
    values = row._asdict()
    values.pop(_LOG_LINES, None)
    values.pop(_TOTAL, None)
    paid = {label.removeprefix("payment_"): values.pop(label) for label in _PAYMENT_LABELS}
    payment = types.SimpleNamespace(**paid) if paid["id"] is not None else None
    return cast(Job, types.SimpleNamespace(**values, payment=payment))


async def visible_job(res: Resources, user: Principal, job_id: uuid.UUID, *, whole: bool = True) -> Job:
    """The caller's job as a row of the ``jobs`` table's columns, read with one indexed lookup on a direct
    connection (``db.direct``) instead of an ORM load: the hot paths (opening an SSE stream) that only read
    its columns and its payment's. ``whole=False``: only check that it exists (the row then has ``id`` only).

    Raises:
        NotFound: no such job for this caller."""
    values = {"job_id": job_id} if user.is_admin else {"job_id": job_id, "owner_id": user.id}
    async with direct.connection(res.direct) as conn:
        row = await _visible_job(user.is_admin, whole).fetch_named(conn, values)
    if row is None:
        raise NotFound(f"No job {job_id}.", code="job_not_found")
    # Read like a Job by everything that only reads its columns (``job_out``).
    return _job_like(row) if whole else cast(Job, row)


async def get_job_row(session: AsyncSession, user: Principal, job_id: uuid.UUID, *, for_update: bool = False) -> Job:
    stmt = select(Job).where(Job.id == job_id, *visible_to(user))
    job = await session.scalar(stmt.with_for_update() if for_update else stmt)
    if job is None:
        raise NotFound(f"No job {job_id}.", code="job_not_found")
    return job


async def get_job(res: Resources, user: Principal, job_id: uuid.UUID) -> JobOut:
    """The job's snapshot (``GET /api/jobs/{id}``, what clients and agents poll): the job, its payment and its
    programs' last log lines in one direct statement; a session only for what a failed job or its kind adds.

    Raises:
        NotFound: no such job for this caller."""
    values = {"job_id": job_id} if user.is_admin else {"job_id": job_id, "owner_id": user.id}
    async with direct.connection(res.direct) as conn:
        row = await _job_snapshot(user.is_admin).fetch_named(conn, values)
    if row is None:
        raise NotFound(f"No job {job_id}.", code="job_not_found")
    job = _job_like(row)
    out = job_out(job)
    await add_snapshot_fields(res.sessions, job, out, row.log_lines)
    return out


@functools.cache
def _job_snapshot(admin: bool) -> DirectStatement:
    joined = _with_payment(JobLog.lines.label(_LOG_LINES)).outerjoin(JobLog, JobLog.job_id == Job.id)
    return DirectStatement(joined.where(*_one_job(admin)))


async def list_jobs(
    res: Resources, user: Principal, *, page: int, per_page: int, status: str | None, kind: str | None
) -> JobPage:
    """A page of the caller's jobs (all jobs for an admin), newest first: the page, its payments and the number
    of matching jobs in one direct statement."""
    values: dict[str, Any] = {"offset": (page - 1) * per_page, "limit": per_page}
    if not user.is_admin:
        values["owner_id"] = user.id
    if status:
        values["status"] = status
    if kind:
        values["kind"] = kind
    shape = (user.is_admin, bool(status), bool(kind))
    async with direct.connection(res.direct) as conn:
        rows = await _job_list(*shape).fetch_all_named(conn, values)
    # One row per job of the page, each with the total; a page past the last is one row of the total alone.
    total = getattr(rows[0], _TOTAL)
    jobs = [job_out(_job_like(row)) for row in rows if row.id is not None]
    return JobPage(jobs, total, page, per_page, max(1, math.ceil(total / per_page)))


def _listed(admin: bool, by_status: bool, by_kind: bool) -> list[ColumnElement[bool]]:
    conditions = _visible_to_caller(admin)
    if by_status:
        conditions.append(Job.status == bindparam("status"))
    if by_kind:
        conditions.append(Job.kind == bindparam("kind"))
    return conditions


@functools.cache
def _job_list(admin: bool, by_status: bool, by_kind: bool) -> DirectStatement:
    # The count and the page planned apart (the page a top-N read in index order), joined in one statement.
    matching = _listed(admin, by_status, by_kind)
    total = select(func.count().label(_TOTAL)).select_from(Job).where(*matching).cte("total")
    page = (
        _with_payment()
        .where(*matching)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .offset(bindparam("offset", type_=Integer()))
        .limit(bindparam("limit", type_=Integer()))
        .cte("page")
    )
    joined = select(total.c[_TOTAL], *page.c).select_from(total.outerjoin(page, true()))
    return DirectStatement(joined.order_by(page.c.created_at.desc(), page.c.id.desc()))


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
    if job.status == JobStatus.PENDING_PAYMENT and job.payment is not None and job.payment.session_id:
        # Close the payment page first: a cancelled job must not be payable any more.
        await expire_checkout(res.stripe, job.payment.session_id)
        await session.execute(sm.payments.closed(job.id, "cancelled"))
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
        if job.payment is not None:
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
