"""Short outages cost a running job a pause, never an attempt: a 4-second Redis restart and a 10-second
Postgres outage in the middle of a job that has no retry left, with the servers really stopped and started.

The stack runs on a private Redis (TCP, no persistence: a restart loses every message and stream, as a
crash would) and a private Postgres cluster, so the session's shared servers are never touched.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from tests.conftest import ApiUser
from tests.support.isolated_stack import IsolatedStack, isolated_stack
from tests.support.private_servers import PrivatePostgres, PrivateRedis
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres.start()
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def outage_stack(
    start_service: Callable[..., ServiceProcess],
    service_env: dict[str, str],
    private_redis: PrivateRedis,
    private_postgres: PrivatePostgres,
) -> Iterator[IsolatedStack]:
    yield from isolated_stack(
        start_service,
        service_env,
        scheduler=True,
        redis_url=private_redis.url,
        postgres_admin_url=private_postgres.admin_url,
    )


@pytest.fixture
def stack(outage_stack: IsolatedStack) -> Iterator[IsolatedStack]:
    yield from outage_stack.for_one_test()


@pytest.fixture
async def user(stack: IsolatedStack) -> AsyncIterator[ApiUser]:
    api_user = await stack.make_user()
    yield api_user
    await api_user.client.aclose()


async def start_fragile_job(stack: IsolatedStack, user: ApiUser) -> str:
    """A job of about 8 s with no retry (``test_fragile``), running with some progress."""
    stack.start_worker(threads=2)
    response = await user.client.post("/api/jobs", json={"kind": "test_fragile", "params": {"steps": 80, "delay": 0.1}})
    assert response.status_code == 202, response.text
    job_id = str(response.json()["id"])
    await stack.wait_for_job(
        job_id, lambda j: j["status"] == "running" and j["progress_done"] >= 5, 30, "the job to make progress"
    )
    return job_id


def assert_one_clean_run(stack: IsolatedStack, job_id: str, job: dict[str, object]) -> None:
    assert job["status"] == "succeeded", (job["error"], stack.transitions(job_id))
    assert job["attempts"] == 1
    assert stack.transitions(job_id) == [(None, "queued"), ("queued", "running"), ("running", "succeeded")]
    assert stack.completions(job_id) == 1


async def test_a_redis_restart_costs_a_running_job_no_attempt(
    stack: IsolatedStack, user: ApiUser, private_redis: PrivateRedis
) -> None:
    # Given a job with no retry left, running
    job_id = await start_fragile_job(stack, user)

    # When Redis is killed and comes back 4 s later, empty
    private_redis.kill()
    time.sleep(4)
    private_redis.restart()

    # Then the job goes on and succeeds on its first and only attempt
    job = await stack.wait_for_job(job_id, lambda j: j["status"] not in ("queued", "running"), 60, "the job to end")
    assert_one_clean_run(stack, job_id, job)


async def test_a_postgres_outage_costs_a_running_job_no_attempt(
    stack: IsolatedStack, user: ApiUser, private_postgres: PrivatePostgres
) -> None:
    # Given a job with no retry left, running
    job_id = await start_fragile_job(stack, user)

    # When Postgres stops (every connection cut) and starts again 10 s later
    private_postgres.stop()
    time.sleep(10)
    private_postgres.restart()

    # Then the job goes on and succeeds on its first and only attempt, never re-claimed by the sweeper
    job = await stack.wait_for_job(job_id, lambda j: j["status"] not in ("queued", "running"), 60, "the job to end")
    assert_one_clean_run(stack, job_id, job)
    assert not [e for e in stack.history(job_id) if e["actor"] == "scheduler"]
