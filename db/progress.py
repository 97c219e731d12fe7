"""Progress reports and lease renewal of running jobs (not status changes)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from functools import cache
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from sqlalchemy import (
    Integer,
    Interval,
    Select,
    String,
    Update,
    Uuid,
    bindparam,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from db.direct import compiled
from db.models import Job, JobEvent
from db.statuses import JobStatus

Phases = Sequence[tuple[str, str, float]]


def overall_percent(phases: Phases, step: str | None, done: int, total: int | None) -> float | None:
    """The whole job's percent (0-100) from its current step's count, or None when nothing can be said.

    ``phases`` are the kind's steps in order, ``(step, label, weight)`` (``JobKind.phases``): the steps before
    the current one fill their share, the current one its fraction. A kind without phases, or a step that is
    not one of them, is measured by its own count.
    """
    fraction = min(1.0, done / total) if total else None
    index = next((i for i, phase in enumerate(phases) if phase[0] == step), None)
    if index is None:
        return None if fraction is None else round(100.0 * fraction, 1)
    weights = [phase[2] for phase in phases]
    whole = sum(weights) or 1.0
    return round(100.0 * (sum(weights[:index]) + weights[index] * (fraction or 0.0)) / whole, 1)


def record_progress(
    conn: psycopg.Connection[TupleRow],
    job_id: uuid.UUID,
    claim_token: uuid.UUID,
    *,
    done: int,
    total: int | None,
    step: str | None,
    lease_seconds: float,
    worker: str,
    step_changed: bool,
) -> uuid.UUID | None:
    """Store progress and renew the lease; returns the owner id, or None when the claim is no longer ours.

    One prepared statement on an autocommit psycopg connection (``db.direct``), its own transaction: without
    the ORM's bulk-update work on every report (in the llms_txt benchmark's crawl process, about 5 % of its CPU
    went to building and compiling that update, four reports a second). A new step also writes its audit row
    (steps are milestones worth keeping in the audit trail; individual counts are not), from the update's
    result in the same statement: through a session it was a transaction of four round trips (begin, update,
    insert, commit) and a statement built anew for every step."""
    values = {
        "job_id": job_id,
        "token": claim_token,
        "done": done,
        "total": total,
        "step": step,
        "lease": timedelta(seconds=lease_seconds),
    }
    if step_changed:
        values["actor"] = f"worker:{worker}"
        values["detail"] = {"step": step, "done": done, "total": total}
    statement = _step_statement() if step_changed else _progress_statement()
    row = compiled(statement).execute_sync(conn, values).fetchone()
    return None if row is None else row[0]


@cache
def _progress_statement() -> Update:
    return _progress_update().returning(Job.owner_id)


@cache
def _step_statement() -> Select[Any]:
    """``_progress_statement`` with the new step's audit row, appended only where the update applied."""
    moved = _progress_update().returning(Job.id, Job.owner_id, Job.updated_at).cte("moved")
    audit = (
        insert(JobEvent)
        .from_select(
            ["job_id", "at", "type", "actor", "detail"],
            select(
                moved.c.id,
                moved.c.updated_at,
                literal("step"),
                bindparam("actor", type_=String()),
                bindparam("detail", type_=JSONB()),
            ),
        )
        .cte("audit")
    )
    return select(moved.c.owner_id).add_cte(audit)


def _progress_update() -> Update:
    return (
        update(Job)
        .where(
            Job.id == bindparam("job_id", type_=Uuid()),
            Job.claim_token == bindparam("token", type_=Uuid()),
            Job.status == JobStatus.RUNNING.value,
        )
        .values(
            progress_done=bindparam("done", type_=Integer()),
            progress_total=bindparam("total", type_=Integer()),
            progress_step=bindparam("step", type_=String()),
            lease_expires_at=func.now() + bindparam("lease", type_=Interval()),
            # The moment of the report itself: the step's audit row takes it as its time, and a job's history
            # stays in order (as for status changes, ``state_machine.core``).
            updated_at=func.clock_timestamp(),
        )
    )


def renew_leases(
    session: Session, claims: Sequence[tuple[uuid.UUID, uuid.UUID]], *, lease_seconds: float
) -> set[uuid.UUID]:
    """Extend the leases of (job id, claim token) pairs still running; returns the job ids renewed."""
    if not claims:
        return set()
    rows = session.execute(
        update(Job)
        .where(tuple_(Job.id, Job.claim_token).in_(list(claims)), Job.status == JobStatus.RUNNING.value)
        .values(lease_expires_at=func.now() + timedelta(seconds=lease_seconds))
        .returning(Job.id)
    ).all()
    return {r[0] for r in rows}
