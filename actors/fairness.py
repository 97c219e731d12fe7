"""Fair scheduling on the worker side: which limit applies to a kind, and waking an owner's held jobs.

The SQL (the owner's lock, counting, holding and releasing) is in ``db.fairness``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from actors.registry import JobKind
from db.fairness import due_held, release

# (kind, job id, queue) -> the broker id of the message sent.
SendJob = Callable[[JobKind, uuid.UUID, str], str]


def owner_limit(kind: JobKind, default: int) -> int:
    """The running jobs of ``kind`` one owner may have at once: the kind's own limit, else the deployment's
    default; 0 means unlimited."""
    limit = kind.max_running_per_owner if kind.max_running_per_owner is not None else default
    return max(0, limit)


def wake_held(
    sessions: sessionmaker[Session], send: SendJob, kind: JobKind, owner_id: uuid.UUID, *, limit: int
) -> list[uuid.UUID]:
    """Send again the owner's oldest held jobs of ``kind`` that fit in its free slots; returns their ids.

    One transaction under the owner's lock: a worker that receives a message before the commit waits on that
    lock in its claim, then finds the job released."""
    if limit <= 0:
        return []
    with sessions.begin() as session:
        due = due_held(session, owner_id, kind.name, limit=limit)
        for job_id, queue in due:
            release(session, job_id, message_id=send(kind, job_id, queue))
    return [job_id for job_id, _ in due]
