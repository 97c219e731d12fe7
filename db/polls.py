"""Jobs that poll an external service: their stored polling state and the hand-over between two polls.

A polling job stays ``running`` between polls without holding a worker. Each poll is its own short message;
the worker that schedules the next one leaves the job's claim token on the row as the *continuation*, sends
the message carrying that token, and stretches the lease over the wait. The next message takes the job over
only by presenting the token (``resume_claim``), which rotates it in the same conditional UPDATE, so:

* two messages for one job can never poll at once (the second finds the token already rotated);
* a cancelled job, or one the sweeper re-claimed after its lease ran out, is no longer resumable by a late
  message (the status or the token changed).

Like ``db.state_machine``, every write is conditional on the caller still holding the claim.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Uuid, delete, exists, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from db.live import LiveEvent, Progress
from db.models import Job, JobEvent, JobPoll
from db.progress import overall_percent
from db.state_machine import Changed
from db.statuses import JobStatus


class PollState(msgspec.Struct):
    """A polling job's stored state (see ``db.models.job_poll``)."""

    started_at: datetime
    deadline_at: datetime
    polls: int
    failures: int
    state: dict[str, Any]


def _claimed(job_id: uuid.UUID, claim_token: uuid.UUID) -> Any:
    return exists().where(Job.id == job_id, Job.claim_token == claim_token, Job.status == JobStatus.RUNNING.value)


def resume_claim(
    session: Session, job_id: uuid.UUID, continuation: uuid.UUID, *, worker: str, lease_seconds: float
) -> Changed | None:
    """running -> running for the message that carries the job's continuation token.

    The token is replaced by a fresh claim token; attempts are not counted (a poll is not a new attempt).
    ``extra`` holds (params, max_attempts) as for ``state_machine.claim``.
    """
    row = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.status == JobStatus.RUNNING.value,
            Job.claim_token == continuation,
            Job.deleted_at.is_(None),
        )
        .values(
            claim_token=uuid.uuid4(),
            claimed_by=worker,
            lease_expires_at=func.now() + timedelta(seconds=lease_seconds),
            updated_at=func.now(),
        )
        .returning(Job.owner_id, Job.attempts, Job.claim_token, Job.updated_at, Job.params, Job.max_attempts)
    ).one_or_none()
    if row is None:
        return None
    owner_id, attempts, claim_token, at, params, max_attempts = row
    running = JobStatus.RUNNING.value
    return Changed(job_id, owner_id, running, running, at, attempts, claim_token, [], (params, max_attempts))


def await_next_poll(
    session: Session,
    job_id: uuid.UUID,
    claim_token: uuid.UUID,
    *,
    message_id: str,
    wait_seconds: float,
    grace_seconds: float,
) -> bool:
    """Leave the job running until its next poll: the lease covers the wait plus a grace period, after which
    the sweeper takes the job for lost. Returns False when the claim is no longer ours (e.g. cancelled)."""
    row = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.claim_token == claim_token, Job.status == JobStatus.RUNNING.value)
        .values(
            lease_expires_at=func.now() + timedelta(seconds=wait_seconds + grace_seconds),
            message_id=message_id,
            updated_at=func.now(),
        )
        .returning(Job.id)
    ).one_or_none()
    if row is None:
        return False
    session.execute(
        update(JobPoll)
        .where(JobPoll.job_id == job_id)
        .values(next_poll_at=func.now() + timedelta(seconds=wait_seconds), updated_at=func.now())
    )
    return True


def load_poll(session: Session, job_id: uuid.UUID) -> PollState | None:
    """The job's polling state, or None when it has not started polling in its current run.

    State left from before a user's retry (started before the job was queued again) is dropped, so a
    retried job starts over instead of re-reading a failed project."""
    row = session.execute(
        select(JobPoll.started_at, JobPoll.deadline_at, JobPoll.polls, JobPoll.failures, JobPoll.state, Job.queued_at)
        .join(Job, Job.id == JobPoll.job_id)
        .where(JobPoll.job_id == job_id)
    ).one_or_none()
    if row is None:
        return None
    started_at, deadline_at, polls, failures, state, queued_at = row
    if queued_at is not None and started_at < queued_at:
        session.execute(delete(JobPoll).where(JobPoll.job_id == job_id))
        return None
    return PollState(started_at, deadline_at, polls, failures, dict(state))


def start_poll(
    session: Session, job_id: uuid.UUID, claim_token: uuid.UUID, *, deadline_seconds: float
) -> PollState | None:
    """Create the job's polling state with its deadline; None when the claim is no longer ours."""
    source = select(
        literal(job_id, Uuid()),
        func.now(),
        func.now() + timedelta(seconds=deadline_seconds),
        literal({}, JSONB()),
    ).where(_claimed(job_id, claim_token))
    stmt = pg_insert(JobPoll).from_select(["job_id", "started_at", "deadline_at", "state"], source)
    row = session.execute(
        stmt.on_conflict_do_nothing(index_elements=[JobPoll.job_id]).returning(JobPoll.started_at, JobPoll.deadline_at)
    ).one_or_none()
    if row is None:
        return load_poll(session, job_id)
    return PollState(row[0], row[1], 0, 0, {})


def save_poll(session: Session, job_id: uuid.UUID, claim_token: uuid.UUID, poll: PollState) -> bool:
    """Store counters and kind state; False when the claim is no longer ours."""
    row = session.execute(
        update(JobPoll)
        .where(JobPoll.job_id == job_id, _claimed(job_id, claim_token))
        .values(polls=poll.polls, failures=poll.failures, state=poll.state, updated_at=func.now())
        .returning(JobPoll.job_id)
    ).one_or_none()
    return row is not None


def set_partial_result(
    session: Session,
    job_id: uuid.UUID,
    claim_token: uuid.UUID,
    result: dict[str, Any],
    *,
    step: str,
    actor: str,
) -> list[LiveEvent]:
    """Show a running job's result so far (e.g. a tracking URL) and record it in the audit trail.

    One statement: the conditional UPDATE and the ``job_events`` row from its result. Returns the live
    ``progress`` event (carrying ``result``) to publish after commit; empty when the claim is no longer ours.
    """
    changed_row = (
        update(Job)
        .where(Job.id == job_id, Job.claim_token == claim_token, Job.status == JobStatus.RUNNING.value)
        .values(result=result, progress_step=step, updated_at=func.now())
        .returning(Job.owner_id, Job.progress_done, Job.progress_total)
        .cte("changed_row")
    )
    audit = (
        insert(JobEvent)
        .from_select(
            ["job_id", "at", "type", "actor", "detail"],
            select(
                literal(job_id, Uuid()), func.now(), literal("result"), literal(actor), literal(result, JSONB())
            ).select_from(changed_row),
        )
        .cte("audit")
    )
    row = session.execute(
        select(changed_row.c.owner_id, changed_row.c.progress_done, changed_row.c.progress_total).add_cte(audit)
    ).one_or_none()
    if row is None:
        return []
    owner_id, done, total = row
    percent = overall_percent((), step, done, total) or 0.0
    return [LiveEvent(owner_id, Progress(job_id, done, total, percent, step, result=result))]
