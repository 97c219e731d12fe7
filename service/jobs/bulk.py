"""Cancel without deleting, and bulk cancel / retry.

``cancel_job`` is ``DELETE`` without the hiding: the job and its history stay visible (``cancel_row`` and the
cancel flag are shared with ``delete_job``). The bulk actions apply ``cancel_job`` or ``retry_job`` to each job
of a list of ids or of a filter (the caller's jobs; an admin's: anyone's), at most ``BULK_MAX`` per request,
each in its own transaction, and answer one outcome per job: one job that cannot be changed does not stop
the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import msgspec
from sqlalchemy import select

from db.models import Job
from db.statuses import ACTIVE, RETRYABLE_BY_USER, JobStatus
from service.auth.principal import Principal
from service.errors import BadRequest, Conflict, ServiceError
from service.jobs.enqueue import publish
from service.jobs.schemas import JobOut, job_out
from service.jobs.service import cancel_row, get_job_row, retry_job, set_cancel_flag, visible_to
from service.resources import Resources

BULK_MAX = 100
_STATUSES = [s.value for s in JobStatus]


class BulkFilter(msgspec.Struct, forbid_unknown_fields=True):
    status: str | None = None
    kind: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class BulkRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Either ``ids`` or ``filter``."""

    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=BULK_MAX)] | None = None
    filter: BulkFilter | None = None


class BulkOutcome(msgspec.Struct, omit_defaults=True):
    id: uuid.UUID
    # cancelled | retried | not_found | conflict | error
    outcome: Literal["cancelled", "retried", "not_found", "conflict", "error"]
    # The job's status after the action (absent when not found).
    status: str | None = None
    code: str | None = None
    message: str | None = None


class BulkResult(msgspec.Struct):
    results: list[BulkOutcome]
    # A filter matched more than ``BULK_MAX`` jobs: send the request again for the rest.
    more: bool


async def cancel_job(res: Resources, user: Principal, job_id: uuid.UUID) -> JobOut:
    """Cancel a pending, queued, running, retrying or waiting job; it stays visible with its history."""
    async with res.sessions() as session, session.begin():
        job = await get_job_row(session, user, job_id, for_update=True)
        if job.status not in ACTIVE:
            raise Conflict(
                f"Job {job_id} is {job.status}; only active jobs can be cancelled.",
                code="not_cancellable",
                details={"status": job.status},
            )
        events = await cancel_row(res, session, user, job)
        if not events:
            raise Conflict(f"Job {job_id} changed while cancelling; reload it.", code="not_cancellable")
        await session.refresh(job)
        out = job_out(job)
    await set_cancel_flag(res, job_id)
    await publish(res, events)
    return out


async def bulk_cancel(res: Resources, user: Principal, req: BulkRequest) -> BulkResult:
    ids, more = await _targets(res, user, req, default_statuses=ACTIVE)
    return BulkResult([await _apply(cancel_job, "cancelled", res, user, job_id) for job_id in ids], more)


async def bulk_retry(res: Resources, user: Principal, req: BulkRequest) -> BulkResult:
    ids, more = await _targets(res, user, req, default_statuses=RETRYABLE_BY_USER)
    return BulkResult([await _apply(retry_job, "retried", res, user, job_id) for job_id in ids], more)


async def _apply(
    action: Callable[[Resources, Principal, uuid.UUID], Awaitable[JobOut]],
    done: Literal["cancelled", "retried"],
    res: Resources,
    user: Principal,
    job_id: uuid.UUID,
) -> BulkOutcome:
    try:
        job = await action(res, user, job_id)
    except ServiceError as exc:
        outcome: Literal["not_found", "conflict", "error"] = (
            "not_found" if exc.status_code == 404 else "conflict" if exc.status_code == 409 else "error"
        )
        status = exc.details.get("status") if isinstance(exc.details, dict) else None
        return BulkOutcome(job_id, outcome, status, exc.code, exc.message)
    return BulkOutcome(job_id, done, job.status)


async def _targets(
    res: Resources, user: Principal, req: BulkRequest, *, default_statuses: frozenset[JobStatus]
) -> tuple[list[uuid.UUID], bool]:
    """The ids to act on (deduplicated, in the order given), and whether a filter matched more."""
    if (req.ids is None) == (req.filter is None):
        raise BadRequest("Give either ids or filter.", code="invalid_bulk_request")
    if req.ids is not None:
        return list(dict.fromkeys(req.ids)), False
    assert req.filter is not None
    conditions = visible_to(user)
    if req.filter.status is not None:
        if req.filter.status not in _STATUSES:
            raise BadRequest(
                f"Unknown status {req.filter.status!r}. Use one of: {', '.join(_STATUSES)}.",
                code="invalid_status",
                details={"field": "filter.status", "allowed": _STATUSES},
            )
        conditions.append(Job.status == req.filter.status)
    else:
        conditions.append(Job.status.in_([s.value for s in default_statuses]))
    if req.filter.kind is not None:
        conditions.append(Job.kind == req.filter.kind)
    async with res.sessions() as session:
        rows = (
            await session.scalars(
                select(Job.id).where(*conditions).order_by(Job.created_at, Job.id).limit(BULK_MAX + 1)
            )
        ).all()
    return list(rows[:BULK_MAX]), len(rows) > BULK_MAX
