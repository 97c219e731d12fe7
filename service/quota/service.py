"""How many generations a user has left this month.

Usage counts only succeeded jobs of kinds marked ``counts_toward_quota`` that finished in the current
period (from ``users.quota_period_start``, moved by the scheduler on the 1st of each month at 00:00 UTC).
Starting a job also counts the user's jobs still in progress, so a burst of parallel requests cannot go
past the limit; the check runs under a per-user lock in the creating transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.registry import all_kinds
from db.locks import lock_user_quota
from db.models import Job, User
from db.statuses import ACTIVE, JobStatus
from service.auth.principal import Principal
from service.errors import NotFound, TooManyRequests
from service.settings import Settings


class QuotaStatus(msgspec.Struct):
    can_generate: bool
    used: int
    limit: int | None
    remaining: int | None
    resets_at: datetime
    message: str
    in_progress: int = 0


def next_reset(now: datetime) -> datetime:
    """00:00 UTC on the 1st of next month."""
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def quota_kinds() -> list[str]:
    return sorted(k.name for k in all_kinds().values() if k.counts_toward_quota)


async def quota_status(session: AsyncSession, settings: Settings, user: Principal) -> QuotaStatus:
    now = datetime.now(UTC)
    resets_at = next_reset(now)
    if user.is_admin:
        return QuotaStatus(True, 0, None, None, resets_at, "Unlimited generations (administrator).")
    row = (
        await session.execute(select(User.monthly_generation_limit, User.quota_period_start).where(User.id == user.id))
    ).one_or_none()
    if row is None:
        raise NotFound("No such user.")
    limit = (
        row.monthly_generation_limit
        if row.monthly_generation_limit is not None
        else (settings.quota.monthly_generation_limit)
    )
    kinds = quota_kinds()
    used, in_progress = (
        await session.execute(
            select(
                func.count().filter(Job.status == JobStatus.SUCCEEDED.value, Job.finished_at >= row.quota_period_start),
                func.count().filter(Job.status.in_([s.value for s in ACTIVE]), Job.deleted_at.is_(None)),
            ).where(Job.owner_id == user.id, Job.kind.in_(kinds))
        )
    ).one()
    remaining = max(0, limit - used)
    can_generate = used + in_progress < limit
    reset_day = f"{resets_at:%B} {resets_at.day}, {resets_at.year}"
    if can_generate:
        left = limit - used - in_progress
        message = f"You can start {left} more {'generation' if left == 1 else 'generations'} this month."
    else:
        busy = f" and {in_progress} in progress" if in_progress else ""
        message = (
            f"You have used {used} of your {limit} generations this month{busy}. "
            f"Your quota resets on {reset_day} at 00:00 UTC."
        )
    return QuotaStatus(can_generate, used, limit, remaining, resets_at, message, in_progress)


async def enforce_quota(session: AsyncSession, settings: Settings, user: Principal) -> None:
    """Raise 429 when the user may not start another generation (call inside the creating transaction)."""
    if user.is_admin:
        return
    await session.run_sync(lock_user_quota, user.id)
    status = await quota_status(session, settings, user)
    if not status.can_generate:
        retry_after = max(1, int((status.resets_at - datetime.now(UTC)).total_seconds()))
        raise TooManyRequests(
            status.message,
            code="quota_exhausted",
            details=msgspec.to_builtins(status),
            headers={"Retry-After": str(retry_after)},
        )
