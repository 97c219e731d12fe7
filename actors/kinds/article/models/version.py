"""One text an order's job wrote: immutable once stored (a revision is a new version)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UUIDPrimaryKey, utcnow


class OrderVersion(UUIDPrimaryKey, Base):
    __tablename__ = "order_versions"
    __table_args__ = (UniqueConstraint("order_id", "number", name="uq_order_versions_order_number"),)

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    markdown: Mapped[str] = mapped_column(Text)
    # The quality check's report: {"passed", "problems": [...], "word_count", "attempt"}.
    qc_report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The backlink as ordered: {"target_url", "anchor_text", "article_id"?}.
    backlink: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The notes this version answers (a revision's), and who wrote them ("customer" or "admin").
    revision_notes: Mapped[str | None] = mapped_column(Text)
    revision_by: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
