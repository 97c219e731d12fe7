"""What every job status change reports once its transaction commits: one structured log line and the job
metrics (``db.observe.catalog``).

The state machine calls ``note_transition`` inside the caller's transaction; the notes wait on the session and
are reported by an ``after_commit`` listener (a rolled-back change reports nothing), for sync sessions and for
the sync session inside every ``AsyncSession`` alike.
"""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from opentelemetry import trace
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

from db.models import Job
from db.observe import catalog
from db.observe.recorder import inc, observe
from db.statuses import TERMINAL, JobStatus

if TYPE_CHECKING:
    from db.state_machine.creation import NewJob

log = logging.getLogger("genjobs.jobs")
_tracer = trace.get_tracer("genjobs")
_NOTES = "genjobs_transitions"
_TERMINAL = {s.value for s in TERMINAL}
_UNPAID_ENDS = {JobStatus.EXPIRED.value, JobStatus.CANCELLED.value}


class TransitionFacts(msgspec.Struct, frozen=True):
    job_id: uuid.UUID
    kind: str
    queue: str
    # None: the job was just created.
    from_status: str | None
    to_status: str
    at: datetime
    attempt: int
    actor: str
    queued_at: datetime | None
    started_at: datetime | None


_OBSERVED = ("kind", "queue", "queued_at", "started_at")


def observed_columns(cte: Any = None) -> list[Any]:
    """The job columns a transition returns for its report: labelled columns of ``Job`` for the UPDATE's
    RETURNING, or the same columns of the CTE built from it."""
    if cte is None:
        return [getattr(Job, name).label(f"observed_{name}") for name in _OBSERVED]
    return [cte.c[f"observed_{name}"] for name in _OBSERVED]


def note_row(
    session: Session | Connection | None,
    job_id: uuid.UUID,
    from_status: str,
    to_status: str,
    at: datetime,
    attempt: int,
    actor: str,
    rest: Sequence[Any],
) -> list[Any]:
    """Note the change from a transition's row (its observed columns first); returns the rest of the row."""
    kind, queue, queued_at, started_at = rest[: len(_OBSERVED)]
    # A point in the trace of whatever made the change (the request, the worker's run of the message).
    _tracer.start_span(
        f"job {from_status} -> {to_status}",
        attributes={"job.id": str(job_id), "job.kind": kind, "job.queue": queue, "job.attempt": attempt},
    ).end()
    note_transition(
        session,
        TransitionFacts(job_id, kind, queue, from_status, to_status, at, attempt, actor, queued_at, started_at),
    )
    return list(rest[len(_OBSERVED) :])


def note_created(session: Session | Connection, job: Job | NewJob, actor: str) -> None:
    """Note a job created in this session's transaction (its first status, from nothing)."""
    note_transition(session, _created(job, actor))


def report_created(job: Job | NewJob, actor: str) -> None:
    """Report a job whose creation is committed already (an autocommit statement)."""
    report(_created(job, actor))


def _created(job: Job | NewJob, actor: str) -> TransitionFacts:
    return TransitionFacts(job.id, job.kind, job.queue, None, job.status, job.created_at, 0, actor, None, None)


def note_transition(session: Session | Connection | None, facts: TransitionFacts) -> None:
    """Remember a change made in this session's (or connection's) transaction, to report after it commits; a
    change made on an autocommit connection (or with no session: a direct statement, ``db.direct``) is
    committed already and reported at once."""
    if session is None:
        report(facts)
    elif isinstance(session, Session):
        session.info.setdefault(_NOTES, []).append(facts)
    elif session.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        report(facts)
    else:
        _pending.setdefault(session, []).append(facts)


# Changes made in a connection's own transaction (not a session's), until it commits or rolls back. Keyed by
# the Connection itself: its ``info`` would reach for the DBAPI connection, which fails once it was invalidated.
_pending: weakref.WeakKeyDictionary[Connection, list[TransitionFacts]] = weakref.WeakKeyDictionary()


@event.listens_for(Engine, "commit")
def _report_connection_committed(conn: Connection) -> None:
    for facts in _pending.pop(conn, ()):
        report(facts)


@event.listens_for(Engine, "rollback")
def _forget_connection_rolled_back(conn: Connection) -> None:
    _pending.pop(conn, None)


@event.listens_for(Session, "after_commit")
def _report_committed(session: Session) -> None:
    for facts in session.info.pop(_NOTES, ()):
        report(facts)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_NOTES, None)


def report(facts: TransitionFacts) -> None:
    """Log the change and update the job metrics."""
    log.info(
        "job %s: %s -> %s (%s, attempt %d, by %s)",
        facts.job_id,
        facts.from_status,
        facts.to_status,
        facts.kind,
        facts.attempt,
        facts.actor,
        extra={
            "job_id": str(facts.job_id),
            "kind": facts.kind,
            "queue": facts.queue,
            "attempt": facts.attempt,
            "from_status": facts.from_status,
            "to_status": facts.to_status,
        },
    )
    inc(catalog.JOB_TRANSITIONS, facts.kind, facts.queue, facts.to_status)
    if facts.to_status == JobStatus.RUNNING.value and facts.from_status == JobStatus.QUEUED.value and facts.queued_at:
        observe(catalog.JOB_WAIT, _seconds(facts.queued_at, facts.at), facts.kind, facts.queue)
    elif facts.to_status == JobStatus.RETRYING.value:
        inc(catalog.JOB_RETRIES, facts.kind, facts.queue)
    if facts.from_status == JobStatus.PENDING_PAYMENT.value and facts.to_status in _UNPAID_ENDS:
        # Unpaid checkouts that ended: expired (by Stripe or the scheduler) or cancelled by their owner.
        inc(catalog.PAYMENTS, facts.to_status)
    if facts.to_status in _TERMINAL and facts.from_status == JobStatus.RUNNING.value and facts.started_at:
        observe(catalog.JOB_RUN, _seconds(facts.started_at, facts.at), facts.kind, facts.queue, facts.to_status)


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())
