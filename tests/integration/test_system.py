"""Operational endpoints of the real API: health, queue statistics, Prometheus metrics, the OpenAPI schema."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SCRAPER_HEADERS, ApiUser
from tests.support.services import ServiceProcess

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "expired"}
QUEUE_FIELDS = {"queue", "waiting", "delayed", "running", "dead_lettered", "succeeded_24h", "failed_24h"}


async def poll(fetch: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], timeout: float = 20) -> Any:
    """Call ``fetch`` until ``done(value)``; fail with the last value at the deadline."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = await fetch()
        if done(value):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s; last value: {value}")


async def run_job(user: ApiUser, kind: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await user.client.post("/api/jobs", json={"kind": kind, "params": params or {}})
    assert response.status_code == 202, response.text

    async def fetch() -> dict[str, Any]:
        return dict((await user.client.get(f"/api/jobs/{response.json()['id']}")).json())

    return dict(await poll(fetch, lambda job: job["status"] in TERMINAL))


async def queue_stats(user: ApiUser) -> dict[str, dict[str, Any]]:
    response = await user.client.get("/api/queues")
    assert response.status_code == 200, response.text
    return {q["queue"]: q for q in response.json()}


async def test_health_reports_database_redis_and_workers(api_url: str, worker: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:

        async def fetch() -> httpx.Response:
            return await client.get("/api/health")

        # The test Redis db was just flushed: wait for the worker's next heartbeat.
        response = await poll(fetch, lambda r: r.json().get("workers", 0) >= 1, timeout=15)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"status", "database", "redis", "workers", "sandbox", "queues", "providers"}
    assert (body["status"], body["database"], body["redis"]) == ("ok", "ok", "ok")
    assert body["workers"] >= 1
    # Which queues have a live worker (from the workers' presence beats, a few seconds apart)
    body = (await poll(lambda: client_get_health(api_url), lambda r: r.json()["queues"].get("noop", 0) >= 1)).json()
    assert body["queues"]["test"] >= 1
    # Configured providers: the fake Stripe answers; llms.txt declares its Ollama (no Gemini key: not probed)
    stripe = body["providers"]["stripe"]
    assert stripe["reachable"] is True
    assert stripe["detail"].startswith("HTTP ")
    assert set(body["providers"]) >= {"stripe", "ollama"} and "gemini" not in body["providers"]
    assert "127.0.0.1" not in str(body["providers"])
    # and they are cached: the next check makes no new probe
    again = (await client_get_health(api_url)).json()
    assert again["providers"]["stripe"]["checked_at"] == stripe["checked_at"]
    # The suite installs bubblewrap (.ci/run), so programs run by jobs are sandboxed here.
    assert body["sandbox"] == {"available": True, "reason": None}


async def client_get_health(api_url: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=api_url) as client:
        return await client.get("/api/health")


async def test_queue_stats_need_authentication(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        response = await client.get("/api/queues")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_queues_list_every_queue_of_every_kind(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    user = await make_user()
    stats = await queue_stats(user)
    assert {"test", "test.high", "test.low", "noop", "noop.high", "noop.low"} <= set(stats)
    # and the service's own queues: notification deliveries and Stripe refunds
    assert {"notifications", "payments"} <= set(stats)
    for name, queue in stats.items():
        assert set(queue) == QUEUE_FIELDS, name
        assert all(isinstance(queue[f], int) and queue[f] >= 0 for f in QUEUE_FIELDS - {"queue"}), queue
    # Counts from Postgres start at zero (tables are emptied before each test)
    assert (stats["test"]["running"], stats["test"]["succeeded_24h"], stats["test"]["failed_24h"]) == (0, 0, 0)


async def test_queue_counts_follow_jobs(make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess) -> None:
    user = await make_user()
    # Given a job that fails permanently on queue "test" and one that succeeds on queue "noop"
    assert (await run_job(user, "test_sleep", {"fail_permanently": True}))["status"] == "failed"
    assert (await run_job(user, "test_noop"))["status"] == "succeeded"

    # Then "test" shows one dead letter and one failure, "noop" one success
    async def fetch() -> dict[str, dict[str, Any]]:
        return await queue_stats(user)

    # The dead letter is written by Dramatiq just after the job's status: wait for it.
    stats = await poll(fetch, lambda s: s["test"]["dead_lettered"] == 1)
    assert stats["test"]["failed_24h"] == 1
    assert stats["test"]["succeeded_24h"] == 0
    assert (stats["test"]["waiting"], stats["test"]["running"]) == (0, 0)
    assert stats["noop"]["succeeded_24h"] == 1
    assert (stats["noop"]["failed_24h"], stats["noop"]["dead_lettered"]) == (0, 0)
    # When a long job is running, "running" counts it
    long = await user.client.post("/api/jobs", json={"kind": "test_sleep", "params": {"steps": 1000, "delay": 0.05}})
    assert long.status_code == 202, long.text
    stats = await poll(fetch, lambda s: s["test"]["running"] == 1)
    assert stats["test"]["waiting"] == 0
    assert (await user.client.delete(f"/api/jobs/{long.json()['id']}")).status_code == 204


async def test_a_job_that_succeeds_on_retry_counts_once(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess
) -> None:
    # Given a job that fails its first attempt and is retried after a backoff
    user = await make_user()
    response = await user.client.post("/api/jobs", json={"kind": "test_sleep", "params": {"steps": 0, "fail_times": 1}})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]

    async def fetch() -> dict[str, Any]:
        return dict((await user.client.get(f"/api/jobs/{job_id}")).json())

    # Then it ends succeeded on its second attempt and counts as one success, no failure
    job = await poll(fetch, lambda j: j["status"] in TERMINAL)
    assert (job["status"], job["attempts"]) == ("succeeded", 2)
    stats = await queue_stats(user)
    assert (stats["test"]["succeeded_24h"], stats["test"]["failed_24h"], stats["test"]["dead_lettered"]) == (1, 0, 0)
    assert stats["test"]["delayed"] == 0


def _samples(metrics: str, name: str) -> dict[str, float]:
    """``{labels: value}`` of one metric's samples in Prometheus text format."""
    found = {}
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}(\{{[^}}]*\}})?\s+(\S+)", line)
        if match:
            found[match.group(1) or ""] = float(match.group(2))
    return found


