"""A publisher domain of the catalog: where articles are written and backlinks placed, and their prices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UUIDPrimaryKey, utcnow


class CatalogDomain(UUIDPrimaryKey, Base):
    __tablename__ = "catalog_domains"
    __table_args__ = (CheckConstraint("article_price_cents >= 0 AND backlink_price_cents >= 0", name="prices_valid"),)

    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    niche: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The language articles on this domain are written in (ISO 639-1, e.g. "en", "es").
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    article_price_cents: Mapped[int] = mapped_column(Integer)
    backlink_price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="usd", server_default="usd")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
