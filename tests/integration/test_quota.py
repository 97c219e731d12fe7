"""Monthly generation quotas: only succeeded generations count, the limit answers 429 with when it resets,
admins are unlimited, and the scheduler's monthly reset (recorded once per occurrence) frees the quota."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import sessionmaker

from actors.scheduler.calendar import CalendarTask, daily_at, monthly_on_first, run_due
from actors.scheduler.maintenance import delete_old_artifacts, reset_quotas
from tests.conftest import ApiUser
from tests.support.services import ServiceProcess

MakeUser = Callable[..., Awaitable[ApiUser]]
TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "expired"}


async def finish(user: ApiUser, **params: Any) -> dict[str, Any]:
    created = await user.client.post("/api/jobs", json={"kind": "test_generation", "params": params})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job = (await user.client.get(f"/api/jobs/{job_id}")).json()
        if job["status"] in TERMINAL:
            return dict(job)
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def set_limit(db_engine: Engine, user: ApiUser, limit: int) -> None:
    with db_engine.begin() as conn:
        conn.execute(text("UPDATE users SET monthly_generation_limit = :l WHERE id = :id"), {"l": limit, "id": user.id})


def count_jobs(db_engine: Engine, user: ApiUser) -> int:
    with db_engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM jobs WHERE owner_id = :id"), {"id": user.id}).scalar_one())


async def test_quota_counts_only_succeeded_generations_and_refuses_past_the_limit(
    make_user: MakeUser, worker: ServiceProcess, db_engine: Engine
) -> None:
    # Given a user allowed two generations a month
    user = await make_user()
    set_limit(db_engine, user, 2)
    quota = (await user.client.get("/api/quota")).json()
    assert quota["can_generate"] is True and quota["used"] == 0 and quota["limit"] == 2 and quota["remaining"] == 2
    # When one generation fails and two succeed
    assert (await finish(user, fail=True))["status"] == "failed"
    assert (await finish(user))["status"] == "succeeded"
    assert (await user.client.get("/api/quota")).json()["used"] == 1
    assert (await finish(user))["status"] == "succeeded"
    # Then the failed one did not count, and the quota is used up
    quota = (await user.client.get("/api/quota")).json()
    assert quota["used"] == 2 and quota["remaining"] == 0 and quota["can_generate"] is False
    resets_at = datetime.fromisoformat(quota["resets_at"])
    assert resets_at.day == 1 and resets_at.hour == 0 and resets_at > datetime.now(UTC)
    assert "resets on" in quota["message"]
    # And a new generation is refused with 429, the same message, and nothing stored
    before = count_jobs(db_engine, user)
    refused = await user.client.post("/api/jobs", json={"kind": "test_generation", "params": {}})
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "quota_exhausted"
    assert refused.json()["error"]["message"] == quota["message"]
    assert int(refused.headers["retry-after"]) > 0
    assert count_jobs(db_engine, user) == before
    # But kinds outside the quota still run
    other = await user.client.post("/api/jobs", json={"kind": "test_noop", "params": {}})
    assert other.status_code == 202


async def test_parallel_requests_cannot_exceed_the_limit(make_user: MakeUser, db_engine: Engine) -> None:
    # Given a limit of 3 and no worker consuming yet (jobs stay in progress)
    user = await make_user()
    set_limit(db_engine, user, 3)
    # When 8 generations are requested at once
    responses = await asyncio.gather(
        *(user.client.post("/api/jobs", json={"kind": "test_generation", "params": {"delay": 5}}) for _ in range(8))
    )
    # Then exactly 3 are accepted
    assert sorted(r.status_code for r in responses) == [202] * 3 + [429] * 5
    assert count_jobs(db_engine, user) == 3


async def test_admins_are_unlimited(make_user: MakeUser) -> None:
    admin = await make_user(admin=True)
    quota = (await admin.client.get("/api/quota")).json()
    assert quota["can_generate"] is True and quota["limit"] is None and quota["remaining"] is None


async def test_monthly_reset_frees_the_quota_once_per_occurrence(
    make_user: MakeUser, worker: ServiceProcess, db_engine: Engine
) -> None:
    # Given a user who used their only generation
    user = await make_user()
    set_limit(db_engine, user, 1)
    assert (await finish(user))["status"] == "succeeded"
    assert (await user.client.get("/api/quota")).json()["can_generate"] is False
    # When the scheduler's monthly task runs for next month's 1st
    sessions = sessionmaker(db_engine)
    first_of_next = (await user.client.get("/api/quota")).json()["resets_at"]
    at = datetime.fromisoformat(first_of_next) + timedelta(minutes=1)
    task = CalendarTask("quota_reset", monthly_on_first, lambda when: reset_quotas(sessions, when))
    assert run_due(sessions, [task], now=at) == ["quota_reset"]
    # Then only generations finished after the reset count
    quota = (await user.client.get("/api/quota")).json()
    assert quota["used"] == 0 and quota["can_generate"] is True
    # And running it again for the same occurrence does nothing; the run is recorded once (for that occurrence:
    # on the 1st of a month a scheduler of another test may record the current month's occurrence meanwhile)
    assert run_due(sessions, [task], now=at + timedelta(hours=3)) == []
    with db_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT task, status, detail FROM scheduler_runs WHERE task = 'quota_reset' AND scheduled_for = :at"),
            {"at": monthly_on_first(at)},
        ).all()
    assert len(rows) == 1 and rows[0].status == "succeeded" and rows[0].detail["users"] >= 1


def test_daily_occurrence_is_the_latest_0200_utc() -> None:
    latest = daily_at(2)
    assert latest(datetime(2026, 3, 10, 1, 59, tzinfo=UTC)) == datetime(2026, 3, 9, 2, tzinfo=UTC)
    assert latest(datetime(2026, 3, 10, 2, 0, tzinfo=UTC)) == datetime(2026, 3, 10, 2, tzinfo=UTC)
    assert monthly_on_first(datetime(2026, 12, 31, 23, tzinfo=UTC)) == datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def artifacts(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "artifacts"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_old_artifacts_are_deleted_and_recent_ones_kept(
    make_user: MakeUser, db_engine: Engine, artifacts: Path
) -> None:
    # Given an old finished job, a recent one, an orphan folder and a folder that is not a job's
    user = await make_user()
    old_id, recent_id, orphan_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    with db_engine.begin() as conn:
        for job_id, finished in ((old_id, now - timedelta(days=31)), (recent_id, now - timedelta(days=2))):
            conn.execute(
                text(
                    "INSERT INTO jobs (id, owner_id, kind, params, status, priority, queue, finished_at) "
                    "VALUES (:id, :owner, 'test_noop', '{}', 'succeeded', 'normal', 'noop', :finished)"
                ),
                {"id": job_id, "owner": user.id, "finished": finished},
            )
    for job_id in (old_id, recent_id, orphan_id):
        (artifacts / str(job_id)).mkdir()
        (artifacts / str(job_id) / "llms.txt").write_text("# x\n")
    # and the files uploaded with the old and the recent job
    for job_id in (old_id, recent_id):
        (artifacts / "uploads" / str(job_id)).mkdir(parents=True)
        (artifacts / "uploads" / str(job_id) / "file").write_bytes(b"PK")
    (artifacts / "not-a-job").mkdir()
    old_mtime = time.time() - 40 * 86_400
    os.utime(artifacts / str(orphan_id), (old_mtime, old_mtime))
    # When the daily cleanup runs with a 30-day retention
    report = delete_old_artifacts(sessionmaker(db_engine), artifacts, 30, now)
    # Then the old job's folders (its files and its upload) and the old orphan's are gone, the rest stays
    assert report["deleted"] == 3 and report["bytes"] > 0
    assert sorted(p.name for p in artifacts.iterdir()) == sorted([str(recent_id), "not-a-job", "uploads"])
    assert [p.name for p in (artifacts / "uploads").iterdir()] == [str(recent_id)]
