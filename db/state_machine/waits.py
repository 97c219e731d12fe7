"""A waiting job's transitions: park (hold no worker until a signal or deadline) and resume."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session

from db.live import LiveEvent, SignalReceived
from db.models import Job
from db.state_machine.core import Changed, record_event, transition
from db.statuses import JobStatus


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
    return transition(
        session,
        job_id,
        JobStatus.WAITING,
        actor=f"worker:{worker}",
        detail=detail,
        values=values,
        where=[Job.claim_token == claim_token],
        event=detail,
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
    changed = transition(
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
        event={"signal": signal["name"]},
    )
    if changed is None:
        return None
    record_event(session, job_id, "signal", actor=sender, detail={"name": signal["name"], "payload": signal["payload"]})
    changed.events.insert(0, LiveEvent(changed.owner_id, SignalReceived(job_id, **signal)))
    return changed
