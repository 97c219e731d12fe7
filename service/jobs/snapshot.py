"""What ``GET /api/jobs/{id}`` shows beyond a job's row: the last lines of its programs' output, the program
whose failure is the job's error, and the fields its kind adds (``JobKind.details``).

Kinds plug in through the hook only: it returns a dict; ``preview_url`` and ``estimated_seconds_remaining``,
when it has them, become top-level fields, and the whole dict is ``details``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.process.job import PROCESS_FAILED_EVENT
from actors.registry import get_kind, resolve
from db.models import Job, JobEvent, JobLog
from db.statuses import JobStatus
from service.jobs.schemas import JobOut

STATUS_LOG_LINES = 50
# The kind's fields that are shown at the top level too.
KIND_FIELDS = ("preview_url", "estimated_seconds_remaining")
_FAILED = (JobStatus.FAILED.value, JobStatus.TIMED_OUT.value)


async def add_snapshot_fields(session: AsyncSession, job: Job, out: JobOut) -> None:
    """Fill ``out``'s fields that only the single-job read has."""
    lines = await session.scalar(select(JobLog.lines).where(JobLog.job_id == job.id))
    out.logs = list(lines or [])[-STATUS_LOG_LINES:]
    if job.status in _FAILED and job.error:
        failed = await _failed_program(session, job)
        if failed is not None:
            out.failed_command = failed.get("command")
            exit_code = failed.get("exit_code")
            out.exit_code = exit_code if isinstance(exit_code, int) else None
    kind = get_kind(job.kind)
    if kind is not None and kind.details is not None:
        details: dict[str, Any] = await resolve(kind.details)(session, job)
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
