"""``GET /api/jobs/{id}/logs``: the last lines of output of the programs a job ran.

Workers write them (``actors.process.job``) while the programs run; the whole output is the job's
``process.log`` artifact.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get
from sqlalchemy import select

from db.models import JobLog
from service.auth.principal import Principal
from service.jobs.service import get_job_row
from service.resources import get_resources


class JobLogsOut(msgspec.Struct):
    # Oldest first; at most 200, ANSI codes stripped. Empty for a job that ran no program (yet).
    lines: list[str]
    updated_at: datetime | None
    # The whole output, as a download.
    log_url: str


class JobLogsController(Controller):
    tags = ("jobs",)

    @get("/api/jobs/{job_id:uuid}/logs", operation_id="getJobLogs")
    async def job_logs(self, request: Request[Principal, Any, Any], job_id: uuid.UUID) -> JobLogsOut:
        """The last 200 lines of output of the job's programs, and where to download all of it."""
        res = get_resources(request.app)
        async with res.sessions() as session:
            await get_job_row(session, request.user, job_id)
            row = await session.scalar(select(JobLog).where(JobLog.job_id == job_id))
        return JobLogsOut(
            lines=list(row.lines) if row else [],
            updated_at=row.updated_at if row else None,
            log_url=f"/api/jobs/{job_id}/artifacts/process.log",
        )
