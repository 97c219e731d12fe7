"""A job's life through real workers: retries, permanent failures, time limits and cancellation.

Most tests use the session's shared worker. The two that need a queue nobody consumes yet, or a worker with a
single thread, use an isolated stack (see ``test_recovery``): the shared worker consumes every queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, text

from tests.conftest import ApiUser
from tests.support.isolated_stack import IsolatedStack, isolated_stack, wait_for_log
from tests.support.services import ServiceProcess
from tests.support.sse import read_events, stream_entries

MakeUser = Callable[..., Awaitable[ApiUser]]


async def create_job(user: ApiUser, kind: str = "test_sleep", **params: Any) -> str:
    response = await user.client.post("/api/jobs", json={"kind": kind, "params": params})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def wait_for(
    user: ApiUser, job_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = (await user.client.get(f"/api/jobs/{job_id}")).json()
        if predicate(job):
            return job
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}; job is {job}"
        await asyncio.sleep(0.05)


def status_in(*statuses: str) -> Callable[[dict[str, Any]], bool]:
    return lambda job: job["status"] in statuses


async def transitions(user: ApiUser, job_id: str) -> list[tuple[str | None, str | None]]:
    history = (await user.client.get(f"/api/jobs/{job_id}/history")).json()
    return [(e["from_status"], e["to_status"]) for e in history if e["to_status"] is not None]


def job_row(engine: Engine, job_id: str) -> dict[str, Any]:
    """Straight from Postgres: deleted jobs are 404 in the API."""
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id}).mappings().one())


async def wait_for_any_log(log_dir: Path, needle: str, *, since: float, timeout: float) -> None:
    """Wait until some service log written since ``since`` (any worker of the session may run a job) has a line."""
    deadline = time.monotonic() + timeout
    while True:
        for path in log_dir.glob("*.log"):
            if path.stat().st_mtime >= since and needle in path.read_text(errors="replace"):
                return
        assert time.monotonic() < deadline, f"no log has {needle!r} after {timeout} s"
        await asyncio.sleep(0.05)


def completions(client: redis.Redis, job_id: str) -> int:
    return int(client.get(f"test:completions:{job_id}") or 0)


async def test_passing_failures_are_retried_until_success(
    make_user: MakeUser, worker: ServiceProcess, redis_client: redis.Redis
) -> None:
    # Given a job that fails its first two attempts with a passing error
    user = await make_user()
    job_id = await create_job(user, steps=1, delay=0, fail_times=2)

    # When the worker runs it, Then it is retried with backoff and succeeds on the third attempt
    job = await wait_for(user, job_id, status_in("succeeded", "failed"), 15, "the job to finish")
    assert job["status"] == "succeeded"
    assert job["attempts"] == 3
    assert job["result"]["attempt"] == 3
    assert job["error"] is None
    assert await transitions(user, job_id) == [
        (None, "queued"),
        ("queued", "running"),
        ("running", "retrying"),
        ("retrying", "running"),
        ("running", "retrying"),
        ("retrying", "running"),
        ("running", "succeeded"),
    ]
    history = (await user.client.get(f"/api/jobs/{job_id}/history")).json()
    retries = [e["detail"] for e in history if e["to_status"] == "retrying"]
    assert [d["error"] for d in retries] == [
        "RuntimeError: passing failure on attempt 1",
        "RuntimeError: passing failure on attempt 2",
    ]
    assert all("run_after" in d for d in retries)
    assert completions(redis_client, job_id) == 1


async def test_a_finished_job_has_its_events_streamed_and_its_message_acknowledged(
    make_user: MakeUser, worker: ServiceProcess, redis_client: redis.Redis, db_engine: Engine
) -> None:
    # Given a job that finishes at once (its last event goes to Redis with its message's acknowledgement)
    user = await make_user()
    job_id = await create_job(user, kind="test_noop")
    message_id = job_row(db_engine, job_id)["message_id"]

    # When the worker has run it
    await wait_for(user, job_id, status_in("succeeded", "failed"), 10, "the job to finish")

    # Then its stream holds its events in order, the last one with its status
    deadline = time.monotonic() + 5
    while [e.data["status"] for e in stream_entries(redis_client, job_id)] != ["queued", "running", "succeeded"]:
        assert time.monotonic() < deadline, stream_entries(redis_client, job_id)
        await asyncio.sleep(0.05)
    # and the broker no longer holds its message: neither waiting nor fetched and unacknowledged
    assert not redis_client.hexists("dramatiq:noop.msgs", message_id)
    acks = list(redis_client.scan_iter(match="dramatiq:__acks__.*"))
    assert [key for key in acks if redis_client.sismember(key, message_id)] == []


async def test_permanent_failure_fails_at_once_and_is_dead_lettered(
    make_user: MakeUser, worker: ServiceProcess, redis_client: redis.Redis
) -> None:
    # Given a job whose input can never be processed
    user = await make_user()
    job_id = await create_job(user, steps=1, delay=0, fail_permanently=True)

    # When the worker runs it, Then it fails after one attempt with the job's own message
    job = await wait_for(user, job_id, status_in("failed", "succeeded"), 10, "the job to finish")
    assert job["status"] == "failed"
    assert job["attempts"] == 1 < job["max_attempts"]
    assert job["error"] == "the input cannot be processed (test)"
    assert await transitions(user, job_id) == [(None, "queued"), ("queued", "running"), ("running", "failed")]
    assert completions(redis_client, job_id) == 0

    # and its message shows up as dead-lettered in the queue stats
    deadline = time.monotonic() + 5
    while True:
        stats = {q["queue"]: q for q in (await user.client.get("/api/queues")).json()}
        if stats["test"]["dead_lettered"] >= 1:
            break
        assert time.monotonic() < deadline, f"no dead letter on queue 'test': {stats['test']}"
        await asyncio.sleep(0.1)
    assert stats["test"]["failed_24h"] >= 1


async def test_job_past_its_time_limit_times_out(
    make_user: MakeUser, worker: ServiceProcess, redis_client: redis.Redis
) -> None:
    # Given a kind with a 1.5 s time limit and no retries, and a job that would take 10 s
    user = await make_user()
    job_id = await create_job(user, "test_timeout", steps=100, delay=0.1)

    # When the worker runs it, Then it is stopped and marked timed out, naming the limit
    job = await wait_for(user, job_id, status_in("timed_out", "failed", "succeeded"), 8, "the time limit")
    assert job["status"] == "timed_out"
    assert job["attempts"] == 1
    assert "time limit" in job["error"]
    assert "1.5 s" in job["error"], job["error"]
    assert job["progress"]["done"] < 100
    assert await transitions(user, job_id) == [(None, "queued"), ("queued", "running"), ("running", "timed_out")]
    assert completions(redis_client, job_id) == 0


async def test_cancelling_a_running_job_stops_it_within_seconds(
    make_user: MakeUser, worker: ServiceProcess, db_engine: Engine, redis_client: redis.Redis, log_dir: Path
) -> None:
    # Given a long job that is running and reporting progress, watched over SSE
    started = time.time()
    user = await make_user()
    job_id = await create_job(user, steps=200, delay=0.1)
    watching = asyncio.create_task(read_events(user.client, f"/api/jobs/{job_id}/events", timeout=20))
    await wait_for(user, job_id, lambda j: j["progress"]["done"] >= 3, 10, "progress")

    # When the user deletes it
    assert (await user.client.delete(f"/api/jobs/{job_id}")).status_code == 204
    deleted_at = time.monotonic()

    # Then the stream gets the cancelled status and closes
    received = await watching
    assert received.ended
    assert received.events[-1].event == "status"
    assert received.events[-1].data["status"] == "cancelled"
    # and the worker running it stops the job body within 3 s
    await wait_for_any_log(log_dir, f"job {job_id} stopped", since=started, timeout=3)
    assert time.monotonic() - deleted_at < 3
    # and the job is gone from the API but kept, cancelled, in Postgres; its progress no longer moves
    assert (await user.client.get(f"/api/jobs/{job_id}")).status_code == 404
    row = job_row(db_engine, job_id)
    assert row["status"] == "cancelled"
    assert row["deleted_at"] is not None and row["finished_at"] is not None
    await asyncio.sleep(0.5)
    assert job_row(db_engine, job_id)["progress_done"] == row["progress_done"] < 200
    entries = stream_entries(redis_client, job_id)
    cancelled_at = next(i for i, e in enumerate(entries) if e.data.get("status") == "cancelled")
    assert [e.event for e in entries[cancelled_at + 1 :]] == ["deleted"]
    assert completions(redis_client, job_id) == 0


@pytest.fixture(scope="module")
def quiet_stack(start_service: Callable[..., ServiceProcess], service_env: dict[str, str]) -> Iterator[IsolatedStack]:
    """An isolated stack with no worker until a test starts one (the shared worker consumes every queue)."""
    yield from isolated_stack(start_service, service_env, scheduler=False)


@pytest.fixture
def stack(quiet_stack: IsolatedStack) -> Iterator[IsolatedStack]:
    yield from quiet_stack.for_one_test()


async def test_cancelled_queued_job_never_runs(stack: IsolatedStack) -> None:
    # Given a queued job that no worker consumes yet
    user = await stack.make_user()
    try:
        job_id = await create_job(user, steps=1, delay=0)
        message_id = stack.job(job_id)["message_id"]
        assert stack.redis.hexists("dramatiq:test.msgs", message_id)

        # When the user deletes it and a worker for its queue starts afterwards
        assert (await user.client.delete(f"/api/jobs/{job_id}")).status_code == 204
        worker = stack.start_worker(threads=1)

        # Then the worker takes the message but skips the job: it never runs
        wait_for_log(worker, f"skipping message for job {job_id}: cancelled", timeout=10)
        row = stack.job(job_id)
        assert row["status"] == "cancelled"
        assert row["attempts"] == 0
        assert row["started_at"] is None
        assert stack.completions(job_id) == 0
        assert not stack.redis.exists(f"test:completions:{job_id}")
        assert stack.transitions(job_id) == [(None, "queued"), ("queued", "cancelled")]
        assert stack.redis.llen("dramatiq:test") == 0
    finally:
        await user.client.aclose()


async def test_stuck_job_is_interrupted_after_cancel_and_frees_its_thread(stack: IsolatedStack) -> None:
    # Given a worker with a single thread, busy with a job that sleeps without ever calling progress()
    worker = stack.start_worker(threads=1)
    user = await stack.make_user()
    try:
        stuck = await create_job(user, steps=300, delay=0.1, stuck=True)
        deadline = time.monotonic() + 10
        while stack.job(stuck)["status"] != "running":
            assert time.monotonic() < deadline, "the stuck job never started"
            await asyncio.sleep(0.05)

        # When the user deletes it
        assert (await user.client.delete(f"/api/jobs/{stuck}")).status_code == 204
        deleted_at = time.monotonic()

        # Then the worker interrupts it within about 3 s
        wait_for_log(worker, f"job {stuck} stopped", timeout=4)
        interrupted_after = time.monotonic() - deleted_at
        print(f"\nstuck job interrupted {interrupted_after:.1f} s after DELETE")
        assert interrupted_after < 3.5, f"interrupted {interrupted_after:.1f} s after the delete"
        assert f"interrupting job {stuck}" in worker.log_path.read_text(errors="replace")
        # and its only thread is free again: the next job runs
        follower = await create_job(user, steps=1, delay=0)
        deadline = time.monotonic() + 5
        while stack.job(follower)["status"] != "succeeded":
            assert time.monotonic() < deadline, f"the next job is {stack.job(follower)['status']}: thread still busy"
            await asyncio.sleep(0.05)
        assert stack.completions(stuck) == 0
        assert stack.job(stuck)["status"] == "cancelled"
    finally:
        await user.client.aclose()
