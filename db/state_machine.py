"""The only code that changes a job's ``status``.

Every change is one conditional ``UPDATE ... WHERE status IN (allowed sources)``, so two workers can never
both claim a job and a finished job can never be moved again; the matching ``job_events`` row is written in
the same transaction. Each function returns the live events to publish *after* the caller commits
(see ``db.live``), or ``None`` when the change did not apply.

Errors::

    StateError
     └── InvalidTransition   the job exists but is not in a state the change may start from
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Uuid, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from db.live import LiveEvent
from db.models import Job, JobEvent
from db.observe.transitions import note_created, note_row, observed_columns
from db.statuses import ALLOWED_FROM, TERMINAL, JobStatus


class StateError(Exception):
    """Base of state machine errors."""


class InvalidTransition(StateError):
    def __init__(self, job_id: uuid.UUID, current: str, target: JobStatus) -> None:
        super().__init__(f"job {job_id} is {current}; it cannot become {target.value}")
        self.current = current
        self.target = target


class Changed(msgspec.Struct, frozen=True):
    """What a successful transition did."""

    job_id: uuid.UUID
    owner_id: uuid.UUID
    from_status: str
    to_status: str
    at: datetime
    attempts: int
    claim_token: uuid.UUID | None
    events: list[LiveEvent]
    # Extra columns a caller asked for (e.g. a claim's params), in the order asked.
    extra: tuple[Any, ...] = ()


def status_event_data(job: Job | Changed, *, detail: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """The JSON body of a ``status`` live event."""
    if isinstance(job, Changed):
        data: dict[str, Any] = {
            "status": job.to_status,
            "from_status": job.from_status,
            "at": job.at.isoformat(),
            "attempts": job.attempts,
        }
    else:
        data = {"status": job.status, "from_status": None, "at": job.created_at.isoformat(), "attempts": job.attempts}
    if detail:
        data["detail"] = detail
    data.update(extra)
    return data


def create(session: Session, job: Job, *, actor: str) -> list[LiveEvent]:
    """Insert a new job in its initial status (``queued`` or ``pending_payment``) with its first event."""
    if job.status not in (JobStatus.QUEUED, JobStatus.PENDING_PAYMENT):
        raise ValueError(f"a job starts queued or pending_payment, not {job.status}")
    session.add(job)
    session.flush()
    session.execute(
        insert(JobEvent).values(
            job_id=job.id,
            type="created",
            from_status=None,
            to_status=job.status,
            actor=actor,
            detail={"kind": job.kind, "priority": job.priority},
        )
    )
    note_created(session, job, actor)
    return [LiveEvent("status", job.id, job.owner_id, status_event_data(job, detail={"created": True}))]


def _transition(
    session: Session,
    job_id: uuid.UUID,
    to: JobStatus,
    *,
    actor: str,
    detail: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    where: list[ColumnElement[bool]] | None = None,
    event_extra: dict[str, Any] | None = None,
    returning: tuple[Any, ...] = (),
) -> Changed | None:
    # One round trip: lock the row (so the reported from_status is the one the UPDATE saw), update it, and
    # append the audit row from the UPDATE's result, all in one statement of the caller's transaction.
    old = select(Job.id, Job.status.label("old_status")).where(Job.id == job_id).with_for_update().cte("old")
    changed_row = (
        update(Job)
        .where(Job.id == old.c.id, Job.status.in_([s.value for s in ALLOWED_FROM[to]]), *(where or []))
        # The moment of the change itself, not the transaction's start (``now()``): a worker's transaction
        # begins before it waits for the creating transaction's lock, and history must stay in order.
        .values(status=to.value, updated_at=func.clock_timestamp(), **(values or {}))
        .returning(
            old.c.old_status.label("from_status"),
            Job.owner_id,
            Job.attempts,
            Job.claim_token,
            Job.updated_at,
            *observed_columns(),
            *(col.label(f"extra_{i}") for i, col in enumerate(returning)),
        )
        .cte("changed_row")
    )
    audit = (
        insert(JobEvent)
        .from_select(
            ["job_id", "at", "type", "from_status", "to_status", "actor", "detail"],
            select(
                literal(job_id, Uuid()),
                changed_row.c.updated_at,
                literal("status"),
                changed_row.c.from_status,
                literal(to.value),
                literal(actor),
                literal(detail, JSONB()),
            ),
        )
        .cte("audit")
    )
    row = session.execute(
        select(
            changed_row.c.from_status,
            changed_row.c.owner_id,
            changed_row.c.attempts,
            changed_row.c.claim_token,
            changed_row.c.updated_at,
            *observed_columns(changed_row),
            *(changed_row.c[f"extra_{i}"] for i in range(len(returning))),
        ).add_cte(audit)
    ).one_or_none()
    if row is None:
        return None
    from_status, owner_id, attempts, claim_token, at, *rest = row
    extra = note_row(session, job_id, from_status, to.value, at, attempts, actor, rest)
    changed = Changed(job_id, owner_id, from_status, to.value, at, attempts, claim_token, [], tuple(extra))
    changed.events.append(
        LiveEvent("status", job_id, owner_id, status_event_data(changed, detail=detail, **(event_extra or {})))
    )
    return changed


def current_status(session: Session, job_id: uuid.UUID) -> str | None:
    return session.execute(select(Job.status).where(Job.id == job_id)).scalar_one_or_none()


def claim(session: Session, job_id: uuid.UUID, *, worker: str, lease_seconds: float) -> Changed | None:
    """queued | retrying -> running, for one worker, with a fresh claim token and lease.

    ``extra`` of the result holds the job's (params, max_attempts, job_state, last_signal)."""
    return _transition(
        session,
        job_id,
        JobStatus.RUNNING,
        actor=f"worker:{worker}",
        values={
            "attempts": Job.attempts + 1,
            "claim_token": uuid.uuid4(),
            "claimed_by": worker,
            "lease_expires_at": func.now() + timedelta(seconds=lease_seconds),
            "started_at": func.coalesce(Job.started_at, func.now()),
            "run_after": None,
        },
        where=[Job.deleted_at.is_(None)],
        returning=(Job.params, Job.max_attempts, Job.job_state, Job.last_signal),
    )


