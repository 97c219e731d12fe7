"""With Postgres unreachable every route answers 503 with ``Retry-After`` (never a 500), stores nothing, and the
API recovers by itself when Postgres is back.

The API under test reaches the session's Postgres through a proxy the test takes down (connections reset,
new ones refused, as when Postgres stops), so the shared server stays up for everyone else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import Engine, text

from service.settings import Settings
from tests.conftest import ApiUser, start_api
from tests.support.services import ServiceProcess
from tests.support.tcp_proxy import outage_proxy

pytestmark = pytest.mark.slow


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=(netloc[0] + "@" if len(netloc) == 2 else "") + f"127.0.0.1:{port}"))


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["details"]["component"] == "database"


async def test_every_route_answers_503_with_retry_after_while_postgres_is_down(
    settings: Settings,
    start_service: Callable[..., ServiceProcess],
    make_user: Callable[..., Awaitable[ApiUser]],
    db_engine: Engine,
) -> None:
    target = urlsplit(settings.database.url)
    with outage_proxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        # Given an API that reaches Postgres through the proxy, a user and one job
        api, url = start_api(start_service, env={"DATABASE_URL": _through(settings.database.url, proxy.port)})
        user = await make_user()
        headers = {"Authorization": f"Bearer {user.api_key}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            first = await client.post("/api/jobs", json={"kind": "test_noop", "params": {"n": 1}})
            assert first.status_code == 202, first.text
            job_id = first.json()["id"]
            # When Postgres goes away
            proxy.cut()
            # Then creating, reading, listing and retrying jobs, the caller's keys and a page are 503 with Retry-After
            started = time.monotonic()
            _assert_unavailable(await client.post("/api/jobs", json={"kind": "test_noop", "params": {"n": 2}}))
            _assert_unavailable(await client.get(f"/api/jobs/{job_id}"))
            _assert_unavailable(await client.get("/api/jobs"))
            _assert_unavailable(await client.post(f"/api/jobs/{job_id}/retry"))
            _assert_unavailable(await client.get("/api/keys"))
            login = await client.post("/api/auth/login", json={"email": user.email, "password": user.password})
            _assert_unavailable(login)
            assert time.monotonic() - started < 30, "the API must fail fast, not hang on a dead database"
            # And health says the database is the problem
            health = await client.get("/api/health")
            assert health.status_code == 503 and health.json()["database"].startswith("error")
            # When Postgres is back, then the API recovers without a restart
            proxy.restore()
            deadline = time.monotonic() + 20
            while (again := await client.get(f"/api/jobs/{job_id}")).status_code == 503:
                assert time.monotonic() < deadline, again.text
                await asyncio.sleep(0.2)
            assert again.status_code == 200, again.text
            third = await client.post("/api/jobs", json={"kind": "test_noop", "params": {"n": 3}})
            assert third.status_code == 202, third.text
    # And the refused job was never stored, and nothing was logged as an unhandled error
    with db_engine.connect() as conn:
        stored = sorted(conn.execute(text("SELECT params->>'n' FROM jobs")).scalars())
    assert stored == ["1", "3"]
    assert api.alive(), api.log_tail()
    assert "unhandled error" not in api.log_path.read_text(errors="replace")
    api.stop()
