"""Waiting jobs and held jobs when workers die (an isolated stack: its own API, scheduler and workers).

A waiting job holds no worker, lease or message: killing every worker changes nothing, and the sweeper leaves
it alone. A job held by fair scheduling is woken by the scheduler's fairness pass when the worker running
its owner's job is killed (no worker is left to wake it).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.conftest import ApiUser
from tests.support.isolated_stack import IsolatedStack, isolated_stack, wait_until
from tests.support.services import ServiceProcess

# Module setup boots an API and a scheduler, and each test its workers: minutes on a loaded 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def waiting_stack(start_service: Callable[..., ServiceProcess], service_env: dict[str, str]) -> Iterator[IsolatedStack]:
    yield from isolated_stack(start_service, service_env, scheduler=True)


@pytest.fixture
def stack(waiting_stack: IsolatedStack) -> Iterator[IsolatedStack]:
    yield from waiting_stack.for_one_test()


@pytest.fixture
async def user(stack: IsolatedStack) -> AsyncIterator[ApiUser]:
    api_user = await stack.make_user()
    yield api_user
    await api_user.client.aclose()


async def create_job(user: ApiUser, kind: str, **params: Any) -> str:
    response = await user.client.post("/api/jobs", json={"kind": kind, "params": params})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def test_a_worker_killed_while_a_job_waits_changes_nothing(stack: IsolatedStack, user: ApiUser) -> None:
    # Given a job waiting for its customer, and the worker that ran it
    first = stack.start_worker()
    job_id = await create_job(user, "test_review")
    await stack.wait_for_job(job_id, lambda j: j["status"] == "waiting", 60, "the wait")
    # (the worker acknowledges the message just after parking the job: a message killed before that is
    # returned by the sweeper and skipped by the claim, which finds the job waiting)
    wait_until(lambda: stack.redis.hlen("dramatiq:test.msgs") == 0, 30, "the parking run's message to be acked")
    history_before = stack.history(job_id)

    # When the worker is SIGKILLed and the sweeper has had time to act on anything it left (lease 3 s, broker
    # heartbeat timeout 5 s, sweeps every second)
    first.kill()
    time.sleep(12)

    # Then the job still waits, untouched: no re-claim, no re-sent message, no new event
    job = stack.job(job_id)
    assert (job["status"], job["claim_token"], job["lease_expires_at"], job["message_id"]) == (
        "waiting",
        None,
        None,
        None,
    )
    assert stack.history(job_id) == history_before
    # ... and a signal resumes it on a new worker, which finishes it on its first attempt
    stack.start_worker()
    response = await user.client.post(f"/api/jobs/{job_id}/signals/approve", json={})
    assert response.status_code == 202, response.text
    done = await stack.wait_for_job(job_id, lambda j: j["status"] == "succeeded", 60, "the end")
    assert done["result"]["attempt"] == 1
    assert done["attempts"] == 1


async def test_held_jobs_are_woken_when_the_worker_running_their_owners_jobs_dies(
    stack: IsolatedStack, user: ApiUser
) -> None:
    # Given an owner at its limit of 2 running test_fair jobs (long ones) and a third one held
    first = stack.start_worker(threads=4)
    running = [await create_job(user, "test_fair", steps=600, delay=0.1) for _ in range(2)]
    for job_id in running:
        await stack.wait_for_job(job_id, lambda j: j["status"] == "running", 60, "a long job to start")
    held = await create_job(user, "test_fair", steps=1, delay=0)
    await stack.wait_for_job(held, lambda j: j["held_since"] is not None, 60, "the third job to be held")

    # When the worker is SIGKILLed (no worker sees a job of that owner finish) and a new one starts
    first.kill()
    stack.start_worker(threads=4)

    # Then the sweeper takes the long jobs back and the held job runs within the sweeper's and fairness pass's
    # reach, ending succeeded; the owner never has more than 2 running
    done = await stack.wait_for_job(held, lambda j: j["status"] == "succeeded", 90, "the held job to run")
    assert done["held_since"] is None
    assert [e["type"] for e in stack.history(held) if e["type"] in {"held", "released"}][:2] == ["held", "released"]
