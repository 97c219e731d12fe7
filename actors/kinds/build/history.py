"""A site's build history as the API reads it: how long builds take, and the time a running build has left.

Imported only by the API process (``JobKind.details`` and ``routes``)."""

from __future__ import annotations

import statistics
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Job
from db.statuses import ACTIVE, JobStatus

KIND = "build"
SAMPLE = 20


def duration(job: Job) -> float | None:
    if job.started_at is None or job.finished_at is None:
        return None
    return round((job.finished_at - job.started_at).total_seconds(), 3)


async def expected_seconds(session: AsyncSession, owner_id: uuid.UUID, site: str | None) -> float | None:
    """The median duration of the last built (not cached) successful builds of ``site``, or, with none, of
    all the owner's; None without any."""
    base = select(Job).where(
        Job.owner_id == owner_id,
        Job.kind == KIND,
        Job.status == JobStatus.SUCCEEDED.value,
        Job.deleted_at.is_(None),
        Job.result["cached"].astext == "false",
    )
    scopes = [base.where(Job.params["site"].astext == site), base] if site else [base]
    for query in scopes:
        jobs = (await session.scalars(query.order_by(Job.finished_at.desc()).limit(SAMPLE))).all()
        durations = [d for j in jobs if (d := duration(j)) is not None]
        if durations:
            return round(statistics.median(durations), 1)
    return None


async def build_details(session: AsyncSession, job: Job) -> dict[str, Any]:
    """What ``GET /api/jobs/{id}`` adds for a build: ``preview_url`` and ``estimated_seconds_remaining`` (also
    top-level fields of the job) and ``cached``, in ``details``. The current step and the last lines of the
    log are the platform's own fields."""
    remaining = None
    if job.status in ACTIVE:
        expected = await expected_seconds(session, job.owner_id, (job.params or {}).get("site"))
        if expected is not None:
            since = job.started_at or job.created_at
            remaining = round(max(0.0, expected - (datetime.now(UTC) - since).total_seconds()), 1)
    result = job.result or {}
    return {
        "preview_url": result.get("preview_url"),
        "cached": bool(result.get("cached", False)),
        "estimated_seconds_remaining": remaining,
    }