async def scrape(api_url: str) -> str:
    async with httpx.AsyncClient(base_url=api_url, headers=SCRAPER_HEADERS) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


# Longer than the processes' flush interval (1 s): increments of an earlier test have reached Redis by then.
SETTLE_SECONDS = 2.5


async def test_metrics_in_prometheus_text(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess, api_url: str
) -> None:
    # Counters live in Redis and add up over time: this test reads what its own jobs added
    await asyncio.sleep(SETTLE_SECONDS)
    before = await scrape(api_url)

    def added(body: str, name: str, labels: str) -> float:
        return _samples(body, name).get(labels, 0.0) - _samples(before, name).get(labels, 0.0)

    # Given a succeeded and a failed job, and a long one running
    user = await make_user()
    await run_job(user, "test_noop")
    await run_job(user, "test_sleep", {"fail_permanently": True})
    long = await user.client.post("/api/jobs", json={"kind": "test_sleep", "params": {"steps": 1000, "delay": 0.05}})
    assert long.status_code == 202, long.text

    # When Prometheus scrapes with its token (workers flush their counters to Redis every second)
    def recorded(body: str) -> bool:
        return (
            added(body, "genjobs_job_transitions_total", '{kind="test_noop",queue="noop",status="succeeded"}') >= 1
            and added(body, "genjobs_job_transitions_total", '{kind="test_sleep",queue="test",status="failed"}') >= 1
            and _samples(body, "genjobs_jobs").get('{kind="test_sleep",queue="test",status="running"}') == 1.0
            and _samples(body, "genjobs_dead_letters").get('{queue="test"}') == 1.0
            # (the gauges come from Postgres at once, the counters a flush later: wait for both)
            and added(body, "genjobs_job_transitions_total", '{kind="test_sleep",queue="test",status="running"}') >= 2
        )

    body = await poll(lambda: scrape(api_url), recorded)
    # Then creations and claims are counted (two jobs created on queue "test", both claimed)
    assert added(body, "genjobs_job_transitions_total", '{kind="test_sleep",queue="test",status="queued"}') >= 2
    assert added(body, "genjobs_job_transitions_total", '{kind="test_sleep",queue="test",status="running"}') >= 2
    # and active jobs are gauges (finished ones are counted by their transitions, never by a table scan)
    assert all('status="succeeded"' not in labels for labels in _samples(body, "genjobs_jobs"))
    # and queue wait and run time are histograms per kind and queue (Prometheus text sorts the labels)
    assert "# TYPE genjobs_job_run_seconds histogram" in body
    assert "# TYPE genjobs_job_queue_wait_seconds histogram" in body
    noop = '{kind="test_noop",le="%s",queue="noop",status="succeeded"}'
    assert added(body, "genjobs_job_run_seconds_bucket", noop % "+Inf") == 1.0
    assert added(body, "genjobs_job_run_seconds_bucket", noop % "60.0") == 1.0
    assert added(body, "genjobs_job_queue_wait_seconds_count", '{kind="test_noop",queue="noop"}') == 1.0
    # and the workers, their queues and the open SSE streams are there
    assert _samples(body, "genjobs_workers_live")[""] >= 1
    assert _samples(body, "genjobs_queue_workers")['{queue="noop"}'] >= 1
    assert _samples(body, "genjobs_queue_paused")['{queue="noop"}'] == 0
    assert _samples(body, "genjobs_sse_streams_open")[""] >= 0
    assert (await user.client.delete(f"/api/jobs/{long.json()['id']}")).status_code == 204


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", "Basic dGVzdC1tZXRyaWNzLXRva2Vu", "test-metrics-token"]
)
async def test_metrics_need_the_token(
    make_user: Callable[..., Awaitable[ApiUser]], api_url: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(base_url=api_url, headers=headers) as client:
        response = await client.get("/metrics")
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"
    assert "genjobs_jobs" not in response.text
    # A user's API key is not the scraper's token either
    user = await make_user()
    assert (await user.client.get("/metrics")).status_code == 401


async def test_metrics_are_off_without_a_token(strict_api_url: str) -> None:
    async with httpx.AsyncClient(base_url=strict_api_url, headers=SCRAPER_HEADERS) as client:
        response = await client.get("/metrics")
    assert response.status_code == 404, response.text
    assert "genjobs" not in response.text


async def test_metrics_do_not_count_deleted_jobs(make_user: Callable[..., Awaitable[ApiUser]], api_url: str) -> None:
    user = await make_user()
    response = await user.client.post("/api/jobs", json={"kind": "test_noop", "priority": "low"})
    assert (await user.client.delete(f"/api/jobs/{response.json()['id']}")).status_code == 204
    async with httpx.AsyncClient(base_url=api_url, headers=SCRAPER_HEADERS) as client:
        body = (await client.get("/metrics")).text
    assert _samples(body, "genjobs_jobs") == {}


async def test_openapi_schema_lists_the_operations(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {
        (method.upper(), path): op["operationId"]
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    expected = {
        ("POST", "/api/auth/login"): "login",
        ("POST", "/api/auth/logout"): "logout",
        ("GET", "/api/me"): "me",
        ("GET", "/api/keys"): "listApiKeys",
        ("POST", "/api/keys"): "createApiKey",
        ("DELETE", "/api/keys/{key_id}"): "revokeApiKey",
        ("POST", "/api/jobs"): "createJob",
        ("GET", "/api/jobs"): "listJobs",
        ("GET", "/api/jobs/{job_id}"): "getJob",
        ("DELETE", "/api/jobs/{job_id}"): "deleteJob",
        ("POST", "/api/jobs/{job_id}/retry"): "retryJob",
        ("GET", "/api/jobs/{job_id}/history"): "getJobHistory",
        ("GET", "/api/jobs/{job_id}/events"): "streamJobEvents",
        ("GET", "/api/health"): "health",
        ("GET", "/api/queues"): "queueStats",
    }
    assert {k: operations.get(k) for k in expected} == expected
    assert len(set(operations.values())) == len(operations), "operation ids must be unique"


async def test_jobs_behind_busy_workers_count_as_waiting(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess
) -> None:
    # Given more long jobs on queue "test" than the worker has threads (4)
    user = await make_user()
    ids = []
    for _ in range(7):
        response = await user.client.post(
            "/api/jobs", json={"kind": "test_sleep", "params": {"steps": 400, "delay": 0.05}}
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])

    async def fetch() -> tuple[dict[str, Any], int]:
        stats = (await queue_stats(user))["test"]
        queued = (await user.client.get("/api/jobs", params={"status": "queued"})).json()["total"]
        return stats, queued

    try:
        # Then the queue stats count every job that waits for a free thread, including the ones the
        # worker has already fetched from Redis but not started (Dramatiq prefetches twice its threads)
        stats, queued = await poll(
            fetch,
            lambda v: v[0]["running"] >= 1 and v[0]["running"] + v[0]["waiting"] == 7 and v[0]["waiting"] == v[1],
            timeout=10,
        )
        assert queued >= 1 and stats["running"] <= 4
    finally:
        for job_id in ids:
            await user.client.delete(f"/api/jobs/{job_id}")


async def test_dashboard_and_alert_rules_use_only_exported_metrics(api_url: str) -> None:
    # Every series the Grafana dashboard and the example alert rules query is one /metrics serves
    root = Path(__file__).resolve().parents[2] / "deploy"
    referenced: set[str] = set()
    for path in [root / "grafana" / "genjobs.json", root / "prometheus" / "alerts.yml"]:
        referenced |= set(re.findall(r"genjobs_[a-z_]+", path.read_text()))
    families = set(re.findall(r"^# TYPE (\S+) ", await scrape(api_url), flags=re.MULTILINE))
    names = {f"{f}{suffix}" for f in families for suffix in ("", "_total", "_bucket", "_count", "_sum")}
    assert len(referenced) > 10, referenced
    assert referenced <= names, sorted(referenced - names)
