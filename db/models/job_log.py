"""The last lines of output of the programs a job ran (``JobContext.run_process``).

One row per job that ran a program, rewritten while it runs (at most every few seconds) and when each
program ends. The whole output is a file artifact (``process.log``); this row is what a status page shows
at once, and what is left to read when a worker died mid-build.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class JobLog(Base):
    __tablename__ = "job_logs"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    # The last lines (at most 200), oldest first, ANSI codes stripped.
    lines: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
