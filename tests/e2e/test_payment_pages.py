"""The pages a browser comes back to from the payment provider, driven by the real state machine:
waiting for the payment's confirmation (live), and cancelling an unpaid generation."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

import redis
from playwright.async_api import expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db import state_machine as sm
from db.live import LivePublisher
from db.statuses import JobStatus
from tests.conftest import ApiUser
from tests.e2e.conftest import OpenPage
from tests.support.llms_jobs import job_row

MakeUser = Callable[..., Awaitable[ApiUser]]


def unpaid_job(engine: Engine, client: redis.Redis, owner: uuid.UUID, host: str) -> uuid.UUID:
    """A paid-kind job waiting for its payment, created as the API would, with its live event published."""
    job = sm.NewJob(
        id=uuid.uuid4(),
        owner_id=owner,
        kind="llms_txt",
        params={"hostname": host, "provider": "gemini"},
        status=JobStatus.PENDING_PAYMENT.value,
        queue="llms_txt.gemini",
        title=host,
        max_attempts=1,
        payment=sm.NewPayment(amount_cents=50, currency="usd"),
    )
    job_id = job.id
    with sessionmaker(engine, expire_on_commit=False).begin() as session:
        events = sm.create(session, job, actor="test")
    LivePublisher(client).publish(events)
    return job_id


def confirm_payment(engine: Engine, client: redis.Redis, job_id: uuid.UUID) -> None:
    """What the payment webhook does once paid: pending_payment -> queued (no message: no worker runs it)."""
    with sessionmaker(engine, class_=Session).begin() as session:
        changed = sm.mark_paid(session, job_id, actor="test:webhook", message_id=None, payment_intent="pi_test")
    assert changed is not None
    LivePublisher(client).publish(changed.events)


async def test_success_page_waits_for_the_confirmation_then_shows_the_job(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine, redis_client: redis.Redis
) -> None:
    # Given an unpaid generation, which the list shows as awaiting payment
    user = await make_user()
    job_id = unpaid_job(db_engine, redis_client, user.id, "paid.example.com")
    tab = await open_page(user)
    page = tab.page
    await page.goto("/")
    row = page.locator("tbody tr", has_text="paid.example.com")
    await expect(row.locator(".status")).to_have_text("Awaiting payment")

    # When the browser comes back from paying before the payment is confirmed
    await page.goto(f"/payment/success?job={job_id}")
    await expect(page.get_by_text("Waiting for payment confirmation…")).to_be_visible()

    # Then, once it is confirmed, the page moves on to the generation by itself
    confirm_payment(db_engine, redis_client, job_id)
    await expect(page).to_have_url(re.compile(rf"/generations/{job_id}$"))
    await expect(page.locator("#job-status")).to_have_text("Waiting")


async def test_success_page_moves_on_when_the_confirmation_came_first(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine, redis_client: redis.Redis
) -> None:
    user = await make_user()
    job_id = unpaid_job(db_engine, redis_client, user.id, "early.example.com")
    confirm_payment(db_engine, redis_client, job_id)
    tab = await open_page(user)
    page = tab.page
    await page.goto(f"/payment/success?job={job_id}")
    await expect(page).to_have_url(re.compile(rf"/generations/{job_id}$"))


async def test_cancel_page_cancels_the_unpaid_generation(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine, redis_client: redis.Redis
) -> None:
    # Given the browser back from the payment page without paying
    user = await make_user()
    job_id = unpaid_job(db_engine, redis_client, user.id, "unpaid.example.com")
    tab = await open_page(user)
    page = tab.page
    await page.goto(f"/payment/cancel?job={job_id}")
    await expect(page.get_by_text("The generation for unpaid.example.com waits for its payment.")).to_be_visible()
    # (without a payment link, "go back to pay" leads to the generation's page)
    await expect(page.get_by_role("link", name="Go back to pay")).to_have_attribute("href", f"/generations/{job_id}")

    # When they cancel it
    await page.get_by_role("button", name="Cancel this generation").click()

    # Then they are back on an empty list, and the job is cancelled for good
    await expect(page.get_by_text("Page 1 of 1 (0 total)")).to_be_visible()
    row = job_row(db_engine, str(job_id))
    assert row["status"] == "cancelled" and row["deleted_at"] is not None


async def test_cancel_page_of_a_paid_generation_offers_only_to_see_it(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine, redis_client: redis.Redis
) -> None:
    user = await make_user()
    job_id = unpaid_job(db_engine, redis_client, user.id, "paid-anyway.example.com")
    confirm_payment(db_engine, redis_client, job_id)
    tab = await open_page(user)
    page = tab.page
    await page.goto(f"/payment/cancel?job={job_id}")
    await expect(page.get_by_text("The generation for paid-anyway.example.com is waiting.")).to_be_visible()
    await expect(page.get_by_role("button", name="Cancel this generation")).to_be_hidden()
    await page.get_by_role("link", name="See the generation").click()
    await expect(page).to_have_url(re.compile(rf"/generations/{job_id}$"))