def _finish_values(**values: Any) -> dict[str, Any]:
    return {"finished_at": func.now(), "lease_expires_at": None, **values}


def succeed(
    session: Session, job_id: uuid.UUID, claim_token: uuid.UUID, result: dict[str, Any] | None, *, worker: str
) -> Changed | None:
    """running -> succeeded, only for the holder of the claim."""
    return _transition(
        session,
        job_id,
        JobStatus.SUCCEEDED,
        actor=f"worker:{worker}",
        values=_finish_values(result=result, error=None),
        where=[Job.claim_token == claim_token],
        event_extra={"result": result},
    )


def fail(
    session: Session,
    job_id: uuid.UUID,
    claim_token: uuid.UUID | None,
    error: str,
    *,
    actor: str,
    timed_out: bool = False,
) -> Changed | None:
    """running -> failed (or timed_out), only for the holder of the claim when one is given."""
    target = JobStatus.TIMED_OUT if timed_out else JobStatus.FAILED
    where = [Job.claim_token == claim_token] if claim_token is not None else []
    return _transition(
        session,
        job_id,
        target,
        actor=actor,
        detail={"error": error},
        values=_finish_values(error=error),
        where=where,
        event_extra={"error": error},
    )


def schedule_retry(
    session: Session,
    job_id: uuid.UUID,
    claim_token: uuid.UUID | None,
    *,
    error: str,
    run_after: datetime,
    message_id: str | None,
    actor: str,
    counts_attempt: bool = True,
) -> Changed | None:
    """running -> retrying, with the time the next attempt is due and its message id.

    ``counts_attempt=False`` gives the attempt back (a worker shutting down, an infrastructure outage: not
    the job's fault); the audit row says so."""
    where = [Job.claim_token == claim_token] if claim_token is not None else []
    values: dict[str, Any] = {"error": error, "run_after": run_after, "lease_expires_at": None}
    values["message_id"] = message_id
    detail: dict[str, Any] = {"error": error, "run_after": run_after.isoformat()}
    if not counts_attempt:
        values["attempts"] = Job.attempts - 1
        detail["attempt_counted"] = False
    return _transition(
        session,
        job_id,
        JobStatus.RETRYING,
        actor=actor,
        detail=detail,
        values=values,
        where=where,
        event_extra={"error": error},
    )


def reclaim_lost(session: Session, job_id: uuid.UUID, *, message_id: str) -> Changed | None:
    """running -> retrying for a job whose worker stopped renewing its lease (sweeper)."""
    return _transition(
        session,
        job_id,
        JobStatus.RETRYING,
        actor="scheduler",
        detail={"reason": "worker lost (lease expired)"},
        values={"lease_expires_at": None, "claim_token": None, "run_after": func.now(), "message_id": message_id},
        where=[Job.lease_expires_at < func.now()],
    )


def fail_lost(session: Session, job_id: uuid.UUID, *, error: str) -> Changed | None:
    """running -> failed for a job whose worker vanished on its last attempt (sweeper)."""
    return _transition(
        session,
        job_id,
        JobStatus.FAILED,
        actor="scheduler",
        detail={"error": error},
        values=_finish_values(error=error, claim_token=None),
        where=[Job.lease_expires_at < func.now()],
        event_extra={"error": error},
    )


def cancel(session: Session, job_id: uuid.UUID, *, actor: str, reason: str = "cancelled by user") -> Changed | None:
    """Any active status -> cancelled."""
    return _transition(
        session,
        job_id,
        JobStatus.CANCELLED,
        actor=actor,
        detail={"reason": reason},
        values=_finish_values(),
        event_extra={"error": reason},
    )


