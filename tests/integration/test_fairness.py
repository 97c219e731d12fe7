"""Fair scheduling: one owner's backlog does not delay another owner's job (real API and worker).

``test_fair`` (tests/support/wait_kinds.py) allows 2 running jobs per owner; the session's worker has 4 threads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest
from sqlalchemy import Engine, text

from tests.conftest import ApiUser
from tests.integration.test_lifecycle import create_job, status_in, wait_for
from tests.support.services import ServiceProcess

MakeUser = Callable[..., Awaitable[ApiUser]]
# Several waits of up to 60 s each: a loaded machine may need more than the default 120 s per test.
pytestmark = pytest.mark.timeout(300)
STEPS, DELAY = 10, 0.5  # one job runs about 5 s (longer than creating the 50 jobs takes on a loaded machine)
JOB_SECONDS = STEPS * DELAY


def counts(engine: Engine, owner: object) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status, held_since IS NOT NULL AS held, count(*) FROM jobs WHERE owner_id = :o "
                "GROUP BY status, held"
            ),
            {"o": owner},
        ).all()
    out: dict[str, int] = {}
    for status, held, n in rows:
        key = f"{status}{' held' if held else ''}"
        out[key] = out.get(key, 0) + n
    return out


async def test_one_owners_backlog_does_not_delay_another_owners_job(
    make_user: MakeUser, worker: ServiceProcess, scheduler: ServiceProcess, db_engine: Engine
) -> None:
    # Given user A with 50 slow jobs queued
    a, b = await make_user(), await make_user()
    a_jobs = await asyncio.gather(*(create_job(a, "test_fair", steps=STEPS, delay=DELAY) for _ in range(50)))
    await wait_for(a, a_jobs[0], status_in("running"), 60, "A's first job to start")

    # When user B queues one job
    b_job = await create_job(b, "test_fair", steps=STEPS, delay=DELAY)

    # Then B's job starts within one job duration, while A never has more than 2 running
    max_running_a = 0
    deadline = time.monotonic() + 60
    while True:
        max_running_a = max(max_running_a, counts(db_engine, a.id).get("running", 0))
        job = (await b.client.get(f"/api/jobs/{b_job}")).json()
        if job["started_at"] is not None:
            break
        assert time.monotonic() < deadline, f"B's job never started: {job}; A: {counts(db_engine, a.id)}"
        await asyncio.sleep(0.05)
    waited = (datetime.fromisoformat(job["started_at"]) - datetime.fromisoformat(job["created_at"])).total_seconds()
    print(f"\nB's job started {waited:.2f} s after it was created, with A's backlog of 50")
    assert waited < JOB_SECONDS, waited
    # A's jobs over the limit are held: no message, no worker thread
    a_counts = counts(db_engine, a.id)
    assert a_counts.get("running", 0) <= 2 and max_running_a <= 2, a_counts
    # (all but those running or done, less at most one just released and on its way to a worker)
    assert a_counts.get("queued", 0) <= 1, a_counts
    assert a_counts.get("queued held", 0) >= 50 - 2 - a_counts.get("succeeded", 0) - 1, a_counts
    with db_engine.connect() as conn:
        held_messages = conn.execute(
            text("SELECT count(*) FROM jobs WHERE owner_id = :o AND held_since IS NOT NULL AND message_id IS NOT NULL"),
            {"o": a.id},
        ).scalar_one()
    assert held_messages == 0

    # And as A's running jobs finish, A's oldest held jobs start in their place, still at most 2 at once
    await wait_for(a, a_jobs[0], status_in("succeeded"), 60, "A's first job to finish")
    deadline = time.monotonic() + 60
    while counts(db_engine, a.id).get("succeeded", 0) < 4:
        running = counts(db_engine, a.id).get("running", 0)
        max_running_a = max(max_running_a, running)
        assert time.monotonic() < deadline, counts(db_engine, a.id)
        await asyncio.sleep(0.05)
    assert max_running_a <= 2
    with db_engine.connect() as conn:
        started = list(
            conn.execute(
                # In claim order: the audit rows' ids (a claim's started_at is its transaction's start, which may
                # precede its wait for the owner's lock).
                text(
                    "SELECT e.job_id::text FROM job_events e JOIN jobs j ON j.id = e.job_id "
                    "WHERE j.owner_id = :o AND e.to_status = 'running' ORDER BY e.id"
                ),
                {"o": a.id},
            ).scalars()
        )
        by_age = list(
            conn.execute(
                text("SELECT id::text FROM jobs WHERE owner_id = :o ORDER BY created_at, id"), {"o": a.id}
            ).scalars()
        )
        # After the first two, the ones that started had been held and were released into the freed slots
        released = set(
            conn.execute(
                text("SELECT job_id::text FROM job_events WHERE type = 'released' AND job_id::text = ANY(:ids)"),
                {"ids": started[2:4]},
            ).scalars()
        )
    assert len(started) >= 4 and released == set(started[2:4]), (started, released, by_age)
    await wait_for(b, b_job, status_in("succeeded"), 60, "B's job to finish")

    # Cleanup: A cancels the rest of the backlog in bulk (held jobs included)
    response = await a.client.post("/api/jobs/cancel", json={"filter": {"kind": "test_fair"}})
    assert response.status_code == 200
    assert {r["outcome"] for r in response.json()["results"]} <= {"cancelled", "conflict"}
