"""The state machine against real Postgres: allowed and refused transitions, the audit row written with
each change, and concurrent claims of which exactly one wins."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from db import state_machine as sm
from db.models import Job, JobEvent, Payment, User
from db.statuses import ALLOWED_FROM, JobStatus


@pytest.fixture
def sessions(db_engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(db_engine, expire_on_commit=False)


@pytest.fixture
def owner(sessions: sessionmaker[Session]) -> Iterator[uuid.UUID]:
    with sessions.begin() as session:
        user_id = uuid.uuid4()
        session.execute(insert(User).values(id=user_id, email=f"{user_id}@example.com", password_hash="x"))
    yield user_id


def new_job(sessions: sessionmaker[Session], owner: uuid.UUID, status: JobStatus = JobStatus.QUEUED) -> uuid.UUID:
    job = sm.NewJob(
        id=uuid.uuid4(), owner_id=owner, kind="test_sleep", params={}, status=status.value, queue="test", max_attempts=2
    )
    if status == JobStatus.PENDING_PAYMENT:
        job.payment = sm.NewPayment(amount_cents=120, currency="usd", session_id=f"cs_{job.id.hex}")
    with sessions.begin() as session:
        events = sm.create(session, job, actor="test")
    assert events[0].body.status == status.value
    return job.id


def events_of(sessions: sessionmaker[Session], job_id: uuid.UUID) -> list[tuple[str, str | None, str | None]]:
    with sessions() as session:
        rows = session.execute(
            select(JobEvent.type, JobEvent.from_status, JobEvent.to_status)
            .where(JobEvent.job_id == job_id)
            .order_by(JobEvent.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_happy_path_writes_one_audit_row_per_change(sessions: sessionmaker[Session], owner: uuid.UUID) -> None:
    job_id = new_job(sessions, owner)
    with sessions.begin() as session:
        claimed = sm.claim(session, job_id, worker="w1", lease_seconds=30)
    assert claimed is not None and claimed.from_status == "queued" and claimed.attempts == 1
    assert claimed.claim_token is not None
    with sessions.begin() as session:
        done = sm.succeed(session, job_id, claimed.claim_token, {"ok": True}, worker="w1")
    assert done is not None and done.events[0].body.result == {"ok": True}
    assert events_of(sessions, job_id) == [
        ("created", None, "queued"),
        ("status", "queued", "running"),
        ("status", "running", "succeeded"),
    ]


def test_a_finished_job_can_never_move_again(sessions: sessionmaker[Session], owner: uuid.UUID) -> None:
    job_id = new_job(sessions, owner)
    with sessions.begin() as session:
        claimed = sm.claim(session, job_id, worker="w1", lease_seconds=30)
        assert claimed is not None and claimed.claim_token is not None
        assert sm.succeed(session, job_id, claimed.claim_token, None, worker="w1") is not None
    with sessions.begin() as session:
        assert sm.claim(session, job_id, worker="w2", lease_seconds=30) is None
        assert sm.cancel(session, job_id, actor="user") is None
        assert sm.fail(session, job_id, None, "late", actor="w1") is None
    with sessions() as session:
        assert sm.current_status(session, job_id) == "succeeded"
    assert len(events_of(sessions, job_id)) == 3


def test_a_stale_claim_cannot_finish_a_reclaimed_job(sessions: sessionmaker[Session], owner: uuid.UUID) -> None:
    # Given a job claimed by w1, whose lease then expired and which w2 claimed again
    job_id = new_job(sessions, owner)
    with sessions.begin() as session:
        first = sm.claim(session, job_id, worker="w1", lease_seconds=0)
    assert first is not None and first.claim_token is not None
    with sessions.begin() as session:
        assert sm.reclaim_lost(session, job_id, message_id="m2") is not None
        second = sm.claim(session, job_id, worker="w2", lease_seconds=30)
    assert second is not None and second.claim_token != first.claim_token
    # When w1 comes back and reports success, Then nothing changes
    with sessions.begin() as session:
        assert sm.succeed(session, job_id, first.claim_token, {"from": "w1"}, worker="w1") is None
    with sessions.begin() as session:
        assert second.claim_token is not None
        assert sm.succeed(session, job_id, second.claim_token, {"from": "w2"}, worker="w2") is not None
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.result == {"from": "w2"} and job.attempts == 2


def test_concurrent_claims_exactly_one_wins(sessions: sessionmaker[Session], owner: uuid.UUID) -> None:
    job_id = new_job(sessions, owner)
    barrier = threading.Barrier(8)
    winners: list[str] = []

    def try_claim(name: str) -> None:
        barrier.wait()
        with sessions.begin() as session:
            if sm.claim(session, job_id, worker=name, lease_seconds=30) is not None:
                winners.append(name)

    threads = [threading.Thread(target=try_claim, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(winners) == 1
    with sessions() as session:
        running_rows = session.scalar(
            select(func.count()).select_from(JobEvent).where(JobEvent.job_id == job_id, JobEvent.to_status == "running")
        )
    assert running_rows == 1


@pytest.mark.parametrize("target", [s for s in JobStatus if s is not JobStatus.PENDING_PAYMENT])
def test_every_target_is_refused_from_a_status_not_allowed(
    sessions: sessionmaker[Session], owner: uuid.UUID, target: JobStatus
) -> None:
    # A job that succeeded is a source of no transition except a user's retry (-> queued).
    job_id = new_job(sessions, owner)
    with sessions.begin() as session:
        claimed = sm.claim(session, job_id, worker="w", lease_seconds=30)
        assert claimed is not None and claimed.claim_token is not None
        assert sm.succeed(session, job_id, claimed.claim_token, None, worker="w") is not None
    allowed = JobStatus.SUCCEEDED in ALLOWED_FROM[target]
    with sessions.begin() as session:
        changed = sm.transition(session, job_id, target, actor="test")
    assert (changed is not None) == allowed


def test_payment_transitions(sessions: sessionmaker[Session], owner: uuid.UUID) -> None:
    # A paid job waits in pending_payment: a worker cannot claim it until payment moves it to queued
    paid = new_job(sessions, owner, JobStatus.PENDING_PAYMENT)
    with sessions.begin() as session:
        assert sm.claim(session, paid, worker="w", lease_seconds=30) is None
        changed = sm.mark_paid(
            session, paid, actor="stripe", message_id="m1", payment_intent="pi_1", detail={"event": "evt_1"}
        )
    assert changed is not None and (changed.from_status, changed.to_status) == ("pending_payment", "queued")
    # The payment row was created with the job and is paid with it, in the same transaction
    with sessions() as session:
        payment = session.scalars(select(Payment).where(Payment.job_id == paid)).one()
    assert (payment.amount_cents, payment.currency, payment.status, payment.intent_id) == (120, "usd", "paid", "pi_1")
    with sessions.begin() as session:
        # paying twice, or expiring after payment, changes nothing
        assert sm.mark_paid(session, paid, actor="stripe", message_id="m2", payment_intent="pi_2") is None
        assert sm.expire(session, paid, actor="stripe", reason="session expired") is None
        assert sm.claim(session, paid, worker="w", lease_seconds=30) is not None
    # An unpaid one expires, and then can never be paid
    unpaid = new_job(sessions, owner, JobStatus.PENDING_PAYMENT)
    with sessions.begin() as session:
        expired = sm.expire(session, unpaid, actor="scheduler", reason="checkout expired")
        assert expired is not None and expired.to_status == "expired"
        assert sm.mark_paid(session, unpaid, actor="stripe", message_id="m3", payment_intent="pi_3") is None
    with sessions() as session:
        unpaid_payment = session.execute(
            select(Payment.status, Payment.intent_id).where(Payment.job_id == unpaid)
        ).one()
    assert tuple(unpaid_payment) == ("pending", None)
    assert events_of(sessions, unpaid) == [
        ("created", None, "pending_payment"),
        ("status", "pending_payment", "expired"),
    ]


def park(sessions: sessionmaker[Session], job_id: uuid.UUID, **kwargs: Any) -> sm.Changed:
    with sessions.begin() as session:
        claimed = sm.claim(session, job_id, worker="w", lease_seconds=30)
        assert claimed is not None and claimed.claim_token is not None
        parked = sm.park(session, job_id, claimed.claim_token, worker="w", **kwargs)
    assert parked is not None
    return parked


def test_a_parked_job_holds_no_claim_and_only_a_signal_resumes_it(
    sessions: sessionmaker[Session], owner: uuid.UUID
) -> None:
    job_id = new_job(sessions, owner)
    # A stale claim cannot park the job
    with sessions.begin() as session:
        assert sm.park(session, job_id, uuid.uuid4(), waiting_for="x", deadline=None, state=None, worker="w") is None
    parked = park(sessions, job_id, waiting_for="review", deadline=None, state={"stage": 1})
    assert parked.events[0].body.waiting_for == "review"
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.claim_token, job.lease_expires_at, job.attempts) == ("waiting", None, None, 0)
    # A waiting job is not claimed by a stray message, nor finished, nor re-claimed as lost
    with sessions.begin() as session:
        assert sm.claim(session, job_id, worker="w2", lease_seconds=30) is None
        assert sm.fail_lost(session, job_id, error="x") is None
        assert sm.reclaim_lost(session, job_id, message_id="m") is None
        assert sm.requeue(session, job_id, actor="user", message_id="m") is None
    # A signal resumes it once; the next claim gets the state and the signal, on the same attempt number
    signal = {"name": "go", "payload": {"n": 1}, "sender": "owner:x", "at": "2026-01-01T00:00:00+00:00"}
    with sessions.begin() as session:
        resumed = sm.resume(session, job_id, signal=signal, sender="owner:x", queue="test", priority="normal")
        assert resumed is not None and [e.type for e in resumed.events] == ["signal", "status"]
        assert sm.resume(session, job_id, signal=signal, sender="owner:x", queue="test", priority="normal") is None
        claimed = sm.claim(session, job_id, worker="w", lease_seconds=30)
    assert claimed is not None and claimed.attempts == 1
    assert claimed.extra[2:] == ({"stage": 1}, signal)
    assert events_of(sessions, job_id) == [
        ("created", None, "queued"),
        ("status", "queued", "running"),
        ("status", "running", "waiting"),
        ("status", "waiting", "queued"),
        ("signal", None, None),
        ("status", "queued", "running"),
    ]


def test_a_deadline_resume_does_not_overtake_and_a_waiting_job_can_be_cancelled(
    sessions: sessionmaker[Session], owner: uuid.UUID
) -> None:
    timeout = {"name": "timeout", "payload": None, "sender": "scheduler", "at": "2026-01-01T00:00:00+00:00"}
    later = datetime.now(UTC) + timedelta(hours=1)
    job_id = new_job(sessions, owner)
    park(sessions, job_id, waiting_for="review", deadline=later, state=None)
    with sessions.begin() as session:
        # Not due yet: the deadline pass changes nothing
        assert (
            sm.resume(session, job_id, signal=timeout, sender="s", queue="q", priority="normal", due_only=True) is None
        )
        cancelled = sm.cancel(session, job_id, actor="user")
    assert cancelled is not None and (cancelled.from_status, cancelled.to_status) == ("waiting", "cancelled")
    due = new_job(sessions, owner)
    park(sessions, due, waiting_for="review", deadline=datetime.now(UTC) - timedelta(seconds=1), state=None)
    with sessions.begin() as session:
        changed = sm.resume(session, due, signal=timeout, sender="s", queue="test", priority="normal", due_only=True)
    assert changed is not None and changed.to_status == "queued"
