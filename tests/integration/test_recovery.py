"""Recovery: a SIGKILLed worker's job runs again and succeeds exactly once, a message lost from Redis is
re-sent, and a worker shut down with SIGTERM hands its job back without using up an attempt.

These tests kill and stop workers, so they run on an isolated stack of their own (a fresh database, a
private Redis on a Unix socket, their own API, scheduler and workers): the session's shared worker consumes
every queue and would otherwise take the jobs these tests need to run on a worker they control.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from db.observe.catalog import SWEEPER_RECLAIMS, SWEEPER_RESENDS
from tests.conftest import ApiUser
from tests.support.isolated_stack import IsolatedStack, isolated_stack, wait_until
from tests.support.services import (
    ServiceProcess,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recovery_stack(
    start_service: Callable[..., ServiceProcess], service_env: dict[str, str]
) -> Iterator[IsolatedStack]:
    yield from isolated_stack(start_service, service_env, scheduler=True)


@pytest.fixture
def stack(recovery_stack: IsolatedStack) -> Iterator[IsolatedStack]:
    """The module's stack, emptied; workers a test starts are stopped after it."""
    yield from recovery_stack.for_one_test()


@pytest.fixture
async def user(stack: IsolatedStack) -> AsyncIterator[ApiUser]:
    api_user = await stack.make_user()
    yield api_user
    await api_user.client.aclose()


async def create_job(user: ApiUser, **params: Any) -> str:
    response = await user.client.post("/api/jobs", json={"kind": "test_sleep", "params": params})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def running_with_progress(at_least: int) -> Callable[[dict[str, Any]], bool]:
    return lambda job: job["status"] == "running" and job["progress_done"] >= at_least


def succeeded(job: dict[str, Any]) -> bool:
    return bool(job["status"] == "succeeded")


def describe_history(stack: IsolatedStack, job_id: str) -> list[tuple[Any, ...]]:
    return [
        (e["type"], e["from_status"], e["to_status"], e["actor"], e["detail"])
        for e in stack.history(job_id)
        if e["type"] != "step"
    ]


def succeeded_events(stack: IsolatedStack, job_id: str) -> int:
    with stack.engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM job_events WHERE job_id = :id AND to_status = 'succeeded'"), {"id": job_id}
        ).scalar_one()
    return int(count)


async def test_sigkilled_worker_job_runs_again_and_succeeds_exactly_once(stack: IsolatedStack, user: ApiUser) -> None:
    # Given a worker running a job that has reported some progress
    first = stack.start_worker()
    job_id = await create_job(user, steps=40, delay=0.1)
    await stack.wait_for_job(job_id, running_with_progress(5), 10, "the first run to make progress")

    # When the worker's whole process group is SIGKILLed and a new worker starts
    first.kill()
    killed_at = time.monotonic()
    stack.start_worker()

    # Then the job runs again within 60 s of the kill
    rerun = await stack.wait_for_job(
        job_id, lambda j: j["status"] in {"running", "succeeded"} and j["attempts"] == 2, 60, "a second run"
    )
    rerun_after = time.monotonic() - killed_at
    # and ends succeeded with exactly one success
    done = await stack.wait_for_job(job_id, succeeded, 30, "the second run to succeed")
    finished_after = time.monotonic() - killed_at
    print(
        f"\nSIGKILL recovery: running again {rerun_after:.1f} s after the kill, succeeded after {finished_after:.1f} s"
    )
    assert rerun_after < 60
    assert rerun["claimed_by"] is not None
    assert done["attempts"] == 2
    assert done["result"]["attempt"] == 2
    assert succeeded_events(stack, job_id) == 1
    assert stack.completions(job_id) == 1
    assert stack.transitions(job_id) == [
        (None, "queued"),
        ("queued", "running"),
        ("running", "retrying"),
        ("retrying", "running"),
        ("running", "succeeded"),
    ]
    lost = next(e for e in stack.history(job_id) if e["to_status"] == "retrying")
    assert lost["actor"] == "scheduler"
    assert "worker lost" in lost["detail"]["reason"]
    reclaims = SWEEPER_RECLAIMS.key
    wait_until(lambda: float(stack.redis.hget(reclaims, "retried") or 0) == 1.0, 10, "the re-claim counted")


