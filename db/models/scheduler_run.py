"""One run of a calendar task of the scheduler (quota reset, artifact cleanup), kept as a record.

The unique (task, scheduled_for) pair makes each occurrence run once, even with several schedulers or
after the scheduler was down at the scheduled time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class SchedulerRun(Base):
    __tablename__ = "scheduler_runs"
    __table_args__ = (UniqueConstraint("task", "scheduled_for", name="uq_scheduler_runs_task_scheduled_for"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    task: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[datetime]
    started_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    finished_at: Mapped[datetime | None]
    # running | succeeded | failed
    status: Mapped[str] = mapped_column(String(16), default="running")
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
