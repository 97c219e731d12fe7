"""Calendar tasks (monthly, daily at a fixed UTC time), each occurrence run once and recorded.

A task's latest occurrence at or before now is claimed by inserting its ``scheduler_runs`` row; the unique
(task, scheduled_for) pair means a second scheduler, or a restarted one, never runs it twice, and a
scheduler that was down at the time runs the missed occurrence when it comes back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from db.models import SchedulerRun

log = logging.getLogger("genjobs.scheduler")


def monthly_on_first(now: datetime) -> datetime:
    """00:00 UTC on the 1st of the current month."""
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def daily_at(hour: int) -> Callable[[datetime], datetime]:
    def latest(now: datetime) -> datetime:
        today = datetime(now.year, now.month, now.day, hour, tzinfo=UTC)
        return today if now >= today else today - timedelta(days=1)

    return latest


@dataclass
class CalendarTask:
    name: str
    latest_occurrence: Callable[[datetime], datetime]
    run: Callable[[datetime], dict[str, Any]]


def run_due(sessions: sessionmaker[Session], tasks: list[CalendarTask], now: datetime | None = None) -> list[str]:
    """Run every task whose latest occurrence has no run yet; returns the names of the tasks run."""
    now = now or datetime.now(UTC)
    ran: list[str] = []
    for task in tasks:
        scheduled_for = task.latest_occurrence(now)
        with sessions.begin() as session:
            run_id = session.execute(
                insert(SchedulerRun)
                .values(task=task.name, scheduled_for=scheduled_for, status="running")
                .on_conflict_do_nothing(constraint="uq_scheduler_runs_task_scheduled_for")
                .returning(SchedulerRun.id)
            ).scalar_one_or_none()
        if run_id is None:
            continue
        status, detail = "succeeded", {}
        try:
            detail = task.run(scheduled_for)
        except Exception as exc:
            log.exception("calendar task %s failed", task.name)
            status, detail = "failed", {"error": f"{type(exc).__name__}: {exc}"}
        with sessions.begin() as session:
            session.execute(
                update(SchedulerRun)
                .where(SchedulerRun.id == run_id)
                .values(status=status, detail=detail, finished_at=func.now())
            )
        log.info("calendar task %s for %s: %s %s", task.name, scheduled_for.isoformat(), status, detail)
        ran.append(task.name)
    return ran
