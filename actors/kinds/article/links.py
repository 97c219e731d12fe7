"""Where an order is seen: its page in the web UI, as its jobs' results and notifications link to it."""

from __future__ import annotations

import uuid


def order_page_url(public_url: str, order_id: uuid.UUID | str) -> str:
    return f"{public_url.rstrip('/')}/orders/{order_id}"


# The order emails' templates (``actors/notify/templates/<locale>/orders/``).
NOTIFY_TEMPLATES = "orders"


def order_job_result(public_url: str, order_id: uuid.UUID | str) -> dict[str, str]:
    """What an order's job result always carries: the order page to link to and the emails' template set."""
    return {"tracking_url": order_page_url(public_url, order_id), "notify_templates": NOTIFY_TEMPLATES}
