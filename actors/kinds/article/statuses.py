"""Order types and statuses, and which customer and admin actions each status allows.

``pending_payment -> processing -> quality_check -> admin_review -> completed``, plus ``failed`` (refunded
when paid) and ``cancelled`` (an unpaid order whose Checkout expired or was cancelled). A revision (the
customer's, or an admin's rejection) goes back to ``processing``.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PROCESSING = "processing"
    QUALITY_CHECK = "quality_check"
    ADMIN_REVIEW = "admin_review"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OrderType(StrEnum):
    ARTICLE = "article"
    BACKLINK = "backlink"


ORDER_STATUSES: tuple[str, ...] = tuple(s.value for s in OrderStatus)
ORDER_TYPES: tuple[str, ...] = tuple(t.value for t in OrderType)
FINAL = frozenset({OrderStatus.COMPLETED, OrderStatus.FAILED, OrderStatus.CANCELLED})
# The steps of the processing, "step X of 5" on the order page (the job's progress steps, in order).
STEPS: tuple[tuple[str, str], ...] = (
    ("context", "Reading the domain and its internal links"),
    ("generating", "Writing with the language model"),
    ("quality_check", "Checking the quality"),
    ("storing", "Storing the new version"),
    ("review", "Ready for your review"),
)

# The kinds (one queue each) and which writes the first version of each order type.
ARTICLE_KIND = "article"
BACKLINK_KIND = "backlink"
REVISION_KIND = "article_revision"
ORDER_KINDS: tuple[str, ...] = (ARTICLE_KIND, BACKLINK_KIND, REVISION_KIND)
FIRST_KIND = {OrderType.ARTICLE: ARTICLE_KIND, OrderType.BACKLINK: BACKLINK_KIND}
