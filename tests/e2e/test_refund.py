"""A paid generation that fails in the browser: the customer watches it fail, reads that their money is
refunded (the refund actor asks the fake Stripe of ``tests/support/fake_stripe.py``), is not offered a free
retry, and sees the refund on the list too."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from playwright.async_api import expect
from sqlalchemy import Engine

from tests.conftest import ApiUser
from tests.e2e.conftest import OpenPage
from tests.support.fake_stripe import FakeStripe
from tests.support.llms_jobs import job_row
from tests.support.payments import create_paid_job, pay_and_notify

MakeUser = Callable[..., Awaitable[ApiUser]]


async def test_a_paid_generation_that_fails_is_refunded_on_its_page_and_the_list(
    open_page: OpenPage, make_user: MakeUser, api_url: str, fake_stripe: FakeStripe, db_engine: Engine
) -> None:
    # Given a paid generation that will fail on both of its attempts, waiting for its payment on its page
    user = await make_user()
    created = await create_paid_job(user.client, label="paid-but-broken", steps=8, delay=0.25, fail_times=2)
    job_id = created["id"]
    tab = await open_page(user)
    page = tab.page
    await page.goto(f"/generations/{job_id}")
    await expect(page.locator("#job-status")).to_have_text("Awaiting payment")
    await expect(page.get_by_role("link", name="Pay now")).to_have_attribute("href", created["payment_url"])
    session = fake_stripe.session_for_job(job_id)
    amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"

    # When it is paid, it runs live on the open page
    paid = await pay_and_notify(api_url, fake_stripe, job_id)
    await expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", re.compile(r"^[1-9]\d*$"))

    # Then it fails, and without a reload the page says the payment is returned
    await expect(page.locator("#job-status")).to_have_text("Failed", timeout=60_000)
    await expect(page.locator("#job-error")).to_contain_text("passing failure on attempt 2")
    await expect(page.locator("#job-payment")).to_have_text(f"Refunded: your payment of {amount} has been returned.")
    # (exactly one refund, of that payment)
    refunds = fake_stripe.refunds_for(paid["payment_intent"])
    assert [r["amount"] for r in refunds] == [session["amount_total"]], refunds
    assert job_row(db_engine, job_id)["refund_id"] == refunds[0]["id"]
    # and no free re-run is offered: a paid run is refunded, not retried
    await expect(page.get_by_role("button", name="Retry")).to_be_hidden()
    await expect(page.locator("#action-error")).to_be_hidden()

    # When they go back to the list, the failure and the refund are on the generation's row
    await page.get_by_role("link", name="All generations").click()
    row = page.locator("tbody tr", has_text="paid-but-broken")
    await expect(row.locator(".status")).to_have_text("Failed")
    await expect(row.locator(".refund-note")).to_have_text(f"Refunded: your payment of {amount} has been returned.")
