"""A user's notification settings: the default channel and target, and the webhook signing secret."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class NotificationPreference(Base):
    __tablename__ = "notification_preferences"
    __table_args__ = (
        CheckConstraint("(channel IS NULL) = (target IS NULL)", name="channel_with_target"),
        CheckConstraint(
            "channel IS NULL OR channel IN ('email', 'webhook', 'ultramsg', 'whatsapp')", name="channel_valid"
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str | None] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(2048))
    # Signs webhook bodies (HMAC-SHA256); shown to the user once. Signing needs it, so it is sealed with
    # SECRET_KEY (actors.notify.sealing), not hashed.
    webhook_secret: Mapped[str | None] = mapped_column(String(512))
    webhook_secret_created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
