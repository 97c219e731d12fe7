"""Polling state of a job that waits on an external service between short messages (e.g. ``website``).

One row per polling job. It lives in Postgres, not in a worker's memory, so a job whose worker is killed
between two polls resumes where it was (same external project, same deadline) on another worker.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class JobPoll(Base):
    __tablename__ = "job_polls"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    # When the job's polling started and when it must end (the kind's deadline), both fixed at the start.
    started_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    deadline_at: Mapped[datetime]
    # When the next poll is due (informational: the delayed message is what runs it).
    next_poll_at: Mapped[datetime | None]
    # Status checks done so far, and transient failures in a row (network, 5xx) for the backoff.
    polls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Kind-specific state, e.g. the external project's id and tracking URL.
    state: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
