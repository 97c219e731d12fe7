"""Transaction-scoped advisory locks on a job id.

The API holds this lock from inserting a job until it commits, and a worker takes it before claiming,
so a message delivered before the row is committed waits for the commit instead of missing the row.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, bindparam, func, select
from sqlalchemy.orm import Session


def job_lock_key(job_id: uuid.UUID) -> int:
    return int.from_bytes(job_id.bytes[:8], "big", signed=True)


# Built once: taking a lock is on every claim, and building the statement cost more than running it.
_LOCK_JOB = select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger())))


def lock_job(session: Session, job_id: uuid.UUID) -> None:
    """Take the job's advisory lock until the end of the current transaction."""
    session.execute(_LOCK_JOB, {"key": job_lock_key(job_id)})


def lock_user_quota(session: Session, user_id: uuid.UUID) -> None:
    """Serialise one user's quota checks (two-key form: a separate space from job locks)."""
    session.execute(select(func.pg_advisory_xact_lock(1, job_lock_key(user_id) & 0x7FFFFFFF)))
