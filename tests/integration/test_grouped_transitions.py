"""Claims and successes of several jobs in one statement (``claim_many``, ``succeed_many``, run by a worker's
``actors.grouped``) against real Postgres: each job moves as its own claim or success would, with its audit row,
a job named twice moves once, and statements over the same jobs at once claim each job once. And a worker's
other one-statement bookkeeping: progress reports (``db.progress.record_progress``), a new step's audit row
included."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import TupleRow
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from db import direct
from db import state_machine as sm
from db.models import Job, JobEvent, User
from db.progress import record_progress
from db.statuses import JobStatus
from service.settings import Settings


@pytest.fixture
def sessions(db_engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(db_engine, expire_on_commit=False)


@pytest.fixture
def conn(settings: Settings) -> Iterator[psycopg.Connection[TupleRow]]:
    pool = direct.open_sync_pool(settings.database.sync_url, max_size=2)
    pool.open(wait=True)
    try:
        with direct.sync_connection(pool) as connection:
            yield connection
    finally:
        pool.close()


def _jobs(sessions: sessionmaker[Session], count: int) -> list[uuid.UUID]:
    owner = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(count)]
    with sessions.begin() as session:
        session.execute(insert(User).values(id=owner, email=f"{owner}@example.com", password_hash="x"))
        for n, job_id in enumerate(ids):
            job = sm.NewJob(
                id=job_id, owner_id=owner, kind="test_noop", params={"n": n}, status="queued", queue="q", max_attempts=3
            )
            sm.create(session, job, actor="test")
    return ids


def _audit(sessions: sessionmaker[Session], job_id: uuid.UUID) -> list[tuple[str | None, str | None, str | None]]:
    with sessions() as session:
        rows = session.execute(
            select(JobEvent.from_status, JobEvent.to_status, JobEvent.actor)
            .where(JobEvent.job_id == job_id, JobEvent.type == "status")
            .order_by(JobEvent.id)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_a_group_claims_and_finishes_each_job_as_one_call_would(
    sessions: sessionmaker[Session], conn: psycopg.Connection[TupleRow]
) -> None:
    first, second, third, finished = _jobs(sessions, 4)
    with sessions.begin() as session:
        done = sm.claim(session, finished, worker="w0", lease_seconds=30)
        assert done is not None and done.claim_token is not None
        assert sm.succeed(session, finished, done.claim_token, None, worker="w0") is not None
    # When one statement claims three queued jobs, a finished one, and the first again (a duplicate message)
    order = [first, second, finished, third, first]
    rows = sm.claim_many(conn, order, worker="w1", lease_seconds=30)
    claimed = [sm.claimed(row, job_id, worker="w1") for row, job_id in zip(rows, order, strict=True)]
    # Then each queued job is claimed once, with a token of its own, its params and an audit row
    assert [c is not None for c in claimed] == [True, True, False, True, False]
    changes = [c for c in claimed if c is not None]
    assert [c.job_id for c in changes] == [first, second, third]
    assert len({c.claim_token for c in changes}) == 3 and all(c.claim_token for c in changes)
    assert [c.extra[0] for c in changes] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert all(c.from_status == "queued" and c.attempts == 1 and c.events[0].body.status == "running" for c in changes)
    assert _audit(sessions, first) == [("queued", "running", "worker:w1")]
    # When one statement finishes them, one with another's token
    tokens = {c.job_id: c.claim_token for c in changes}
    successes = [
        (first, tokens[first], {"pages": 3}),
        (second, tokens[third], {"stolen": True}),
        (third, tokens[third], None),
    ]
    rows = sm.succeed_many(conn, successes, worker="w1")
    finished_now = [
        sm.succeeded(row, j, result, worker="w1") for row, (j, _, result) in zip(rows, successes, strict=True)
    ]
    # Then only the holders of the claims finish their jobs, each with its own result, in its event and its row
    assert [c is not None for c in finished_now] == [True, False, True]
    assert finished_now[0] is not None and finished_now[0].events[0].body.result == {"pages": 3}
    with sessions() as session:
        rows = {job.id: job for job in session.scalars(select(Job).where(Job.id.in_([first, second, third])))}
    assert rows[first].status == JobStatus.SUCCEEDED.value and rows[first].result == {"pages": 3}
    assert rows[second].status == JobStatus.RUNNING.value and rows[second].result is None
    assert rows[third].status == JobStatus.SUCCEEDED.value and rows[third].result is None
    assert rows[first].finished_at is not None and rows[first].lease_expires_at is None
    assert _audit(sessions, third) == [("queued", "running", "worker:w1"), ("running", "succeeded", "worker:w1")]


def test_groups_over_the_same_jobs_at_once_claim_each_job_once(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    ids = _jobs(sessions, 40)
    pool = direct.open_sync_pool(settings.database.sync_url, max_size=8)
    pool.open(wait=True)
    won: list[uuid.UUID] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def claim(order: list[uuid.UUID], name: str) -> None:
        try:
            barrier.wait(30)
            with direct.sync_connection(pool) as connection:
                rows = sm.claim_many(connection, order, worker=name, lease_seconds=30)
                won.extend(job_id for row, job_id in zip(rows, order, strict=True) if row is not None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(ids if n % 2 else ids[::-1], f"w{n}")) for n in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        pool.close()
    # Every job was claimed exactly once, and no statement failed (its rows are locked in the order of their ids)
    assert errors == []
    assert sorted(won) == sorted(ids)
    with sessions() as session:
        assert (
            session.scalar(
                select(JobEvent.id).where(JobEvent.job_id.in_(ids), JobEvent.to_status == "running").limit(1)
            )
            is not None
        )
    assert all(len(_audit(sessions, job_id)) == 1 for job_id in ids)


def test_a_progress_report_stores_the_count_and_a_new_step_its_audit_row_only_for_the_claims_holder(
    sessions: sessionmaker[Session], conn: psycopg.Connection[TupleRow]
) -> None:
    # Given a running job and its claim
    (job_id,) = _jobs(sessions, 1)
    with sessions.begin() as session:
        claim = sm.claim(session, job_id, worker="w1", lease_seconds=30)
    assert claim is not None and claim.claim_token is not None
    token = claim.claim_token

    def report(claim_token: uuid.UUID, done: int, step: str, step_changed: bool) -> uuid.UUID | None:
        return record_progress(
            conn,
            job_id,
            claim_token,
            done=done,
            total=4,
            step=step,
            lease_seconds=30,
            worker="w1",
            step_changed=step_changed,
        )

    # When its worker reports a new step, a count within it, and another step
    owners = [report(token, 0, "fetch", True), report(token, 2, "fetch", False), report(token, 1, "write", True)]
    # and a worker whose claim was lost reports a step of its own
    stale = report(uuid.uuid4(), 3, "stale", True)

    # Then the holder's reports are stored (its owner returned), the other's is refused (None)
    assert owners == [claim.owner_id] * 3 and stale is None
    with sessions() as session:
        job = session.get_one(Job, job_id)
        assert (job.progress_step, job.progress_done, job.progress_total) == ("write", 1, 4)
        steps = session.execute(
            select(JobEvent.actor, JobEvent.detail, JobEvent.at)
            .where(JobEvent.job_id == job_id, JobEvent.type == "step")
            .order_by(JobEvent.id)
        ).all()
        claimed_at = session.scalar(
            select(JobEvent.at).where(
                JobEvent.job_id == job_id, JobEvent.type == "status", JobEvent.to_status == "running"
            )
        )
    # and each new step, and only they, left an audit row, in order after the claim's, the refused one none
    assert [(actor, detail) for actor, detail, _ in steps] == [
        ("worker:w1", {"step": "fetch", "done": 0, "total": 4}),
        ("worker:w1", {"step": "write", "done": 1, "total": 4}),
    ]
    assert claimed_at is not None and claimed_at <= steps[0].at <= steps[1].at
