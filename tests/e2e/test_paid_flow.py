"""Paying for a generation in a browser: the price on the "Fast (Gemini)" option, the trip to Checkout, the
page a customer comes back to, and the job that runs once Stripe's signed webhook confirms the payment.

Stripe is the local fake of ``tests/support/fake_stripe.py``; its hosted Checkout page is stood in for by a
one-line page the browser is served at the session's URL. Gemini is the local fake Gemini API.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Route, expect
from sqlalchemy import text

from tests.conftest import ApiUser
from tests.e2e.conftest import OpenPage
from tests.support.fake_providers import GEMINI_TEST_KEY, FakeGemini
from tests.support.fake_stripe import FakeStripe
from tests.support.isolated_stack import IsolatedStack, isolated_stack, wait_until
from tests.support.payments import create_paid_job, pay_and_notify
from tests.support.services import ServiceProcess
from tests.support.testsite.serving import RunningSite

CHECKOUT_PAGE = "<!doctype html><title>Checkout</title><h1>Fake Checkout</h1>"


@pytest.fixture(scope="module")
async def fake_gemini() -> AsyncIterator[FakeGemini]:
    server = FakeGemini()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def gemini_stack(
    start_service: Callable[..., ServiceProcess], service_env: dict[str, str], fake_gemini: FakeGemini
) -> Iterator[IsolatedStack]:
    """An API with a Gemini key (the session's API has none), its own database and Redis."""
    env = {**service_env, "GEMINI_API_BASE": fake_gemini.base_url, "GEMINI_API_KEY": GEMINI_TEST_KEY}
    yield from isolated_stack(start_service, env, scheduler=False)


@pytest.fixture
def stack(gemini_stack: IsolatedStack, fake_gemini: FakeGemini) -> Iterator[IsolatedStack]:
    fake_gemini.mode = "ok"
    fake_gemini.requests.clear()
    yield from gemini_stack.for_one_test()


@pytest.fixture
async def user(stack: IsolatedStack) -> AsyncIterator[ApiUser]:
    api_user = await stack.make_user()
    yield api_user
    await api_user.client.aclose()


def only_job_id(stack: IsolatedStack) -> str:
    with stack.engine.connect() as conn:
        return str(conn.execute(text("SELECT id FROM jobs")).scalar_one())


def local_path(url: str) -> str:
    """The path and query of a URL built on PUBLIC_URL, to open on the API under test."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_pay_for_a_fast_generation_then_watch_it_run(
    open_page: OpenPage,
    stack: IsolatedStack,
    fake_stripe: FakeStripe,
    fake_gemini: FakeGemini,
    acme_site: RunningSite,
    user: ApiUser,
) -> None:
    # Given a logged-in user on the generations page of an API that takes payments and has a Gemini key
    stack.start_worker()
    tab = await open_page(user, base_url=stack.api_url)
    page = tab.page
    checkout_pages: list[str] = []

    async def serve_checkout(route: Route) -> None:
        checkout_pages.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body=CHECKOUT_PAGE)

    await tab.context.route(f"{fake_stripe.base_url}/pay/**", serve_checkout)
    await page.goto("/")
    address = acme_site.base_url.rstrip("/")
    host = address.removeprefix("http://")

    # When they analyze the site
    await page.get_by_label("Website address").fill(address)
    await page.get_by_role("button", name="Analyze").click()
    await expect(page.locator("#analysis")).to_contain_text("complete count")

    # Then the Gemini option shows the same price the quote API gives for this site
    count = int(re.search(r": (\d+) pages", await page.locator("#analysis").inner_text()).group(1))  # type: ignore[union-attr]
    quote = await user.client.get(
        "/api/quote", params={"kind": "llms_txt", "hostname": address, "provider": "gemini", "max_urls": count}
    )
    assert quote.status_code == 200, quote.text
    await expect(page.locator("#provider-gemini-price")).to_have_text(f"— {quote.json()['display']}")

    # When they choose Fast (Gemini) and start
    await page.get_by_label("Fast (Gemini)").check()
    await page.get_by_role("button", name="Start").click()

    # Then the browser goes to Stripe Checkout for that job, at that price, and nothing runs yet
    await expect(page).to_have_url(re.compile(re.escape(fake_stripe.base_url) + r"/pay/cs_test_\w+$"))
    await expect(page.get_by_role("heading", name="Fake Checkout")).to_be_visible()
    job_id = only_job_id(stack)
    session: dict[str, Any] = fake_stripe.session_for_job(job_id)
    assert checkout_pages == [session["url"]]
    assert session["amount_total"] == quote.json()["amount_cents"]
    assert stack.job(job_id)["status"] == "pending_payment"

    # When they come back to the list before paying, the generation waits for its payment with a link to pay
    await page.goto("/")
    row = page.locator("tbody tr", has_text=host)
    await expect(row.locator(".status")).to_have_text("Awaiting payment")
    await expect(row.get_by_role("link", name="Pay now")).to_have_attribute("href", session["url"])

    # When they return from Checkout before Stripe's webhook has arrived
    assert session["success_url"].endswith(f"/payment/success?job={job_id}")
    await page.goto(local_path(session["success_url"]))
    await expect(page.get_by_text("Waiting for payment confirmation…")).to_be_visible()

    # and the payment is confirmed by the signed webhook
    await pay_and_notify(stack.api_url, fake_stripe, job_id)

    # Then the page moves on by itself to the generation, which runs with Gemini and finishes
    await expect(page).to_have_url(re.compile(rf"/generations/{job_id}$"))
    await expect(page.locator("#job-status")).to_have_text("Done", timeout=90_000)
    # (the fake Gemini writes "Model description of <url>" for each page)
    await expect(page.get_by_role("tabpanel", name="llms.txt")).to_contain_text(f"Model description of {address}/")
    assert fake_gemini.describe_requests(), "the generation did not use Gemini"
    assert stack.job(job_id)["refund_id"] is None


async def test_coming_back_after_the_webhook_goes_straight_to_the_generation(
    open_page: OpenPage, stack: IsolatedStack, fake_stripe: FakeStripe, user: ApiUser
) -> None:
    # Given a paid job whose payment Stripe confirmed before the customer's browser came back
    created = await create_paid_job(user.client, kind="test_paid", label="early webhook", steps=1)
    job_id = created["id"]
    await pay_and_notify(stack.api_url, fake_stripe, job_id)
    wait_until(lambda: stack.job(job_id)["status"] == "queued", 10, "the job to be queued")
    tab = await open_page(user, base_url=stack.api_url)

    # When the browser lands on the success page
    await tab.page.goto(local_path(fake_stripe.session_for_job(job_id)["success_url"]))

    # Then it does not wait: it shows the generation at once
    await expect(tab.page).to_have_url(re.compile(rf"/generations/{job_id}$"))
    await expect(tab.page.get_by_role("heading", level=1)).to_have_text("early webhook")
