"""An article already published on a catalog domain: a backlink target and an internal-link candidate."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UUIDPrimaryKey, utcnow


class CatalogArticle(UUIDPrimaryKey, Base):
    __tablename__ = "catalog_articles"
    __table_args__ = (UniqueConstraint("domain_id", "url", name="uq_catalog_articles_domain_url"),)

    domain_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalog_domains.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    # The article's text as Markdown.
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
