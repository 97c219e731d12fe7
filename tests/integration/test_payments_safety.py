"""Money safety of paid jobs: no job runs unpaid, no money is kept for a job that does not run.

Against real API, worker and scheduler processes and the fake Stripe (see test_payments.py); webhooks are
signed here with the shared secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import Engine, text

from tests.conftest import ApiUser
from tests.support.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe, event_body
from tests.support.llms_jobs import job_row, wait_for_row, wait_until_terminal
from tests.support.payments import completions, create_paid_job, deliver, history, pay_and_notify, types, wait_for
from tests.support.services import ServiceProcess

MakeUser = Callable[..., Awaitable[ApiUser]]
# The fake Stripe is shared by the session: each test starts from (and leaves) it clean.
pytestmark = pytest.mark.usefixtures("fresh_stripe")


def _v1(secret: str, ts: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()


async def test_two_deliveries_of_one_event_at_once_start_the_job_once(
    api_url: str,
    worker: ServiceProcess,
    make_user: MakeUser,
    fake_stripe: FakeStripe,
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    user = await make_user()
    job_id = (await create_paid_job(user.client, steps=1, delay=0.01))["id"]
    paid = fake_stripe.pay(fake_stripe.session_for_job(job_id)["id"])
    # When Stripe delivers the same event twice at the same moment (two webhook endpoints, a retry racing)
    bodies = [event_body("checkout.session.completed", paid, event_id=f"evt_race_{job_id[:8]}")] * 2
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        ts = int(time.time())
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/webhooks/stripe",
                    content=body,
                    headers={"Stripe-Signature": f"t={ts},v1={_v1(WEBHOOK_SECRET, ts, body)}"},
                )
                for body in bodies
            )
        )
    # Then both are answered 200, one applies it and the other is a duplicate: the job is queued and runs once
    assert [r.status_code for r in responses] == [200, 200]
    assert sorted(r.json()["outcome"] for r in responses) == ["duplicate", "queued"]
    assert (await wait_until_terminal(db_engine, job_id, 60))["status"] == "succeeded"
    assert completions(redis_client, job_id) == 1
    assert [e["to_status"] for e in history(db_engine, job_id)].count("queued") == 1
    with db_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT count(*) FROM stripe_events WHERE event_id = :id"), {"id": f"evt_race_{job_id[:8]}"}
        ).scalar_one()
    assert stored == 1


async def test_signatures_from_a_rotated_secret_are_accepted_and_v0_alone_is_not(
    api_url: str, db_engine: Engine
) -> None:
    body = event_body("customer.created", {"id": "cus_rotation", "object": "customer"})
    ts = int(time.time())
    old, new = _v1("whsec_the_previous_secret", ts, body), _v1(WEBHOOK_SECRET, ts, body)
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        # While a secret is rolled, Stripe signs with both: either order is accepted (the event is stored once)
        for header in (f"t={ts},v1={old},v1={new}", f"t={ts},v1={new},v1={old}"):
            response = await client.post("/api/webhooks/stripe", content=body, headers={"Stripe-Signature": header})
            assert response.status_code == 200, response.text
        assert response.json()["duplicate"] is True
        # Only the old secret's signature, or only a v0 one (the test-mode scheme): refused
        for header in (f"t={ts},v1={old}", f"t={ts},v0={new}"):
            other = event_body("customer.created", {"id": "cus_rotation_2", "object": "customer"})
            response = await client.post("/api/webhooks/stripe", content=other, headers={"Stripe-Signature": header})
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == "invalid_signature"


async def test_async_payments_run_when_they_succeed_and_expire_when_they_fail(
    api_url: str,
    worker: ServiceProcess,
    scheduler: ServiceProcess,
    make_user: MakeUser,
    fake_stripe: FakeStripe,
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    # Given two paid jobs
    user = await make_user()
    good = (await create_paid_job(user.client, steps=1, delay=0.01))["id"]
    bad = (await create_paid_job(user.client, steps=1, delay=0.01))["id"]
    # When both customers pay by bank debit: the sessions complete, still unpaid
    sessions = {job: fake_stripe.start_async_payment(fake_stripe.session_for_job(job)["id"]) for job in (good, bad)}
    completed = await deliver(api_url, "checkout.session.completed", sessions[good])
    assert completed.json()["outcome"] == "rejected:unpaid"
    # and their sessions' expiry passes (moved into the past here, rather than a session that expires within
    # a second, which the reconciliation could expire before a busy machine had the customer pay)
    with db_engine.begin() as conn:
        conn.execute(
            text("UPDATE payments SET expires_at = now() - interval '1 second' WHERE job_id IN (:good, :bad)"),
            {"good": good, "bad": bad},
        )
    # Then reconciliation, past the expiry, leaves them waiting for the debit instead of expiring them
    for job in (good, bad):
        await wait_for(lambda job=job: "payment_processing" in types(db_engine, job), 30, "payment_processing")
        assert job_row(db_engine, job)["status"] == "pending_payment"
    # When one debit succeeds: the job runs once
    succeeded = fake_stripe.settle_async_payment(sessions[good]["id"], succeeded=True)
    response = await deliver(api_url, "checkout.session.async_payment_succeeded", succeeded)
    assert response.json()["outcome"] == "queued", response.text
    assert (await wait_until_terminal(db_engine, good, 60))["status"] == "succeeded"
    assert completions(redis_client, good) == 1
    # When the other fails: the job expires and never runs
    failed = fake_stripe.settle_async_payment(sessions[bad]["id"], succeeded=False)
    response = await deliver(api_url, "checkout.session.async_payment_failed", failed)
    assert response.json()["outcome"] == "expired", response.text
    row = job_row(db_engine, bad)
    assert (row["status"], row["payment_status"], row["message_id"]) == ("expired", "expired", None)
    assert completions(redis_client, bad) == 0


async def test_a_pending_refund_gets_its_final_status_by_webhook_or_by_reconciliation(
    api_url: str,
    worker: ServiceProcess,
    scheduler: ServiceProcess,
    make_user: MakeUser,
    fake_stripe: FakeStripe,
    db_engine: Engine,
) -> None:
    user = await make_user()
    # Given two paid jobs that fail, whose refunds Stripe answers "pending"
    fake_stripe.refund_status = "pending"
    jobs = [(await create_paid_job(user.client, steps=0, fail_times=10))["id"] for _ in range(2)]
    for job in jobs:
        await pay_and_notify(api_url, fake_stripe, job)
    rows = [await wait_for_row(db_engine, j, lambda r: r["refund_id"] is not None, 60, "a refund") for j in jobs]
    assert [r["refund_status"] for r in rows] == ["pending", "pending"]
    by_webhook, by_reconcile = rows
    # When Stripe tells us by webhook that the first succeeded (its API still says pending here, so only
    # the webhook can make it succeeded)
    refund = fake_stripe.refunds[by_webhook["refund_id"]]
    response = await deliver(api_url, "refund.updated", {**refund, "status": "succeeded"})
    assert response.json()["outcome"] == "refund:succeeded", response.text
    job = (await user.client.get(f"/api/jobs/{by_webhook['id']}")).json()
    assert (job["payment"]["refund_id"], job["payment"]["refund_status"]) == (refund["id"], "succeeded")
    updated = [e for e in history(db_engine, str(by_webhook["id"])) if e["type"] == "refund_updated"]
    assert updated[-1]["detail"]["status"] == "succeeded" and updated[-1]["actor"] == "stripe:webhook"
    # and an older "pending" event arriving late changes nothing
    stale = await deliver(api_url, "refund.updated", refund)
    assert stale.json()["outcome"] == "ignored:stale"
    assert job_row(db_engine, str(by_webhook["id"]))["refund_status"] == "succeeded"
    # When the second settles as failed and its webhook is lost: the scheduler re-reads it
    fake_stripe.settle_refund(by_reconcile["refund_id"], "failed")
    await wait_for_row(db_engine, str(by_reconcile["id"]), lambda r: r["refund_status"] == "failed", 30, "failed")
    updated = [e for e in history(db_engine, str(by_reconcile["id"])) if e["type"] == "refund_updated"]
    assert [(e["actor"], e["detail"]["status"]) for e in updated] == [("scheduler:reconcile", "failed")]


@pytest.mark.parametrize("ending", ["lost_worker", "timed_out"])
async def test_a_paid_job_lost_on_its_last_attempt_or_timed_out_is_refunded_once(
    api_url: str,
    scheduler: ServiceProcess,
    make_user: MakeUser,
    fake_stripe: FakeStripe,
    db_engine: Engine,
    ending: str,
) -> None:
    user = await make_user()
    job_id = (await create_paid_job(user.client))["id"]
    paid = fake_stripe.pay(fake_stripe.session_for_job(job_id)["id"])
    # Given a paid job whose worker died on its last attempt (lease run out) or that timed out
    with db_engine.begin() as conn:
        conn.execute(
            text("UPDATE payments SET status = 'paid', intent_id = :pi WHERE job_id = :id"),
            {"id": job_id, "pi": paid["payment_intent"]},
        )
        conn.execute(
            text(
                "UPDATE jobs SET queued_at = now(), "
                "started_at = now(), attempts = max_attempts, "
                + (
                    "status = 'running', claim_token = gen_random_uuid(), lease_expires_at = now() - interval '1 s' "
                    if ending == "lost_worker"
                    else "status = 'timed_out', finished_at = now() "
                )
                + "WHERE id = :id"
            ),
            {"id": job_id},
        )
    # Then the sweeper fails the lost one, and either way exactly one refund is made and recorded
    row = await wait_for_row(db_engine, job_id, lambda r: r["refund_id"] is not None, 30, "a refund")
    assert row["status"] == ("failed" if ending == "lost_worker" else "timed_out")
    await asyncio.sleep(3)  # the catch-up pass has looked again
    refunds = fake_stripe.refunds_for(paid["payment_intent"])
    assert len(refunds) == 1 and row["refund_id"] == refunds[0]["id"]
    assert types(db_engine, job_id).count("refunded") == 1


def test_no_secret_is_written_to_the_service_logs(log_dir: Path) -> None:
    # Runs after the flows above (and any earlier module's) wrote their logs.
    logs = sorted(log_dir.glob("*.log"))
    assert logs, "no service logs were written"
    for path in logs:
        content = path.read_text(errors="replace")
        for secret in (API_KEY, WEBHOOK_SECRET, "sk_test_", "whsec_"):
            assert secret not in content, f"{secret[:8]}… found in {path.name}"
