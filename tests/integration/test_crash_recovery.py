"""Nothing stuck after repeated worker crashes: messages a killed worker had fetched (prefetched jobs, delayed
retries) go back to their queues on the sweeper's next pass, not at Dramatiq's random maintenance.

Runs on an isolated stack (its own database, Redis, API, scheduler and workers): the tests kill workers.
The stack's workers keep Dramatiq's own maintenance off (``BROKER_MAINTENANCE_CHANCE=0``), so only the
sweeper can return a dead worker's messages; with the broker heartbeat timeout at 10 s and a sweep every
second, a lost job runs again within seconds.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.conftest import ApiUser
from tests.support.isolated_stack import IsolatedStack, isolated_stack
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crash_stack(start_service: Callable[..., ServiceProcess], service_env: dict[str, str]) -> Iterator[IsolatedStack]:
    yield from isolated_stack(start_service, service_env, scheduler=True, extra_env={"BROKER_MAINTENANCE_CHANCE": "0"})


@pytest.fixture
def stack(crash_stack: IsolatedStack) -> Iterator[IsolatedStack]:
    yield from crash_stack.for_one_test()


@pytest.fixture
async def user(stack: IsolatedStack) -> AsyncIterator[ApiUser]:
    api_user = await stack.make_user()
    yield api_user
    await api_user.client.aclose()


async def create_jobs(user: ApiUser, kind: str, count: int, **params: Any) -> list[str]:
    ids = []
    for i in range(count):
        response = await user.client.post("/api/jobs", json={"kind": kind, "params": {**params, "label": f"j{i}"}})
        assert response.status_code == 202, response.text
        ids.append(str(response.json()["id"]))
    return ids


def event_types(stack: IsolatedStack, job_id: str) -> list[str]:
    return [e["type"] for e in stack.history(job_id)]


async def test_prefetched_message_of_a_killed_worker_is_returned_by_the_sweeper(
    stack: IsolatedStack, user: ApiUser
) -> None:
    # Given four queued jobs and a one-thread worker: it runs one and holds the next one prefetched
    jobs = await create_jobs(user, "test_sleep", 4, steps=30, delay=0.1)
    first = stack.start_worker(threads=1)
    running = await stack.wait_for_job(jobs[0], lambda j: j["status"] == "running", 30, "the first job to run")
    assert running["progress_done"] >= 0
    held = stack.redis.smembers(f"dramatiq:__acks__.{_only_worker_id(stack)}.test")
    assert len(held) == 2, f"the worker should hold its job and one prefetched message, holds {held}"

    # When the worker is SIGKILLed and a new one starts
    first.kill()
    stack.start_worker(threads=2)
    started = time.monotonic()

    # Then every job succeeds, each exactly once, within 60 s of the new worker
    for job_id in jobs:
        done = await stack.wait_for_job(job_id, lambda j: j["status"] == "succeeded", 60, "every job to succeed")
        assert stack.completions(job_id) == 1
        assert done["result"]["label"] is not None
    assert time.monotonic() - started < 60
    # and the prefetched job's message was put back by the scheduler, as its history says
    returned = [j for j in jobs if "message_requeued" in event_types(stack, j)]
    assert returned, "no job's message was returned from the dead worker"
    for job_id in returned:
        event = next(e for e in stack.history(job_id) if e["type"] == "message_requeued")
        assert event["actor"] == "scheduler"
        assert "stopped heartbeating" in event["detail"]["reason"]


def _only_worker_id(stack: IsolatedStack) -> str:
    """The broker id of the one live worker process (its heartbeat entry)."""
    workers = [w.decode() for w in stack.redis.zrange("dramatiq:__heartbeats__", 0, -1)]
    live = [w for w in workers if stack.redis.exists(f"dramatiq:__acks__.{w}.test")]
    assert len(live) == 1, workers
    return live[0]


async def test_every_job_runs_again_after_five_kills_at_random_moments(stack: IsolatedStack, user: ApiUser) -> None:
    # Given ten jobs of about 2 s each, with retries enough to survive every kill
    rng = random.Random(20261130)
    jobs = await create_jobs(user, "test_sturdy", 10, steps=20, delay=0.1)

    # When a worker is SIGKILLed five times in a row, each time at a random moment of its work
    for _ in range(5):
        worker = stack.start_worker(threads=2)
        await asyncio.sleep(rng.uniform(0.3, 3.0))
        worker.kill()

    # Then, once a live worker is present, every job is running again (or done) within 60 s
    # (each claim counts an attempt, so a job claimed anew has more attempts than when the worker came)
    attempts_before = {job_id: stack.job(job_id)["attempts"] for job_id in jobs}
    stack.start_worker(threads=4)
    present = time.monotonic()
    pending = set(jobs)
    while pending:
        for job_id in list(pending):
            job = stack.job(job_id)
            if job["status"] == "succeeded" or job["attempts"] > attempts_before[job_id]:
                pending.discard(job_id)
        waited = time.monotonic() - present
        assert waited < 60, {j: (stack.job(j)["status"], stack.transitions(j)) for j in pending}
        await asyncio.sleep(0.2)

    # and all of them end succeeded, each body finished exactly once
    for job_id in jobs:
        done = await stack.wait_for_job(job_id, lambda j: j["status"] == "succeeded", 60, "every job to succeed")
        assert stack.completions(job_id) == 1, job_id
        assert [t for t in stack.transitions(job_id) if t[1] == "succeeded"] == [("running", "succeeded")]
        assert done["attempts"] <= 6