async def test_message_lost_from_redis_is_resent_and_job_runs_once(stack: IsolatedStack, user: ApiUser) -> None:
    # Given a queued job that no worker consumes yet, with its message in Redis
    job_id = await create_job(user, steps=3, delay=0.05)
    message_id = stack.job(job_id)["message_id"]
    assert message_id and stack.redis.hexists("dramatiq:test.msgs", message_id)

    # When its message disappears from the broker
    assert stack.redis.hdel("dramatiq:test.msgs", message_id) == 1
    assert stack.redis.lrem("dramatiq:test", 0, message_id) == 1

    # Then the scheduler notices and sends it again (grace 2 s, sweep every 1 s)
    wait_until(lambda: any(e["type"] == "message_resent" for e in stack.history(job_id)), 10, "a message_resent event")
    new_id = stack.job(job_id)["message_id"]
    assert new_id != message_id
    assert stack.redis.hexists("dramatiq:test.msgs", new_id)
    assert stack.redis.llen("dramatiq:test") == 1

    # and once a worker is there, the job succeeds exactly once
    stack.start_worker()
    done = await stack.wait_for_job(job_id, succeeded, 15, "the job to succeed")
    assert done["attempts"] == 1
    assert stack.completions(job_id) == 1
    assert succeeded_events(stack, job_id) == 1
    assert [e["type"] for e in stack.history(job_id)].count("message_resent") == 1
    # and the re-send is counted for /metrics (the scheduler flushes its counters every second)
    wait_until(lambda: float(stack.redis.hget(SWEEPER_RESENDS.key, "test") or 0) == 1.0, 10, "the re-send counted")


async def test_sigterm_hands_running_jobs_back_without_using_an_attempt(stack: IsolatedStack, user: ApiUser) -> None:
    # Given a worker (production's default of 8 threads) running three jobs that have made progress
    first = stack.start_worker(threads=8)
    jobs = [await create_job(user, steps=40, delay=0.1) for _ in range(3)]
    for job_id in jobs:
        await stack.wait_for_job(job_id, running_with_progress(3), 10, "every job to make progress")

    # When the worker's main process is asked to stop (as docker stop, tini and `make run`'s supervisor do)
    stopped_at = time.monotonic()
    os.kill(first.pid, signal.SIGTERM)
    first.proc.wait(20)
    stop_seconds = time.monotonic() - stopped_at

    # Then it handed every job back on its way out (not the scheduler after the lease ran out), and did not
    # pick any of them up again while stopping
    for job_id in jobs:
        job = await stack.wait_for_job(job_id, lambda j: j["status"] != "running", 2, "the job to leave running")
        history = describe_history(stack, job_id)
        assert job["status"] == "retrying", history
        retry = [e for e in history if e[2] == "retrying"]
        assert len(retry) == 1, history
        assert retry[0][3].startswith("worker:"), history
        assert "handed back" in retry[0][4]["error"], history
        assert job["attempts"] == 0, "a hand-back must not use up an attempt"
    assert stop_seconds < 5, f"stopping took {stop_seconds:.1f} s"

    # and a new worker finishes them, each exactly once
    stack.start_worker(threads=4)
    for job_id in jobs:
        done = await stack.wait_for_job(job_id, succeeded, 20, "the job to succeed")
        assert done["attempts"] == 1
        assert stack.completions(job_id) == 1
        assert succeeded_events(stack, job_id) == 1
        assert stack.transitions(job_id) == [
            (None, "queued"),
            ("queued", "running"),
            ("running", "retrying"),
            ("retrying", "running"),
            ("running", "succeeded"),
        ]


async def test_sigterm_to_the_whole_process_group_still_ends_each_job_exactly_once(
    stack: IsolatedStack, user: ApiUser
) -> None:
    # Given a worker running a job
    first = stack.start_worker(threads=4)
    job_id = await create_job(user, steps=40, delay=0.1)
    await stack.wait_for_job(job_id, running_with_progress(3), 10, "the job to make progress")
    # When every process of the worker gets SIGTERM at once (systemd's default KillMode=control-group): each
    # Dramatiq child then sees two SIGTERMs (the group's and its parent's) and may exit without handing back
    os.killpg(first.pid, signal.SIGTERM)
    first.proc.wait(20)
    # Then, handed back or re-claimed by the sweeper after its lease ran out, a new worker finishes it once
    stack.start_worker(threads=4)
    done = await stack.wait_for_job(job_id, succeeded, 40, "the job to succeed")
    assert stack.completions(job_id) == 1
    assert succeeded_events(stack, job_id) == 1
    assert done["attempts"] in (1, 2)
