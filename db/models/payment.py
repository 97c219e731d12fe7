"""A paid job's payment: one row per Stripe Checkout Session (today one per job), with its refund.

``jobs`` holds the job's side (``status``); this row the money's side. It is written only by
``db.state_machine.payments`` (created with its job, then paid, expired, cancelled, refunded) and read
through ``Job.payment``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UUIDPrimaryKey, utcnow

# pending: the Checkout page is open; paid: Stripe confirmed the money; expired / cancelled: it never will be.
PAYMENT_STATUSES = ("pending", "paid", "expired", "cancelled")


class Payment(UUIDPrimaryKey, Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in PAYMENT_STATUSES)})", name="status_valid"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    # Lowercase ISO code, as Stripe writes it.
    currency: Mapped[str] = mapped_column(String(3))
    # The Checkout Session (``cs_...``), its page, and when it stops accepting payment.
    session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    url: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    intent_id: Mapped[str | None] = mapped_column(String(255))
    # Set once a refund was asked of Stripe (one per job: idempotency key ``refund-<job id>``), and its
    # status as Stripe reports it (pending, requires_action, succeeded, failed, canceled).
    refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    refund_status: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now(), onupdate=func.now())
