"""The operator's API against the real API and worker processes: the queue overview and live workers, pausing
and resuming a queue, the job search across users, the dashboard's live stream, and who may use them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import redis
from httpx_sse import aconnect_sse

from tests.conftest import ApiUser
from tests.integration.test_system import TERMINAL, _samples, poll, run_job, scrape
from tests.support.services import ServiceProcess

# Longer than the worker's pause check (once a second), with room for a busy machine.
PAUSE_SETTLE_SECONDS = 3.0


async def overview(admin: ApiUser) -> dict[str, Any]:
    response = await admin.client.get("/api/admin/overview")
    assert response.status_code == 200, response.text
    body = dict(response.json())
    body["by_queue"] = {q["queue"]: q for q in body["queues"]}
    return body


async def test_admin_endpoints_are_not_found_for_other_users(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    user = await make_user()
    for method, path in [
        ("GET", "/api/admin/overview"),
        ("GET", "/api/admin/jobs"),
        ("GET", "/api/admin/stream"),
        ("POST", "/api/admin/queues/noop/pause"),
        ("POST", "/api/admin/queues/noop/resume"),
    ]:
        response = await user.client.request(method, path)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"


async def test_overview_lists_queues_and_live_workers(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess
) -> None:
    admin = await make_user(admin=True)
    # The test Redis db was just flushed: wait for the worker's next presence beat.
    body = await poll(lambda: overview(admin), lambda b: b["by_queue"]["noop"]["workers"] >= 1)
    assert {"test", "noop", "notifications", "payments"} <= set(body["by_queue"])
    noop = body["by_queue"]["noop"]
    assert set(noop) == {
        "queue", "paused", "waiting", "delayed", "running", "retrying", "failed_1h", "dead_letters", "workers"
    }  # fmt: skip
    assert noop["paused"] is False
    assert noop["workers"] >= 1
    presence = next(w for w in body["workers"] if "noop" in w["queues"])
    assert presence["pid"] > 0 and presence["host"]
    assert presence["threads"] == 4
    assert not any(q.endswith(".DQ") for q in presence["queues"])
    assert 0 <= presence["busy"] <= presence["threads"]


async def test_a_paused_queue_keeps_its_messages_until_resumed(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess, redis_client: redis.Redis, api_url: str
) -> None:
    admin = await make_user(admin=True)
    user = await make_user()
    # Given the "noop" queue is paused
    response = await admin.client.post("/api/admin/queues/noop/pause")
    assert response.status_code == 200, response.text
    assert response.json() == {"queue": "noop", "paused": True}
    await asyncio.sleep(PAUSE_SETTLE_SECONDS)
    try:
        # When a job is started on it
        created = await user.client.post("/api/jobs", json={"kind": "test_noop", "params": {}})
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        await asyncio.sleep(PAUSE_SETTLE_SECONDS)
        # Then the worker took nothing: the job still waits and its message is still in the queue
        assert (await user.client.get(f"/api/jobs/{job_id}")).json()["status"] == "queued"
        assert redis_client.llen("dramatiq:noop") == 1
        noop = (await overview(admin))["by_queue"]["noop"]
        assert (noop["paused"], noop["waiting"], noop["running"]) == (True, 1, 0)
        metrics = await scrape(api_url)
        assert _samples(metrics, "genjobs_queue_paused")['{queue="noop"}'] == 1.0
        # while other queues still run
        assert (await run_job(user, "test_sleep", {"steps": 0}))["status"] == "succeeded"
    finally:
        # When the queue is resumed
        response = await admin.client.post("/api/admin/queues/noop/resume")
        assert response.status_code == 200, response.text
        assert response.json() == {"queue": "noop", "paused": False}

    # Then the job runs
    async def fetch() -> dict[str, Any]:
        return dict((await user.client.get(f"/api/jobs/{job_id}")).json())

    assert (await poll(fetch, lambda j: j["status"] in TERMINAL))["status"] == "succeeded"


async def test_pausing_an_unknown_queue_is_not_found(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    admin = await make_user(admin=True)
    response = await admin.client.post("/api/admin/queues/nope/pause")
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["code"] == "unknown_queue"
    assert "nope" in error["message"] and "noop" in error["details"]["known"]


async def test_job_search_across_users(make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess) -> None:
    # Given jobs of two users
    admin = await make_user(admin=True)
    alice = await make_user(email="alice.search@example.com")
    bob = await make_user(email="bob.search@example.com")
    done = await run_job(alice, "test_noop")
    failed = await run_job(bob, "test_sleep", {"steps": 0, "fail_permanently": True})

    async def search(**params: Any) -> dict[str, Any]:
        response = await admin.client.get("/api/admin/jobs", params=params)
        assert response.status_code == 200, response.text
        return dict(response.json())

    # When the admin searches by part of an owner's email, by status, kind and id
    by_owner = await search(owner="ALICE.search")
    assert [(j["id"], j["owner_email"]) for j in by_owner["items"]] == [(done["id"], "alice.search@example.com")]
    by_status = await search(status="failed")
    assert [j["id"] for j in by_status["items"]] == [failed["id"]]
    assert by_status["items"][0]["error"]
    assert (await search(kind="test_noop"))["total"] == 1
    assert [j["id"] for j in (await search(id=failed["id"]))["items"]] == [failed["id"]]
    everything = await search(created_after="2000-01-01T00:00:00Z")
    assert everything["total"] == 2
    assert (await search(created_before="2000-01-01T00:00:00Z"))["total"] == 0
    # A literal % in the search matches only itself
    assert (await search(owner="%"))["total"] == 0
    # And the admin acts on a job through the owner's own API, recorded as the admin
    retried = await admin.client.post("/api/jobs/retry", json={"ids": [failed["id"]]})
    assert retried.status_code == 200, retried.text
    history = (await admin.client.get(f"/api/jobs/{failed['id']}/history")).json()
    actors = [e["actor"] for e in history]
    assert f"user:{admin.id}" in actors


async def test_job_search_refuses_bad_filters(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    admin = await make_user(admin=True)
    response = await admin.client.get("/api/admin/jobs", params={"status": "sleeping"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_status"
    response = await admin.client.get("/api/admin/jobs", params={"id": "not-a-uuid"})
    assert response.status_code == 400, response.text
    response = await admin.client.get("/api/admin/jobs", params={"created_after": "yesterday"})
    assert response.status_code == 400, response.text


async def test_dashboard_stream_sends_overviews(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess
) -> None:
    admin = await make_user(admin=True)
    seen: list[dict[str, Any]] = []
    async with aconnect_sse(admin.client, "GET", "/api/admin/stream") as source:
        assert source.response.status_code == 200
        async for event in source.aiter_sse():
            assert event.event == "overview"
            seen.append(json.loads(event.data))
            if len(seen) == 2:
                break
    assert all({"at", "queues", "workers"} <= set(o) for o in seen)
    assert seen[0]["at"] < seen[1]["at"]


async def test_refused_stripe_webhooks_are_counted(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        response = await client.post("/api/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    assert response.status_code == 400

    async def failures() -> dict[str, float]:
        return _samples(await scrape(api_url), "genjobs_payments_webhook_failures_total")

    counted = await poll(failures, lambda f: f.get('{reason="invalid_signature"}', 0) >= 1)
    assert counted['{reason="invalid_signature"}'] >= 1
