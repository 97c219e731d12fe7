"""What ``GET /api/jobs/{id}`` shows beyond a job's row: the last lines of its programs' output, the program
whose failure is the job's error, and the fields its kind adds (``JobKind.details``).

Kinds plug in through the hook only: it returns a dict; ``preview_url`` and ``estimated_seconds_remaining``,
when it has them, become top-level fields, and the whole dict is ``details``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actors.process.job import PROCESS_FAILED_EVENT
from actors.registry import get_kind, resolve
from db.models import Job, JobEvent
from db.statuses import JobStatus
from service.jobs.schemas import JobOut

STATUS_LOG_LINES = 50
# The kind's fields that are shown at the top level too.
KIND_FIELDS = ("preview_url", "estimated_seconds_remaining")
_FAILED = (JobStatus.FAILED.value, JobStatus.TIMED_OUT.value)


async def add_snapshot_fields(
    sessions: async_sessionmaker[AsyncSession], job: Job, out: JobOut, lines: list[str] | None
) -> None:
    """Fill ``out``'s fields that only the single-job read has, from the job's log ``lines`` (read with it) and,
    for a failed job or a kind with its own details, a session's reads."""
    out.logs = list(lines or [])[-STATUS_LOG_LINES:]
    failed = job.status in _FAILED and bool(job.error)
    kind = get_kind(job.kind)
    details_of = resolve(kind.details) if kind is not None and kind.details is not None else None
    if not failed and details_of is None:
        return
    async with sessions() as session:
        if failed:
            await _add_failed_program(session, job, out)
        if details_of is not None:
            await _add_details(session, job, out, details_of)


async def _add_failed_program(session: AsyncSession, job: Job, out: JobOut) -> None:
    failed = await _failed_program(session, job)
    if failed is not None:
        out.failed_command = failed.get("command")
        exit_code = failed.get("exit_code")
        out.exit_code = exit_code if isinstance(exit_code, int) else None


async def _add_details(session: AsyncSession, job: Job, out: JobOut, details_of: Any) -> None:
    """The kind's own fields (``JobKind.details``)."""
    details: dict[str, Any] = await details_of(session, job)
    out.details = details
    preview = details.get("preview_url")
    out.preview_url = preview if isinstance(preview, str) else None
    remaining = details.get("estimated_seconds_remaining")
    out.estimated_seconds_remaining = float(remaining) if isinstance(remaining, int | float) else None


async def _failed_program(session: AsyncSession, job: Job) -> dict[str, Any] | None:
    """The last program failure of the job's last run that its error names (a program whose failure the
    job tolerated, or one of an earlier attempt, is not the cause)."""
    last_claim = (
        select(JobEvent.id)
        .where(JobEvent.job_id == job.id, JobEvent.to_status == JobStatus.RUNNING.value)
        .order_by(JobEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = (
        await session.scalars(
            select(JobEvent.detail)
            .where(JobEvent.job_id == job.id, JobEvent.type == PROCESS_FAILED_EVENT, JobEvent.id > last_claim)
            .order_by(JobEvent.id.desc())
            .limit(5)
        )
    ).all()
    for detail in rows:
        command = (detail or {}).get("command")
        if isinstance(command, str) and f"`{command}`" in (job.error or ""):
            return dict(detail or {})
    return None
