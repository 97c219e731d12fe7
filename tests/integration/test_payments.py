"""Paid jobs through Stripe Checkout, against real API, worker and scheduler processes and a fake Stripe.

The session's processes are configured with the fake Stripe (tests/conftest.py); webhooks are signed here
with the shared secret. ``test_paid`` is a test kind declared paid (the minimum charge, $0.50).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from sqlalchemy import Engine

from tests.conftest import ApiUser, start_api
from tests.support.fake_stripe import FakeStripe, event_body, signed_headers
from tests.support.llms_jobs import job_row, wait_for_row, wait_until_terminal
from tests.support.payments import (
    completions,
    create_paid_job,
    deliver,
    history,
    pay_and_notify,
    stripe_event_count,
    types,
)
from tests.support.services import ServiceProcess
from tests.support.sse import read_events
from tests.support.testsite.serving import RunningSite

MakeUser = Callable[..., Awaitable[ApiUser]]
# The fake Stripe is shared by the session: each test starts from (and leaves) it clean.
pytestmark = pytest.mark.usefixtures("fresh_stripe")


async def test_quote_prices_paid_options_on_the_sites_pages_and_404s_free_ones(
    api_url: str, make_user: MakeUser, acme_site: RunningSite
) -> None:
    user = await make_user()
    host = urlsplit(acme_site.base_url).netloc
    pages = (await user.client.get("/api/sites/analyze", params={"hostname": host})).json()["urls_count"]
    assert 200 < pages < 500, pages
    # The default pricing: Gemini is paid, tiered on the site's URLs (at most max_urls), never below $0.50
    small = await user.client.get(
        "/api/quote", params={"kind": "llms_txt", "hostname": host, "provider": "gemini", "max_urls": 20}
    )
    assert small.status_code == 200, small.text
    body = small.json()
    assert (body["amount_cents"], body["currency"], body["display"], body["url_count"]) == (50, "usd", "$0.50", 20)
    assert [line["description"] for line in body["breakdown"]] == ["URLs 1-20", "minimum charge"]
    # A cap above the site's size costs what the site has, not the cap: 100 URLs at 1 ¢, the rest at 0.5 ¢
    big = (
        await user.client.get(
            "/api/quote", params={"kind": "llms_txt", "hostname": host, "provider": "gemini", "max_urls": 5000}
        )
    ).json()
    expected = 100 + math.ceil((pages - 100) * 0.5)
    assert (big["url_count"], big["amount_cents"], big["display"]) == (pages, expected, f"${expected / 100:.2f}")
    assert math.ceil(sum(line["amount_cents"] for line in big["breakdown"])) == expected
    # A free option is a 404 with a code the UI can test
    free = await user.client.get("/api/quote", params={"kind": "llms_txt", "hostname": host})
    assert free.status_code == 404
    assert free.json()["error"]["code"] == "not_paid"
    # Bad params are a 400 that says what is wrong, and so is a site that cannot be reached
    bad = await user.client.get("/api/quote", params={"kind": "llms_txt", "provider": "gemini", "max_urls": "lots"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_params"
    gone = await user.client.get(
        "/api/quote", params={"kind": "llms_txt", "hostname": "127.0.0.1:9", "provider": "gemini"}
    )
    assert gone.status_code == 400, gone.text
    assert gone.json()["error"]["code"] == "site_unreachable"


async def test_paid_job_waits_for_payment_then_runs_once(
    api_url: str,
    worker: ServiceProcess,
    make_user: MakeUser,
    fake_stripe: FakeStripe,
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    user = await make_user()
    # When a paid job is created
    created = await create_paid_job(user.client, steps=1, delay=0.01)
    job_id = created["id"]
    # Then it waits for payment with its price, and its Checkout Session says who and what
    session = fake_stripe.session_for_job(job_id)
    assert created["payment_url"] == session["url"]
    assert session["amount_total"] == 50 and session["currency"] == "usd"
    assert session["metadata"] == {
        "job_id": job_id,
        "user_id": str(user.id),
        "kind": "test_paid",
        "hostname": "",
        "url_count": "0",
    }
    assert session["success_url"].endswith(f"/payment/success?job={job_id}")
    assert session["cancel_url"].endswith(f"/payment/cancel?job={job_id}")
    assert abs(session["expires_at"] - (time.time() + 86_400)) < 120
    assert [r.idempotency_key for r in fake_stripe.calls("POST", "/v1/checkout/sessions")] == [f"checkout-{job_id}"]
    row = job_row(db_engine, job_id)
    assert (row["status"], row["amount_cents"], row["currency"], row["message_id"]) == (
        "pending_payment",
        50,
        "usd",
        None,
    )
    assert not redis_client.hlen("dramatiq:test.msgs")
    job = (await user.client.get(f"/api/jobs/{job_id}")).json()
    assert job["payment"] == {
        "url": session["url"],
        "amount_cents": 50,
        "currency": "usd",
        "status": "pending",
        "refund_id": None,
        "refund_status": None,
    }
    # And its live stream opens with the same payment in its snapshot
    opened = await read_events(user.client, f"/api/jobs/{job_id}/events", stop=lambda events: bool(events))
    assert opened.events[0].event == "snapshot" and opened.events[0].data["payment"] == job["payment"]

    # When the customer pays and the webhook arrives (before the user comes back to the success page)
    paid = await pay_and_notify(api_url, fake_stripe, job_id)
    # Then the job is already queued (or further) without anyone looking, and it runs once
    assert job_row(db_engine, job_id)["status"] in {"queued", "running", "succeeded"}
    assert (await wait_until_terminal(db_engine, job_id, 60))["status"] == "succeeded"
    assert completions(redis_client, job_id) == 1
    job = (await user.client.get(f"/api/jobs/{job_id}")).json()
    assert job["payment"]["status"] == "paid"

    # When Stripe delivers the same event again (same id)
    body_event_id = "evt_same_event_twice"
    first = await deliver(api_url, "checkout.session.completed", paid, event_id=body_event_id)
    again = await deliver(api_url, "checkout.session.completed", paid, event_id=body_event_id)
    # Then the duplicate is answered 200 and does nothing; the job ran once
    assert first.status_code == again.status_code == 200
    assert again.json()["duplicate"] is True
    assert first.json()["outcome"] == "rejected:job_not_pending"
    assert completions(redis_client, job_id) == 1
    queued = [e for e in history(db_engine, job_id) if e["to_status"] == "queued"]
    assert len(queued) == 1 and queued[0]["actor"] == "stripe:webhook"
    assert queued[0]["detail"]["session_id"] == paid["id"]


async def test_expired_after_completed_changes_nothing_and_completed_after_expired_is_refunded(
    api_url: str,
    worker: ServiceProcess,
    scheduler: ServiceProcess,
    make_user: MakeUser,
    fake_stripe: FakeStripe,
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    user = await make_user()
    # Given a job paid and queued, when an expired event arrives late
    first = (await create_paid_job(user.client, steps=1, delay=0.01))["id"]
    paid = await pay_and_notify(api_url, fake_stripe, first)
    late = await deliver(api_url, "checkout.session.expired", {**paid, "status": "expired"})
    # Then nothing changes: the job runs
    assert late.status_code == 200 and late.json()["outcome"] == "ignored:not_pending"
    assert (await wait_until_terminal(db_engine, first, 60))["status"] == "succeeded"

    # Given a job whose session expired, when a completion arrives after it
    second = (await create_paid_job(user.client, steps=1, delay=0.01))["id"]
    session = fake_stripe.session_for_job(second)
    expired = await deliver(api_url, "checkout.session.expired", {**session, "status": "expired"})
    assert expired.json()["outcome"] == "expired"
    completed = await deliver(api_url, "checkout.session.completed", fake_stripe.pay(session["id"], in_the_gap=True))
    # Then the job stays expired and never runs, and the payment is refunded (both in its history)
    assert completed.json()["outcome"] == "refund_due:job_closed"
    row = await wait_for_row(db_engine, second, lambda r: r["refund_id"] is not None, 30, "a refund")
    assert (row["status"], row["payment_status"], row["message_id"]) == ("expired", "paid", None)
    assert types(db_engine, second)[-2:] == ["payment_after_close", "refunded"]
    assert completions(redis_client, second) == 0


@pytest.mark.parametrize("case", ["forged", "missing", "stale", "future", "wrong_secret"])
async def test_bad_signatures_are_refused_and_nothing_is_recorded(
    api_url: str, make_user: MakeUser, fake_stripe: FakeStripe, db_engine: Engine, case: str
) -> None:
    user = await make_user()
    job_id = (await create_paid_job(user.client))["id"]
    session = fake_stripe.pay(fake_stripe.session_for_job(job_id)["id"])
    body = event_body("checkout.session.completed", session)
    if case == "forged":
        headers = signed_headers(body)
        body = body.replace(b'"amount_total": 50', b'"amount_total": 51')
    elif case == "missing":
        headers = {"Content-Type": "application/json"}
    elif case == "stale":
        headers = signed_headers(body, timestamp=int(time.time()) - 301)
    elif case == "future":
        # Signed with a clock (or by someone) far ahead: it would stay replayable for that long.
        headers = signed_headers(body, timestamp=int(time.time()) + 3600)
    else:
        headers = signed_headers(body, secret="whsec_someone_else")
    async with httpx.AsyncClient(base_url=api_url) as client:
        response = await client.post("/api/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_signature"
    assert stripe_event_count(db_engine) == 0
    assert job_row(db_engine, job_id)["status"] == "pending_payment"
    assert types(db_engine, job_id) == ["created"]


async def test_an_unpaid_session_is_recorded_and_the_job_keeps_waiting(
    api_url: str, make_user: MakeUser, fake_stripe: FakeStripe, db_engine: Engine
) -> None:
    user = await make_user()
    job_id = (await create_paid_job(user.client))["id"]
    session = {**fake_stripe.session_for_job(job_id), "status": "complete", "payment_status": "unpaid"}
    response = await deliver(api_url, "checkout.session.completed", session)
    assert response.status_code == 200
    assert response.json()["outcome"] == "rejected:unpaid"
    row = job_row(db_engine, job_id)
    assert (row["status"], row["message_id"], row["refund_id"]) == ("pending_payment", None, None)
    rejected = history(db_engine, job_id)[-1]
    assert rejected["type"] == "payment_rejected" and rejected["detail"]["reason"] == "unpaid"
    assert rejected["actor"] == "stripe:webhook"
    assert fake_stripe.calls("POST", "/v1/refunds") == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount_total": 1}, "amount_mismatch"),
        ({"currency": "eur"}, "currency_mismatch"),
        ({"metadata": {"user_id": "00000000-0000-0000-0000-000000000000"}}, "owner_mismatch"),
    ],
)
async def test_a_payment_that_does_not_match_its_job_never_runs_it_and_is_refunded(
    api_url: str,
    worker: ServiceProcess,
    make_user: MakeUser,
    fake_stripe: FakeStripe,
    db_engine: Engine,
    change: dict[str, object],
    reason: str,
) -> None:
    user = await make_user()
    job_id = (await create_paid_job(user.client))["id"]
    paid = fake_stripe.pay(fake_stripe.session_for_job(job_id)["id"])
    response = await deliver(api_url, "checkout.session.completed", {**paid, **change})
    assert response.status_code == 200
    assert response.json()["outcome"] == f"refund_due:{reason}"
    # The job never runs: it expires, saying why
    row = job_row(db_engine, job_id)
    assert (row["status"], row["message_id"], row["queued_at"]) == ("expired", None, None)
    assert "did not match" in row["error"]
    rejected = [e for e in history(db_engine, job_id) if e["type"] == "payment_rejected"]
    assert [e["detail"]["reason"] for e in rejected] == [reason]
    assert rejected[0]["actor"] == "stripe:webhook"
    # and the money goes back, once
    row = await wait_for_row(db_engine, job_id, lambda r: r["refund_id"] is not None, 30, "the refund")
    assert len(fake_stripe.refunds_for(paid["payment_intent"])) == 1
    assert row["refund_id"] == fake_stripe.refunds_for(paid["payment_intent"])[0]["id"]
    assert "refunded" in types(db_engine, job_id)


async def test_other_events_are_recorded_and_ignored(api_url: str, db_engine: Engine) -> None:
    response = await deliver(api_url, "customer.created", {"id": "cus_1", "object": "customer"})
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert stripe_event_count(db_engine) == 1


async def test_failure_after_payment_is_refunded_exactly_once(
    api_url: str,
    worker: ServiceProcess,
    scheduler: ServiceProcess,
    make_user: MakeUser,
    fake_stripe: FakeStripe,
    db_engine: Engine,
) -> None:
    user = await make_user()
    # Given a paid job that fails on every attempt (2 attempts)
    job_id = (await create_paid_job(user.client, steps=0, fail_times=10))["id"]
    paid = await pay_and_notify(api_url, fake_stripe, job_id)
    row = await wait_until_terminal(db_engine, job_id, 60)
    assert (row["status"], row["attempts"]) == ("failed", 2)
    # Then it is refunded: the refund id and status are on the job and in its history
    row = await wait_for_row(db_engine, job_id, lambda r: r["refund_id"] is not None, 60, "a refund")
    refunds = fake_stripe.refunds_for(paid["payment_intent"])
    assert len(refunds) == 1
    assert row["refund_id"] == refunds[0]["id"] and row["refund_status"] == "succeeded"
    assert {c.idempotency_key for c in fake_stripe.calls("POST", "/v1/refunds")} == {f"refund-{job_id}"}
    refunded = [e for e in history(db_engine, job_id) if e["type"] == "refunded"]
    assert len(refunded) == 1 and refunded[0]["detail"]["refund_id"] == refunds[0]["id"]
    job = (await user.client.get(f"/api/jobs/{job_id}")).json()
    assert (job["payment"]["refund_id"], job["payment"]["refund_status"]) == (refunds[0]["id"], "succeeded")
    # and a retry by the user is refused (a paid run is not repeated for free)
    retry = await user.client.post(f"/api/jobs/{job_id}/retry")
    assert retry.status_code == 409 and retry.json()["error"]["code"] == "paid_job_not_retryable"
    # and once the scheduler's catch-up pass (every second, 2 s grace in tests) has seen the job, still one
    # refund: the pass skips a refunded job (and Stripe's idempotency key would make a second call a no-op)
    await asyncio.sleep(4)
    assert len(fake_stripe.refunds_for(paid["payment_intent"])) == 1


async def test_cancel_while_pending_expires_the_session_and_a_payment_in_the_gap_is_refunded(
    api_url: str,
    worker: ServiceProcess,
    scheduler: ServiceProcess,
    make_user: MakeUser,
    fake_stripe: FakeStripe,
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    user = await make_user()
    job_id = (await create_paid_job(user.client, steps=1, delay=0.01))["id"]
    response = await user.client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 204, response.text
    session = fake_stripe.session_for_job(job_id)
    assert session["status"] == "expired"
    assert [c.path for c in fake_stripe.calls("POST", "/v1/checkout/sessions/")] == [
        f"/v1/checkout/sessions/{session['id']}/expire"
    ]
    row = job_row(db_engine, job_id)
    assert (row["status"], row["payment_status"]) == ("cancelled", "cancelled")
    # When the customer's payment still went through (they paid as the job was being cancelled)
    paid = fake_stripe.pay(session["id"], in_the_gap=True)
    late = await deliver(api_url, "checkout.session.completed", paid)
    # Then the job does not run, and the money goes back: exactly one refund, on the job and in its history
    assert late.status_code == 200 and late.json()["outcome"] == "refund_due:job_closed", late.text
    row = await wait_for_row(db_engine, job_id, lambda r: r["refund_id"] is not None, 30, "a refund")
    refunds = fake_stripe.refunds_for(paid["payment_intent"])
    assert len(refunds) == 1 and refunds[0]["amount"] == 50
    assert (row["status"], row["payment_status"], row["refund_id"], row["refund_status"]) == (
        "cancelled",
        "paid",
        refunds[0]["id"],
        "succeeded",
    )
    assert (row["message_id"], row["queued_at"]) == (None, None)
    assert completions(redis_client, job_id) == 0
    assert types(db_engine, job_id)[-2:] == ["payment_after_close", "refunded"]
    # A redelivery of the completion (a new event id, e.g. async_payment_succeeded) refunds nothing more
    again = await deliver(api_url, "checkout.session.async_payment_succeeded", paid)
    assert again.json()["outcome"] == "rejected:job_not_pending"
    await asyncio.sleep(3)  # the scheduler's catch-up pass (every second, 2 s grace) has looked again
    assert len(fake_stripe.refunds_for(paid["payment_intent"])) == 1


async def test_admin_starts_a_paid_job_after_checking_stripe(
    api_url: str, worker: ServiceProcess, make_user: MakeUser, fake_stripe: FakeStripe, db_engine: Engine
) -> None:
    user = await make_user()
    admin = await make_user(admin=True)
    job_id = (await create_paid_job(user.client, steps=1, delay=0.01))["id"]
    session_id = fake_stripe.session_for_job(job_id)["id"]
    path = f"/api/admin/payments/{session_id}/start"
    # Not an admin: not found
    assert (await user.client.post(path)).status_code == 404
    # Not paid yet: refused, recorded, nothing started
    unpaid = await admin.client.post(path)
    assert unpaid.status_code == 409 and unpaid.json()["error"]["code"] == "unpaid"
    assert job_row(db_engine, job_id)["status"] == "pending_payment"
    # Paid (its webhook lost): started, and the admin is in the history
    fake_stripe.pay(session_id)
    started = await admin.client.post(path)
    assert started.status_code == 202, started.text
    assert started.json()["payment"]["status"] == "paid"
    assert (await wait_until_terminal(db_engine, job_id, 60))["status"] == "succeeded"
    events = history(db_engine, job_id)
    assert [e["actor"] for e in events if e["to_status"] == "queued"] == [f"admin:{admin.id}"]
    assert "admin_start_refused" in [e["type"] for e in events]
    # Unknown session
    assert (await admin.client.post("/api/admin/payments/cs_test_nope/start")).status_code == 404


async def test_lost_webhook_is_repaired_and_unpaid_checkout_expires(
    start_service: Callable[..., ServiceProcess],
    worker: ServiceProcess,
    scheduler: ServiceProcess,
    make_user: MakeUser,
    fake_stripe: FakeStripe,
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    # Given an API whose Checkout Sessions expire after one second
    _, short_api = start_api(start_service, env={"STRIPE_CHECKOUT_EXPIRY_SECONDS": "1"})
    user = await make_user()
    user.client.base_url = short_api  # type: ignore[assignment]
    paid_job = (await create_paid_job(user.client, steps=1, delay=0.01))["id"]
    unpaid_job = (await create_paid_job(user.client))["id"]
    assert job_row(db_engine, paid_job)["payment_expires_at"] < datetime.now(UTC) + timedelta(seconds=30)
    # When one is paid but its webhook never arrives
    fake_stripe.pay(fake_stripe.session_for_job(paid_job)["id"])
    # Then the scheduler finds it paid in Stripe and runs it, and expires the other (closing its session)
    assert (await wait_until_terminal(db_engine, paid_job, 60))["status"] == "succeeded"
    assert completions(redis_client, paid_job) == 1
    assert (await wait_until_terminal(db_engine, unpaid_job, 60))["status"] == "expired"
    assert fake_stripe.session_for_job(unpaid_job)["status"] == "expired"
    assert [e["actor"] for e in history(db_engine, paid_job) if e["to_status"] == "queued"] == ["scheduler:reconcile"]


async def test_without_stripe_or_with_stripe_down_nothing_is_stored(
    start_service: Callable[..., ServiceProcess], make_user: MakeUser, fake_stripe: FakeStripe, db_engine: Engine
) -> None:
    user = await make_user()
    # Stripe down: 503, no job
    fake_stripe.mode = "fail"
    down = await user.client.post("/api/jobs", json={"kind": "test_paid", "params": {}})
    assert down.status_code == 503, down.text
    assert down.json()["error"]["code"] == "payment_provider_error"
    # Stripe not configured: 503, no job
    _, unconfigured = start_api(start_service, env={"STRIPE_API_KEY": ""})
    user.client.base_url = unconfigured  # type: ignore[assignment]
    off = await user.client.post("/api/jobs", json={"kind": "test_paid", "params": {}})
    assert off.status_code == 503
    assert off.json()["error"]["code"] == "payments_not_configured"
    with db_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM jobs").scalar_one() == 0
    # A free kind still works there
    free = await user.client.post("/api/jobs", json={"kind": "test_noop", "params": {}})
    assert free.status_code == 202 and "payment_url" not in free.json()
