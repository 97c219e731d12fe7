"""Fair scheduling between owners: at most N running jobs of a kind per owner, enforced at claim time.

Every claim of a limited kind takes the owner's advisory lock (per owner and kind) for the rest of its
transaction and counts the owner's running jobs of that kind; two workers claiming for one owner are thereby
serialised, so the limit holds across all workers. A job over the limit is **held**: ``held_since`` is set and
its message dropped, so it holds no worker thread and no broker slot. When a job of that owner leaves
``running`` the worker wakes the owner's oldest held jobs for the free slots (``release``: its message is sent
again); the scheduler's fairness pass does the same as a safety net (a worker that died, a job cancelled
through the API while it was queued).

Holding is not a status change: a held job stays ``queued`` (or ``retrying``) and keeps its place by
creation time.
"""

from __future__ import annotations

import uuid
import zlib

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import Job
from db.state_machine import record_event
from db.statuses import JobStatus

_WAITING_TO_RUN = (JobStatus.QUEUED.value, JobStatus.RETRYING.value)


def lock_owner(session: Session, owner_id: uuid.UUID, kind: str) -> None:
    """Serialise the claims and wake-ups of one owner's jobs of one kind until the transaction ends."""
    # Two-key form in its own space (1 is quotas); crc32 is stable across processes, unlike hash().
    key = zlib.crc32(f"{owner_id}:{kind}".encode()) - 2**31
    session.execute(select(func.pg_advisory_xact_lock(2, key)))


def running_count(session: Session, owner_id: uuid.UUID, kind: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.owner_id == owner_id, Job.kind == kind, Job.status == JobStatus.RUNNING.value)
        )
        or 0
    )


def owner_and_kind(session: Session, job_id: uuid.UUID) -> tuple[uuid.UUID, str] | None:
    row = session.execute(select(Job.owner_id, Job.kind).where(Job.id == job_id)).one_or_none()
    return (row[0], row[1]) if row is not None else None


def admit(session: Session, job_id: uuid.UUID, *, limit: int) -> bool:
    """Whether the job may be claimed now under its owner's limit (0 = unlimited); holds it when not.

    Call inside the claim's transaction, before the claim: the owner's lock is held until it commits."""
    if limit <= 0:
        return True
    head = owner_and_kind(session, job_id)
    if head is None:
        return True  # no such job: the claim finds nothing either
    owner_id, kind = head
    lock_owner(session, owner_id, kind)
    if running_count(session, owner_id, kind) < limit:
        session.execute(update(Job).where(Job.id == job_id, Job.held_since.is_not(None)).values(held_since=None))
        return True
    held = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(_WAITING_TO_RUN), Job.held_since.is_(None), Job.deleted_at.is_(None))
        .values(held_since=func.now(), message_id=None)
        .returning(Job.id)
    ).one_or_none()
    if held is not None:
        record_event(session, job_id, "held", actor="scheduler", detail={"reason": f"owner runs {limit} {kind} job(s)"})
    return False


def due_held(session: Session, owner_id: uuid.UUID, kind: str, *, limit: int) -> list[tuple[uuid.UUID, str]]:
    """(id, queue) of the owner's oldest held jobs that fit in the free slots now; takes the owner's lock."""
    lock_owner(session, owner_id, kind)
    free = limit - running_count(session, owner_id, kind) if limit > 0 else 1_000
    if free <= 0:
        return []
    rows = session.execute(
        select(Job.id, Job.queue)
        .where(
            Job.owner_id == owner_id,
            Job.kind == kind,
            Job.held_since.is_not(None),
            Job.status.in_(_WAITING_TO_RUN),
            Job.deleted_at.is_(None),
        )
        .order_by(Job.created_at, Job.id)
        .limit(free)
        .with_for_update(skip_locked=True)
    ).all()
    return [(row[0], row[1]) for row in rows]


def release(session: Session, job_id: uuid.UUID, *, message_id: str) -> None:
    """A held job's new message was sent: it is no longer held."""
    session.execute(update(Job).where(Job.id == job_id).values(held_since=None, message_id=message_id))
    record_event(session, job_id, "released", actor="scheduler", detail={"reason": "a slot of its owner freed"})


def held_owners(session: Session, *, limit: int = 500) -> list[tuple[uuid.UUID, str]]:
    """(owner, kind) pairs that have held jobs (the scheduler's safety-net pass)."""
    rows = session.execute(
        select(Job.owner_id, Job.kind)
        .where(Job.held_since.is_not(None), Job.status.in_(_WAITING_TO_RUN), Job.deleted_at.is_(None))
        .group_by(Job.owner_id, Job.kind)
        .limit(limit)
    ).all()
    return [(row[0], row[1]) for row in rows]
