"""Helpers for payment tests: create a paid job, deliver signed webhooks, read the job's history."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import redis
from sqlalchemy import Engine, text

from tests.support.fake_stripe import FakeStripe, event_body, signed_headers


async def create_paid_job(client: httpx.AsyncClient, kind: str = "test_paid", **params: Any) -> dict[str, Any]:
    """POST a paid job; asserts 202 with a payment URL and returns the response body."""
    response = await client.post("/api/jobs", json={"kind": kind, "params": params})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "pending_payment", body
    assert body["payment_url"], body
    return body


async def deliver(
    api_url: str,
    type_: str,
    session: dict[str, Any],
    *,
    event_id: str | None = None,
    timestamp: int | None = None,
    secret: str | None = None,
) -> httpx.Response:
    """POST a signed Stripe event about ``session`` to the API's webhook, as Stripe does."""
    body = event_body(type_, session, event_id=event_id)
    headers = signed_headers(body, timestamp=timestamp, **({"secret": secret} if secret else {}))
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        return await client.post("/api/webhooks/stripe", content=body, headers=headers)


async def pay_and_notify(api_url: str, fake: FakeStripe, job_id: str) -> dict[str, Any]:
    """The customer pays and Stripe's ``checkout.session.completed`` arrives; asserts it queued the job."""
    session = fake.pay(fake.session_for_job(job_id)["id"])
    response = await deliver(api_url, "checkout.session.completed", session)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "queued", response.text
    return session


def history(engine: Engine, job_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT type, from_status, to_status, actor, detail FROM job_events WHERE job_id = :id ORDER BY id"),
            {"id": job_id},
        ).mappings()
        return [dict(r) for r in rows]


def stripe_event_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM stripe_events")).scalar_one())


async def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    """Poll ``predicate`` until it returns something truthy (without blocking the event loop)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def completions(redis_client: redis.Redis, job_id: str) -> int:
    """How many times the test kind's body really finished for this job."""
    return int(redis_client.get(f"test:completions:{job_id}") or 0)  # type: ignore[arg-type]


def types(engine: Engine, job_id: str) -> list[str]:
    """The job's history as event types, oldest first."""
    return [e["type"] for e in history(engine, job_id)]
