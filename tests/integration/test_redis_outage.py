"""With Redis down the API refuses new jobs with a clear 503 and stores nothing half-way; health says why.

A private redis-server is started for this test so killing it leaves the shared test Redis alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.conftest import ApiUser, start_api
from tests.support.private_servers import PrivateRedis
from tests.support.services import ServiceProcess


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis.start()
    yield server
    server.kill()


async def test_job_creation_fails_cleanly_when_redis_is_down(
    private_redis: PrivateRedis,
    start_service: Callable[..., ServiceProcess],
    make_user: Callable[..., Awaitable[ApiUser]],
    db_engine: Engine,
) -> None:
    # Given an API process whose Redis is the private server, and a user
    api, url = start_api(start_service, env={"REDIS_URL": private_redis.url})
    user = await make_user()
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {user.api_key}"}, timeout=30
    ) as client:
        first = await client.post("/api/jobs", json={"kind": "test_noop", "params": {"n": 1}})
        assert first.status_code == 202, first.text
        first_id = first.json()["id"]
        # When Redis dies
        private_redis.kill()
        # Then a new job is refused with a 503 that says the queue (Redis) is down
        started = time.monotonic()
        second = await client.post("/api/jobs", json={"kind": "test_noop", "params": {"n": 2}})
        assert time.monotonic() - started < 15, "the API must fail fast, not hang on a dead Redis"
        assert second.status_code == 503, second.text
        assert int(second.headers["retry-after"]) > 0
        error = second.json()["error"]
        assert error["code"] == "service_unavailable"
        assert "Redis" in error["message"] and "queue" in error["message"]
        assert error["details"]["component"] == "redis"
        # And nothing of the second job was stored: only the first job and its own events exist
        with db_engine.connect() as conn:
            jobs = conn.execute(text("SELECT id::text, params->>'n' FROM jobs")).all()
            event_jobs = set(conn.execute(text("SELECT DISTINCT job_id::text FROM job_events")).scalars())
        assert [tuple(row) for row in jobs] == [(first_id, "1")]
        assert event_jobs == {first_id}
        # And the API keeps answering: reads from Postgres still work
        assert (await client.get(f"/api/jobs/{first_id}")).status_code == 200
        listed = await client.get("/api/jobs")
        assert listed.status_code == 200 and listed.json()["total"] == 1
        # And health is 503 naming Redis, with the database still fine
        health = await client.get("/api/health")
        assert health.status_code == 503, health.text
        body = health.json()
        assert body["status"] != "ok"
        assert body["database"] == "ok"
        assert body["redis"] != "ok" and body["redis"].startswith("error")
        assert body["workers"] == 0
        # And a job can still be deleted: Postgres is the truth, the cancel flag is only a shortcut
        deleted = await client.delete(f"/api/jobs/{first_id}")
        assert deleted.status_code == 204, deleted.text
        assert (await client.get(f"/api/jobs/{first_id}")).status_code == 404
        with db_engine.connect() as conn:
            status = conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": first_id}).scalar_one()
        # cancelled; or finished, if a scheduler of this session re-sent it to the shared Redis meanwhile
        assert status in ("cancelled", "succeeded")
        # When Redis comes back, then jobs are accepted again without restarting the API
        private_redis.restart()
        deadline = time.monotonic() + 15
        while (third := await client.post("/api/jobs", json={"kind": "test_noop"})).status_code == 503:
            assert time.monotonic() < deadline, third.text
            await asyncio.sleep(0.2)
        assert third.status_code == 202, third.text
        assert (await client.get("/api/health")).status_code == 200
    assert api.alive(), api.log_tail()
    api.stop()


async def test_jobs_created_together_all_fail_cleanly_when_redis_is_down(
    private_redis: PrivateRedis,
    start_service: Callable[..., ServiceProcess],
    make_user: Callable[..., Awaitable[ApiUser]],
    db_engine: Engine,
) -> None:
    # Given an API process whose Redis is the private server has died
    _api, url = start_api(start_service, env={"REDIS_URL": private_redis.url})
    user = await make_user()
    private_redis.kill()
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {user.api_key}"}, timeout=30
    ) as client:
        # When many jobs are created at the same moment (stored and sent in groups)
        answers = await asyncio.gather(
            *(client.post("/api/jobs", json={"kind": "test_noop", "params": {"n": n}}) for n in range(12))
        )
    # Then each is refused with the queue's 503, and none of them was kept
    assert [a.status_code for a in answers] == [503] * 12, [a.text for a in answers]
    assert all(a.json()["error"]["details"]["component"] == "redis" for a in answers)
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM job_events")).scalar_one() == 0
