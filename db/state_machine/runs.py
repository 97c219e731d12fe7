"""A run's transitions: claim, finish, fail, retry, a lost worker's job, cancel and a user's retry."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from sqlalchemy import Connection, Interval, Select, String, Uuid, bindparam, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from db.models import Job
from db.state_machine.core import (
    Changed,
    Row,
    changed_from_row,
    finish_values,
    job_rows,
    run_transition,
    run_transition_many,
    transition,
    transition_statement,
)
from db.statuses import TERMINAL, JobStatus


@cache
def _claim_statement(many: bool = False) -> Select[Any]:
    rows = job_rows(new_token=Uuid()) if many else None
    return transition_statement(
        JobStatus.RUNNING,
        values={
            "attempts": Job.attempts + 1,
            "claim_token": rows.c.new_token if rows is not None else bindparam("new_token", type_=Uuid()),
            "claimed_by": bindparam("worker", type_=String()),
            "lease_expires_at": func.now() + bindparam("lease", type_=Interval()),
            "started_at": func.coalesce(Job.started_at, func.now()),
            "run_after": None,
        },
        where=[Job.deleted_at.is_(None)],
        returning=(Job.params, Job.max_attempts, Job.job_state, Job.last_signal),
        rows=rows,
    )


def claim(
    session: Session | Connection | psycopg.Connection[TupleRow],
    job_id: uuid.UUID,
    *,
    worker: str,
    lease_seconds: float,
) -> Changed | None:
    """queued | retrying -> running, for one worker, with a fresh claim token and lease (``session`` may be an
    autocommit psycopg connection, a worker's common case: see ``run_transition``).

    ``extra`` of the result holds the job's (params, max_attempts, job_state, last_signal)."""
    return run_transition(
        session,
        _claim_statement(),
        job_id,
        JobStatus.RUNNING,
        actor=f"worker:{worker}",
        parameters=_claim_parameters(worker, lease_seconds),
    )


def claim_many(
    conn: psycopg.Connection[TupleRow], job_ids: Sequence[uuid.UUID], *, worker: str, lease_seconds: float
) -> list[Row | None]:
    """``claim`` of several jobs in one statement on an autocommit psycopg connection (the claims of a worker's
    threads that arrive together, ``actors.grouped``): each job's row, or None, in the order given; each
    thread makes its job's change of its row with ``claimed``."""
    return run_transition_many(
        conn,
        _claim_statement(many=True),
        [(job_id, {"new_token": uuid.uuid4()}) for job_id in job_ids],
        actor=f"worker:{worker}",
        parameters={"worker": worker, "lease": timedelta(seconds=lease_seconds)},
    )


def claimed(row: Row | None, job_id: uuid.UUID, *, worker: str) -> Changed | None:
    """The claim of ``job_id`` from its row of ``claim_many`` (None: it was not claimed), as ``claim`` returns it."""
    return changed_from_row(row, job_id, JobStatus.RUNNING, actor=f"worker:{worker}")


def _claim_parameters(worker: str, lease_seconds: float) -> dict[str, Any]:
    return {"new_token": uuid.uuid4(), "worker": worker, "lease": timedelta(seconds=lease_seconds)}


@cache
def _succeed_statement(many: bool = False) -> Select[Any]:
    if many:
        rows = job_rows(held_token=Uuid(), result=JSONB())
        result: Any = rows.c.result
        held_token: Any = rows.c.held_token
    else:
        rows = None
        result = bindparam("result_value", type_=Job.__table__.c.result.type)
        held_token = bindparam("held_token", type_=Uuid())
    return transition_statement(
        JobStatus.SUCCEEDED,
        values=finish_values(result=result, error=None),
        where=[Job.claim_token == held_token],
        rows=rows,
    )


def succeed(
    session: Session | Connection | psycopg.Connection[TupleRow],
    job_id: uuid.UUID,
    claim_token: uuid.UUID,
    result: dict[str, Any] | None,
    *,
    worker: str,
) -> Changed | None:
    """running -> succeeded, only for the holder of the claim (``session`` as for ``claim``)."""
    return run_transition(
        session,
        _succeed_statement(),
        job_id,
        JobStatus.SUCCEEDED,
        actor=f"worker:{worker}",
        event={"result": result},
        parameters={"held_token": claim_token, "result_value": result},
    )


def succeed_many(
    conn: psycopg.Connection[TupleRow],
    jobs: Sequence[tuple[uuid.UUID, uuid.UUID, dict[str, Any] | None]],
    *,
    worker: str,
) -> list[Row | None]:
    """``succeed`` of several (job id, claim token, result) in one statement on an autocommit psycopg
    connection (``actors.grouped``): each job's row, or None, in the order given (for ``succeeded``)."""
    return run_transition_many(
        conn,
        _succeed_statement(many=True),
        [(job_id, {"held_token": token, "result": result}) for job_id, token, result in jobs],
        actor=f"worker:{worker}",
    )


def succeeded(row: Row | None, job_id: uuid.UUID, result: dict[str, Any] | None, *, worker: str) -> Changed | None:
    """The success of ``job_id`` from its row of ``succeed_many``, as ``succeed`` returns it."""
    return changed_from_row(row, job_id, JobStatus.SUCCEEDED, actor=f"worker:{worker}", event={"result": result})


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
    return transition(
        session,
        job_id,
        target,
        actor=actor,
        detail={"error": error},
        values=finish_values(error=error),
        where=where,
        event={"error": error},
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
    return transition(
        session,
        job_id,
        JobStatus.RETRYING,
        actor=actor,
        detail=detail,
        values=values,
        where=where,
        event={"error": error},
    )


def reclaim_lost(session: Session, job_id: uuid.UUID, *, message_id: str) -> Changed | None:
    """running -> retrying for a job whose worker stopped renewing its lease (sweeper)."""
    return transition(
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
    return transition(
        session,
        job_id,
        JobStatus.FAILED,
        actor="scheduler",
        detail={"error": error},
        values=finish_values(error=error, claim_token=None),
        where=[Job.lease_expires_at < func.now()],
        event={"error": error},
    )


def cancel(session: Session, job_id: uuid.UUID, *, actor: str, reason: str = "cancelled by user") -> Changed | None:
    """Any active status -> cancelled."""
    return transition(
        session,
        job_id,
        JobStatus.CANCELLED,
        actor=actor,
        detail={"reason": reason},
        values=finish_values(),
        event={"error": reason},
    )


def requeue(session: Session, job_id: uuid.UUID, *, actor: str, message_id: str | None) -> Changed | None:
    """failed | timed_out | cancelled -> queued (a user's retry); progress, error, attempts and waiting state are reset,
    so the retried job gets its kind's full set of attempts again (the audit trail keeps the old ones)."""
    return transition(
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
