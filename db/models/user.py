"""A person or program that owns jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UUIDPrimaryKey, utcnow


class User(UUIDPrimaryKey, Base):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email_lower", func.lower(text("email")), unique=True),)

    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Generations allowed per month; NULL means the configured default.
    monthly_generation_limit: Mapped[int | None] = mapped_column(Integer)
    # Start of the current quota period; the scheduler moves it on the 1st of each month.
    quota_period_start: Mapped[datetime] = mapped_column(server_default=text("date_trunc('month', now())"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
