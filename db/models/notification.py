"""One notification of one job event on one channel: the record that makes delivery happen exactly once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow

NOTIFICATION_STATUSES = ("pending", "sent", "failed", "skipped")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # Exactly once per (job, event, channel): a second hook call or a repair pass finds the row.
        UniqueConstraint("job_id", "event", "channel", name="uq_notifications_job_event_channel"),
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in NOTIFICATION_STATUSES) + ")", name="status_valid"),
        # The repair pass looks for pending notifications whose retry is overdue.
        Index("ix_notifications_pending_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    # succeeded | failed | timed_out | message_to_user
    event: Mapped[str] = mapped_column(String(32))
    # email | webhook | ultramsg | whatsapp, or "none" when the user chose no channel (status skipped)
    channel: Mapped[str] = mapped_column(String(16))
    # The address it goes to, fixed when the row is made (the user's own address: not a secret).
    recipient: Mapped[str] = mapped_column(String(2048))
    locale: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    sent_at: Mapped[datetime | None]
