"""The order domain's tables: the catalog (publisher domains and their articles), orders, their immutable
versions and their audit trail. Created by one migration (``db/migrations/versions/0009_article_orders.py``)."""

from __future__ import annotations

from actors.kinds.article.models.catalog_article import CatalogArticle
from actors.kinds.article.models.domain import CatalogDomain
from actors.kinds.article.models.order import Order
from actors.kinds.article.models.order_event import OrderEvent
from actors.kinds.article.models.version import OrderVersion

__all__ = ["CatalogArticle", "CatalogDomain", "Order", "OrderEvent", "OrderVersion"]
