"""Per-user rate limits on starting jobs of the kinds that declare one (``JobKind.rate_limit``).

The count covers the user's jobs of that kind created in the sliding window, deleted ones included (deleting
a job does not give the generator's work back). It runs in the creating transaction under a per-user
advisory lock, so a burst of parallel requests cannot slip past the limit.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.registry import JobKind
from db.locks import job_lock_key
from db.models import Job
from service.auth.principal import Principal
from service.errors import TooManyRequests

# Advisory lock space of rate limits (quota checks use space 1).
_LOCK_SPACE = 2


async def enforce_rate_limit(session: AsyncSession, user: Principal, job_kind: JobKind, kind_settings: Any) -> None:
    """Raise 429 (with ``Retry-After``) when the user started too many jobs of the kind recently."""
    limit = job_kind.rate_limit(kind_settings) if job_kind.rate_limit is not None else None
    if limit is None or user.is_admin:
        return
    kind = job_kind.name
    allowed, window_seconds = limit
    await session.execute(select(func.pg_advisory_xact_lock(_LOCK_SPACE, job_lock_key(user.id) & 0x7FFFFFFF)))
    now = datetime.now(UTC)
    since = now - timedelta(seconds=window_seconds)
    recent = (
        select(Job.created_at)
        .where(Job.owner_id == user.id, Job.kind == kind, Job.created_at > since)
        .order_by(Job.created_at.desc())
    )
    # The allowed-th most recent job: once it leaves the window, the user may start one more.
    blocking = await session.scalar(recent.offset(allowed - 1).limit(1))
    if blocking is None:
        return
    retry_at = blocking + timedelta(seconds=window_seconds)
    retry_after = max(1, math.ceil((retry_at - now).total_seconds()))
    window = _describe_window(window_seconds)
    raise TooManyRequests(
        f"You can start at most {allowed} {kind} jobs per {window}. Try again in {retry_after} s "
        f"(at {retry_at:%H:%M:%S} UTC).",
        code="rate_limited",
        details={
            "kind": kind,
            "limit": allowed,
            "window_seconds": window_seconds,
            "retry_after_seconds": retry_after,
            "retry_at": retry_at.isoformat(),
        },
        headers={"Retry-After": str(retry_after)},
    )


def _describe_window(seconds: float) -> str:
    if seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return "hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} minutes"
    return f"{seconds:g} seconds"
