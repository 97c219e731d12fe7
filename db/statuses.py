"""Job statuses and the allowed transitions between them.

pending_payment -> queued -> running -> succeeded | failed | cancelled | timed_out
                            running -> retrying -> running
pending_payment -> expired | cancelled
queued | retrying | waiting -> cancelled
running -> waiting -> queued                     (parked for a signal or a deadline, holding no worker)
failed | timed_out | cancelled -> queued          (a user's retry)
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    EXPIRED = "expired"
    WAITING = "waiting"


TERMINAL: frozenset[JobStatus] = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT, JobStatus.EXPIRED}
)
ACTIVE: frozenset[JobStatus] = frozenset(set(JobStatus) - TERMINAL)
RETRYABLE_BY_USER: frozenset[JobStatus] = frozenset({JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.CANCELLED})

# to_status -> the statuses it may be reached from. The state machine uses this in every
# conditional UPDATE, so an illegal change is impossible rather than merely checked.
ALLOWED_FROM: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.PENDING_PAYMENT, JobStatus.WAITING}) | RETRYABLE_BY_USER,
    JobStatus.RUNNING: frozenset({JobStatus.QUEUED, JobStatus.RETRYING}),
    JobStatus.RETRYING: frozenset({JobStatus.RUNNING}),
    JobStatus.SUCCEEDED: frozenset({JobStatus.RUNNING}),
    JobStatus.FAILED: frozenset({JobStatus.RUNNING}),
    JobStatus.TIMED_OUT: frozenset({JobStatus.RUNNING}),
    JobStatus.CANCELLED: frozenset(
        {JobStatus.PENDING_PAYMENT, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.RETRYING, JobStatus.WAITING}
    ),
    JobStatus.WAITING: frozenset({JobStatus.RUNNING}),
    JobStatus.EXPIRED: frozenset({JobStatus.PENDING_PAYMENT}),
    JobStatus.PENDING_PAYMENT: frozenset(),
}
