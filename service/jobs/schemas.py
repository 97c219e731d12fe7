"""Request and response shapes of the jobs API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from actors.registry import get_kind
from db.models import Job
from db.progress import overall_percent
from db.state_machine import NewJob
from db.statuses import JobStatus

Priority = Literal["low", "normal", "high"]


class CreateJobRequest(msgspec.Struct, forbid_unknown_fields=True):
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    params: dict[str, Any] = {}
    priority: Priority = "normal"
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class JobLinks(msgspec.Struct):
    self: str
    events: str
    history: str


class CreatedJob(msgspec.Struct, omit_defaults=True):
    id: uuid.UUID
    kind: str
    status: str
    created_at: datetime
    links: JobLinks
    # Paid options only: the Stripe Checkout page to pay on.
    payment_url: str | None = None
    # Kinds tracked from creation only (e.g. website): where the user follows the job, as in its result.
    tracking_url: str | None = None


class PaymentOut(msgspec.Struct):
    url: str | None
    amount_cents: int
    currency: str
    # pending | paid | expired | cancelled
    status: str | None
    refund_id: str | None
    refund_status: str | None


class Progress(msgspec.Struct):
    done: int
    total: int | None
    # The whole job's percent across its steps: always present, never lower than before within a run.
    percent: float
    step: str | None


class JobOut(msgspec.Struct):
    id: uuid.UUID
    kind: str
    status: str
    priority: str
    title: str | None
    params: dict[str, Any]
    progress: Progress
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    max_attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: JobLinks
    # Null for free jobs.
    payment: PaymentOut | None = None
    # Waiting jobs only: what the job waits for (a signal its kind declares) and until when.
    waiting_for: str | None = None
    wait_deadline: datetime | None = None
    # The step the job is at (also ``progress.step``); ``"done"`` once it succeeded (a failed job keeps the
    # step it failed in).
    current_step: str | None = None
    # ``GET /api/jobs/{id}`` only (null in lists):
    # the last 50 lines of output of the job's programs and its own notes, oldest first (all: ``links.logs``);
    logs: list[str] | None = None
    # for a failed or timed-out job whose error is a program's failure: that command, and its exit code (null
    # when a signal or a limit ended it; ``error`` says which);
    failed_command: str | None = None
    exit_code: int | None = None
    # set by kinds that have them (``JobKind.details``): where to view the result, and the seconds a queued or
    # running job has left, estimated from earlier jobs;
    preview_url: str | None = None
    estimated_seconds_remaining: float | None = None
    # and everything the kind's hook returned.
    details: dict[str, Any] | None = None


class JobPage(msgspec.Struct):
    items: list[JobOut]
    total: int
    page: int
    per_page: int
    pages: int


class HistoryEntry(msgspec.Struct):
    at: datetime
    type: str
    from_status: str | None
    to_status: str | None
    actor: str | None
    detail: dict[str, Any] | None


# ``current_step`` of a job that succeeded, whatever step it reported last.
DONE_STEP = "done"


def links_for(job_id: uuid.UUID) -> JobLinks:
    base = f"/api/jobs/{job_id}"
    return JobLinks(self=base, events=f"{base}/events", history=f"{base}/history")


def percent(job: Job) -> float:
    """The whole job's percent across its kind's steps (as the worker sends it live): 100 once succeeded."""
    if job.status == JobStatus.SUCCEEDED:
        return 100.0
    kind = get_kind(job.kind)
    measured = overall_percent(
        kind.phases if kind is not None else (), job.progress_step, job.progress_done, job.progress_total
    )
    return measured if measured is not None else 0.0


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        priority=job.priority,
        title=job.title,
        params=job.params,
        progress=Progress(
            job.progress_done,
            job.progress_total,
            percent(job),
            job.progress_step,
        ),
        result=job.result,
        error=job.error,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        links=links_for(job.id),
        payment=payment_out(job),
        waiting_for=job.waiting_for if job.status == JobStatus.WAITING else None,
        wait_deadline=job.wait_deadline if job.status == JobStatus.WAITING else None,
        current_step=DONE_STEP if job.status == JobStatus.SUCCEEDED else job.progress_step,
    )


def payment_out(job: Job) -> PaymentOut | None:
    p = job.payment
    if p is None:
        return None
    return PaymentOut(p.url, p.amount_cents, p.currency, p.status, p.refund_id, p.refund_status)


def new_job_out(job: NewJob) -> JobOut:
    """A job just created, as the API shows it (no database read)."""
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        priority=job.priority,
        title=job.title,
        params=job.params,
        progress=Progress(0, None, 0.0, None),
        result=job.result,
        error=None,
        attempts=0,
        max_attempts=job.max_attempts,
        created_at=job.created_at,
        started_at=None,
        finished_at=None,
        links=links_for(job.id),
        payment=(
            PaymentOut(p.url, p.amount_cents, p.currency, p.status, None, None)
            if (p := job.payment) is not None
            else None
        ),
    )
