"""The common ``POST /api/jobs`` (a free kind without quota, rate limit, idempotency key or notification) costs
one round trip to Postgres and one to Redis, and the job it stores names the message it sent; reading a job
back (``GET /api/jobs/{id}``, what clients poll) costs one round trip to Postgres, and so does a page of the
job list (``GET /api/jobs``) with its total.

The API under test reaches Postgres and Redis through counting proxies (``tests.support.tcp_proxy``), so
the figures are what went over the wire, not what the code says it does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis
from sqlalchemy import Engine, text

from actors.broker import build_broker, message_exists
from service.settings import Settings
from tests.conftest import ApiUser, start_api
from tests.support.services import ServiceProcess
from tests.support.tcp_proxy import outage_proxy

WARM_UP = 8  # past psycopg's prepare threshold (5), and the credential in the API's short cache


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=(netloc[0] + "@" if len(netloc) == 2 else "") + f"127.0.0.1:{port}"))


async def test_creating_a_free_job_is_one_postgres_and_one_redis_round_trip_and_reading_or_listing_one_pg_trip(
    settings: Settings,
    start_service: Callable[..., ServiceProcess],
    make_user: Callable[..., Awaitable[ApiUser]],
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    pg, rd = urlsplit(settings.database.url), urlsplit(settings.redis.url)
    with (
        outage_proxy(pg.hostname or "127.0.0.1", pg.port or 5432) as pg_proxy,
        outage_proxy(rd.hostname or "127.0.0.1", rd.port or 6379) as redis_proxy,
    ):
        # Given an API that reaches Postgres and Redis only through counting proxies, warmed up
        env = {
            "DATABASE_URL": _through(settings.database.url, pg_proxy.port),
            "REDIS_URL": _through(settings.redis.url, redis_proxy.port),
        }
        api, url = start_api(start_service, env=env)
        user = await make_user()
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {user.api_key}"}) as client:
            for n in range(WARM_UP):
                warm = await client.post("/api/jobs", json={"kind": "test_noop", "params": {"n": n}})
                assert warm.status_code == 202, warm.text
            # When one more free job is created, a few times: the API's own background work (its metrics flush
            # once a second, the live hub) may exchange with a server in the same moment, so the fewest
            # exchanges of the tries are what a creation costs
            pg_trips, redis_trips = [], []
            for n in range(99, 104):
                pg_before, redis_before = pg_proxy.round_trips, redis_proxy.round_trips
                created = await client.post("/api/jobs", json={"kind": "test_noop", "params": {"n": n}})
                pg_trips.append(pg_proxy.round_trips - pg_before)
                redis_trips.append(redis_proxy.round_trips - redis_before)
                assert created.status_code == 202, created.text
            # and then read back, a few times
            read_pg_trips, read_redis_trips = [], []
            for _ in range(WARM_UP + 3):
                pg_before, redis_before = pg_proxy.round_trips, redis_proxy.round_trips
                read = await client.get(f"/api/jobs/{created.json()['id']}")
                read_pg_trips.append(pg_proxy.round_trips - pg_before)
                read_redis_trips.append(redis_proxy.round_trips - redis_before)
                assert read.status_code == 200, read.text
                assert read.json()["id"] == created.json()["id"] and read.json()["logs"] == []
            # and the list is read, a few times
            list_pg_trips, list_redis_trips = [], []
            for _ in range(WARM_UP + 3):
                pg_before, redis_before = pg_proxy.round_trips, redis_proxy.round_trips
                listed = await client.get("/api/jobs", params={"per_page": 3, "page": 2})
                list_pg_trips.append(pg_proxy.round_trips - pg_before)
                list_redis_trips.append(redis_proxy.round_trips - redis_before)
                assert listed.status_code == 200, listed.text
            past_end = await client.get("/api/jobs", params={"per_page": 3, "page": 9})
        api.stop()
    # Then each was answered 202 after one exchange with each server
    assert (min(pg_trips), min(redis_trips)) == (1, 1), (pg_trips, redis_trips)
    # And each read was answered after one exchange with Postgres and none with Redis
    assert (min(read_pg_trips), min(read_redis_trips)) == (1, 0), (read_pg_trips, read_redis_trips)
    # And a page of the list, with the number of jobs, after one exchange with Postgres and none with Redis
    assert (min(list_pg_trips), min(list_redis_trips)) == (1, 0), (list_pg_trips, list_redis_trips)
    page = listed.json()
    assert (page["total"], page["page"], page["per_page"], page["pages"]) == (WARM_UP + 5, 2, 3, 5)
    # newest first: the second page of three holds the 4th to 6th newest (n = 100, 99, and the last warm-up)
    assert [job["params"]["n"] for job in page["items"]] == [100, 99, WARM_UP - 1]
    # And a page past the last still says how many there are
    assert past_end.status_code == 200
    assert (past_end.json()["items"], past_end.json()["total"]) == ([], WARM_UP + 5)
    # And the stored job (with its audit event) names the message sent for it: still waiting in the broker, or
    # already taken by a worker of this test session that ran the job
    job_id = created.json()["id"]
    with db_engine.connect() as conn:
        queue, message_id, status = conn.execute(
            text("SELECT queue, message_id, status FROM jobs WHERE id = :id"), {"id": job_id}
        ).one()
        first_event = conn.execute(
            text("SELECT type, to_status, actor FROM job_events WHERE job_id = :id ORDER BY id LIMIT 1"), {"id": job_id}
        ).one()
    assert tuple(first_event) == ("created", "queued", f"user:{user.id}")
    assert message_id is not None
    broker = build_broker(settings.redis.url)
    try:
        assert message_exists(broker, queue, message_id) or status != "queued", (status, message_id)
    finally:
        broker.client.close()
    # And its first live event is in the job's stream
    entries = redis_client.xrange(f"genjobs:job:{job_id}:events")
    assert entries and entries[0][1][b"type"] == b"status"


async def test_jobs_created_at_the_same_moment_are_each_stored_and_sent(
    settings: Settings,
    api_url: str,
    make_user: Callable[..., Awaitable[ApiUser]],
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    # Given a user
    user = await make_user()
    async with httpx.AsyncClient(
        base_url=api_url, headers={"Authorization": f"Bearer {user.api_key}"}, timeout=30
    ) as client:
        # When many jobs are created at once (grouped into shared statements and pipelines)
        answers = await asyncio.gather(
            *(client.post("/api/jobs", json={"kind": "test_noop", "params": {"n": n}}) for n in range(40))
        )
    assert [a.status_code for a in answers] == [202] * 40, [a.text for a in answers]
    ids = [a.json()["id"] for a in answers]
    # Then each job is stored with its own params, its created event and the id of the message sent for it
    with db_engine.connect() as conn:
        rows = {
            str(row.id): row
            for row in conn.execute(
                text(
                    "SELECT j.id, j.params->>'n' AS n, j.queue, j.message_id, j.status, e.actor FROM jobs j "
                    "JOIN job_events e ON e.job_id = j.id AND e.type = 'created' WHERE j.id = ANY(:ids)"
                ),
                {"ids": ids},
            )
        }
    assert sorted(int(rows[i].n) for i in ids) == list(range(40))
    assert {rows[i].actor for i in ids} == {f"user:{user.id}"}
    broker = build_broker(settings.redis.url)
    try:
        for job_id in ids:
            row = rows[job_id]
            assert row.message_id is not None
            # (a worker of this test session may have run it since the rows were read: its status says so)
            assert message_exists(broker, row.queue, row.message_id) or _status(db_engine, job_id) != "queued", row
            # And its first live event is in its stream
            assert redis_client.xrange(f"genjobs:job:{job_id}:events")
    finally:
        broker.client.close()


def _status(engine: Engine, job_id: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": job_id}).scalar_one())


async def test_a_job_created_after_redis_forgot_its_scripts_is_sent(
    settings: Settings,
    api_url: str,
    make_user: Callable[..., Awaitable[ApiUser]],
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    # Given an API that has sent jobs already (its scripts known to Redis by their SHA)
    user = await make_user()
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {user.api_key}"}) as client:
        assert (await client.post("/api/jobs", json={"kind": "test_noop", "params": {}})).status_code == 202
        # When Redis forgets every script (as after a restart) and a job is created
        redis_client.script_flush()
        created = await client.post("/api/jobs", json={"kind": "test_noop", "params": {"n": 1}})
    # Then it is answered 202, its message was sent and its first live event appended
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    with db_engine.connect() as conn:
        queue, message_id = conn.execute(
            text("SELECT queue, message_id FROM jobs WHERE id = :id"), {"id": job_id}
        ).one()
    broker = build_broker(settings.redis.url)
    try:
        assert message_exists(broker, queue, message_id) or _status(db_engine, job_id) != "queued"
    finally:
        broker.client.close()
    assert redis_client.xrange(f"genjobs:job:{job_id}:events")