def requeue(session: Session, job_id: uuid.UUID, *, actor: str, message_id: str | None) -> Changed | None:
    """failed | timed_out | cancelled -> queued (a user's retry); progress, error, attempts and waiting state are reset,
    so the retried job gets its kind's full set of attempts again (the audit trail keeps the old ones)."""
    return _transition(
        session,
        job_id,
        JobStatus.QUEUED,
        actor=actor,
        detail={"reason": "retried by user"},
        values={
            "error": None,
            "result": None,
            "attempts": 0,
            "progress_done": 0,
            "progress_total": None,
            "progress_step": None,
            "finished_at": None,
            "claim_token": None,
            "message_id": message_id,
            "queued_at": func.now(),
            # A retried job starts over: no stage kept from a wait of the failed run.
            "job_state": None,
            "last_signal": None,
            "waiting_for": None,
            "wait_deadline": None,
        },
        where=[Job.deleted_at.is_(None), Job.status.in_([s.value for s in TERMINAL])],
    )


def mark_paid(
    session: Session, job_id: uuid.UUID, *, actor: str, message_id: str | None, detail: dict[str, Any] | None = None
) -> Changed | None:
    """pending_payment -> queued once payment is confirmed."""
    return _transition(
        session,
        job_id,
        JobStatus.QUEUED,
        actor=actor,
        detail=detail,
        values={"message_id": message_id, "queued_at": func.now()},
        where=[Job.status == JobStatus.PENDING_PAYMENT.value],
    )


def expire(session: Session, job_id: uuid.UUID, *, actor: str, reason: str) -> Changed | None:
    """pending_payment -> expired."""
    return _transition(
        session,
        job_id,
        JobStatus.EXPIRED,
        actor=actor,
        detail={"reason": reason},
        values=_finish_values(error=reason),
        event_extra={"error": reason},
    )


def park(
    session: Session,
    job_id: uuid.UUID,
    claim_token: uuid.UUID,
    *,
    waiting_for: str,
    deadline: datetime | None,
    state: dict[str, Any] | None,
    worker: str,
) -> Changed | None:
    """running -> waiting, only for the holder of the claim: the job holds no worker, lease or message until a
    signal or its deadline resumes it. The run that parked it gives its attempt back (waiting is not a failure);
    ``state`` (when given) replaces the job's stored ``job_state``."""
    detail: dict[str, Any] = {"waiting_for": waiting_for, "wait_deadline": deadline.isoformat() if deadline else None}
    values: dict[str, Any] = {
        "waiting_for": waiting_for,
        "wait_deadline": deadline,
        "last_signal": None,
        "attempts": Job.attempts - 1,
        "claim_token": None,
        "lease_expires_at": None,
        "message_id": None,
        "progress_step": f"waiting for {waiting_for}"[:200],
    }
    if state is not None:
        values["job_state"] = state
    return _transition(
        session,
        job_id,
        JobStatus.WAITING,
        actor=f"worker:{worker}",
        detail=detail,
        values=values,
        where=[Job.claim_token == claim_token],
        event_extra=detail,
    )


def resume(
    session: Session,
    job_id: uuid.UUID,
    *,
    signal: dict[str, Any],
    sender: str,
    queue: str,
    priority: str,
    due_only: bool = False,
) -> Changed | None:
    """waiting -> queued by a signal (``{"name", "payload", "sender", "at"}``), kept on the job for its next run.

    The signal is also written to the audit trail (type ``signal``, with its payload) and published as a
    ``signal`` live event before the status event. ``due_only``: only if the wait's deadline has passed (the
    deadline's ``timeout`` signal, which must not overtake a signal that resumed the job first)."""
    where: list[ColumnElement[bool]] = [Job.status == JobStatus.WAITING.value, Job.deleted_at.is_(None)]
    if due_only:
        where.append(Job.wait_deadline <= func.now())
    changed = _transition(
        session,
        job_id,
        JobStatus.QUEUED,
        actor=sender,
        detail={"signal": signal["name"]},
        values={
            "waiting_for": None,
            "wait_deadline": None,
            "last_signal": signal,
            "queue": queue,
            "priority": priority,
            "message_id": None,
            "progress_step": None,
        },
        where=where,
        event_extra={"signal": signal["name"]},
    )
    if changed is None:
        return None
    record_event(session, job_id, "signal", actor=sender, detail={"name": signal["name"], "payload": signal["payload"]})
    changed.events.insert(0, LiveEvent("signal", job_id, changed.owner_id, signal))
    return changed


def set_message_id(session: Session, job_id: uuid.UUID, message_id: str) -> None:
    """Remember the broker message that will run the job (the sweeper checks it is still there)."""
    session.execute(update(Job).where(Job.id == job_id).values(message_id=message_id))


def record_event(
    session: Session, job_id: uuid.UUID, type_: str, *, actor: str, detail: dict[str, Any] | None = None
) -> None:
    """Append a milestone (not a status change) to the audit trail."""
    session.execute(insert(JobEvent).values(job_id=job_id, type=type_, actor=actor, detail=detail))
