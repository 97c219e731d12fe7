"""One Stripe webhook event we received: the unique event id makes a redelivered event a no-op."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class StripeEvent(Base):
    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # Stripe's ``evt_...`` id; unique so two deliveries of one event cannot both act.
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(128))
    # The job the event is about, when it names one (no foreign key: an event may name an unknown job).
    job_id: Mapped[uuid.UUID | None]
    # What handling it did: queued | expired | ignored | rejected:<reason> ...
    outcome: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
