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

import enum
import uuid
import zlib

from sqlalchemy import ColumnElement, exists, func, literal, select, tuple_, update
from sqlalchemy.orm import Session

from db.models import Job
from db.state_machine import record_event
from db.statuses import JobStatus

_WAITING_TO_RUN = (JobStatus.QUEUED.value, JobStatus.RETRYING.value)


class Admission(enum.Enum):
    RUN = "run"
    FULL = "full"
    BEHIND = "behind"


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


def admit(session: Session, job_id: uuid.UUID, *, limit: int) -> tuple[Admission, uuid.UUID | None]:
    """Whether the job may be claimed now under its owner's limit (0 = unlimited), and its owner; holds it when
    not.

    ``RUN``: claim it. ``FULL``: held, its owner runs ``limit`` jobs of its kind. ``BEHIND``: held although a slot
    is free, because older jobs of the owner are held: they go first (the caller wakes them, ``due_held``), so an
    owner's jobs start in the order they were created. Call inside the claim's transaction, before the claim:
    the owner's lock is held until it commits."""
    if limit <= 0:
        return Admission.RUN, None
    head = session.execute(select(Job.owner_id, Job.kind, Job.created_at).where(Job.id == job_id)).one_or_none()
    if head is None:
        return Admission.RUN, None  # no such job: the claim finds nothing either
    owner_id, kind, created_at = head
    lock_owner(session, owner_id, kind)
    older_first = tuple_(Job.created_at, Job.id) < tuple_(literal(created_at), literal(job_id))
    if running_count(session, owner_id, kind) >= limit:
        verdict = Admission.FULL
    elif session.scalar(select(exists().where(*_held_of(owner_id, kind), older_first))):
        verdict = Admission.BEHIND
    else:
        session.execute(update(Job).where(Job.id == job_id, Job.held_since.is_not(None)).values(held_since=None))
        return Admission.RUN, owner_id
    held = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(_WAITING_TO_RUN), Job.held_since.is_(None), Job.deleted_at.is_(None))
        .values(held_since=func.now(), message_id=None)
        .returning(Job.id)
    ).one_or_none()
    if held is not None:
        full = verdict is Admission.FULL
        reason = f"its owner runs {limit} {kind} job(s)" if full else "older jobs of its owner go first"
        record_event(session, job_id, "held", actor="scheduler", detail={"reason": reason})
    return verdict, owner_id


def _held_of(owner_id: uuid.UUID, kind: str) -> list[ColumnElement[bool]]:
    return [
        Job.owner_id == owner_id,
        Job.kind == kind,
        Job.held_since.is_not(None),
        Job.status.in_(_WAITING_TO_RUN),
        Job.deleted_at.is_(None),
    ]


def due_held(session: Session, owner_id: uuid.UUID, kind: str, *, limit: int) -> list[tuple[uuid.UUID, str]]:
    """(id, queue) of the owner's oldest held jobs that fit in the free slots now; takes the owner's lock."""
    lock_owner(session, owner_id, kind)
    free = limit - running_count(session, owner_id, kind) if limit > 0 else 1_000
    if free <= 0:
        return []
    rows = session.execute(
        select(Job.id, Job.queue)
        .where(*_held_of(owner_id, kind))
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
