"""An order for a new article on a catalog domain or for a backlink in one of its articles.

Its ``status`` moves only through ``actors.kinds.article.order_state`` (conditional updates); the work is done
by jobs (``current_job_id`` is the one running or last run), and every text they write is a version.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from actors.kinds.article.statuses import ORDER_STATUSES, ORDER_TYPES
from db.base import Base, UUIDPrimaryKey, utcnow


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Order(UUIDPrimaryKey, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({_one_of(ORDER_STATUSES)})", name="status_valid"),
        CheckConstraint(f"type IN ({_one_of(ORDER_TYPES)})", name="type_valid"),
        CheckConstraint("min_words >= 1 AND max_words >= min_words", name="words_valid"),
        Index("ix_orders_owner_created", "owner_id", text("created_at DESC")),
        Index("ix_orders_status_created", "status", "created_at"),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    domain_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalog_domains.id", ondelete="RESTRICT"))
    # The catalog article a backlink goes into (backlink orders only).
    article_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("catalog_articles.id", ondelete="RESTRICT"))
    topic: Mapped[str] = mapped_column(Text, default="", server_default="")
    niche: Mapped[str] = mapped_column(Text, default="", server_default="")
    keyword: Mapped[str] = mapped_column(Text, default="", server_default="")
    target_url: Mapped[str] = mapped_column(Text)
    anchor_text: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    min_words: Mapped[int] = mapped_column(Integer, default=800, server_default="800")
    max_words: Mapped[int] = mapped_column(Integer, default=2000, server_default="2000")
    allow_external_links: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    complimentary: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    locale: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    amount_cents: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3))
    # The first job (it carries the payment); the job running or last run.
    first_job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    current_job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    # The version submitted for review, then approved (final once the order is completed).
    submitted_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("order_versions.id", ondelete="SET NULL", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
