"""Helpers for article-order tests: a catalog, an order, waiting for its status, reading its emails."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.support.notify_receivers import Receivers

LONG_BODY = "\n\n".join(
    ["# Tea history", "Tea has a long history in many countries.", "## Origins"]
    + ["Tea was first grown in the hills, picked by hand and dried in the sun before anyone sold it abroad."] * 60
)


async def make_catalog(admin: httpx.AsyncClient, host: str = "blog.example.com", **prices: int) -> dict[str, Any]:
    """A domain with one article (an internal-link candidate and a backlink target)."""
    domain = await admin.post(
        "/api/catalog/domains",
        json={
            "hostname": host,
            "niche": "tea",
            "language": "en",
            "article_price_cents": prices.get("article", 4900),
            "backlink_price_cents": prices.get("backlink", 1900),
        },
    )
    assert domain.status_code == 201, domain.text
    article = await admin.post(
        f"/api/catalog/domains/{host}/articles",
        json={"title": "Tea history", "url": f"https://{host}/history", "body": LONG_BODY},
    )
    assert article.status_code == 201, article.text
    return {"domain": domain.json(), "article": article.json()}


def article_order(host: str = "blog.example.com", **changes: Any) -> dict[str, Any]:
    return {
        "type": "article",
        "domain": host,
        "topic": "Brewing green tea",
        "keyword": "green tea",
        "target_url": "https://shop.test/green-tea",
        "anchor_text": "green tea shop",
        **changes,
    }


async def wait_for_order(client: httpx.AsyncClient, order_id: str, status: str, timeout: float = 90) -> dict[str, Any]:
    """Poll the order until it has ``status`` (generous deadline: the machine is shared)."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await client.get(f"/api/orders/{order_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"order {order_id} never became {status}; last seen: {body.get('status')} {body.get('jobs')}")


async def wait_for_subjects(receivers: Receivers, to: str, count: int, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    subjects: list[str] = []
    while time.monotonic() < deadline:
        subjects = [m.email["Subject"] for m in receivers.delivered(to) if m.email is not None]
        if len(subjects) >= count:
            return subjects
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {count} emails to {to}, got {subjects}")
