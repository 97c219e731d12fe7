"""Article orders in the browser: the customer follows a paid order live (step X of 5), reads the article
(raw HTML from the model does not run), asks for a revision, compares versions and submits; an admin approves
it on the review page; a failing order shows its refund. Real API, worker, fake Stripe and fake model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import expect

from tests.conftest import ApiUser
from tests.e2e.conftest import OpenPage, assert_accessible, screenshot
from tests.support.fake_chat import FAIL_MARK, INJECT_MARK
from tests.support.fake_stripe import FakeStripe
from tests.support.orders import article_order, make_catalog
from tests.support.payments import pay_and_notify

MakeUser = Callable[..., Awaitable[ApiUser]]


async def test_order_page_review_revision_and_admin_approval(
    open_page: OpenPage, make_user: MakeUser, api_url: str, fake_stripe: FakeStripe
) -> None:
    admin, customer = await make_user(admin=True), await make_user()
    await make_catalog(admin.client)
    order = (await customer.client.post("/api/orders", json=article_order(notes=f"Warm tone {INJECT_MARK}"))).json()
    tab = await open_page(customer)
    page = tab.page
    await page.goto(f"/orders/{order['id']}")
    # Given a paid order waiting for its payment on its page
    await expect(page.locator("#order-status")).to_have_text("Awaiting payment")
    await expect(page.get_by_role("link", name="Pay now")).to_have_attribute("href", order["payment_url"])
    # When Stripe confirms the payment, the page follows the work live to the review step
    await pay_and_notify(api_url, fake_stripe, order["jobs"][0]["id"])
    await expect(page.locator("#order-status")).to_have_text("Ready for your review", timeout=60_000)
    await expect(page.locator("#order-step")).to_have_text("Step 5 of 5: Ready for your review")
    article = page.locator("#article")
    await expect(article.get_by_role("heading", level=1)).to_have_text("Brewing green tea: a practical guide")
    await expect(article.get_by_role("link", name="green tea shop")).to_have_attribute(
        "href", "https://shop.test/green-tea"
    )
    # The model's raw HTML is shown as text and never runs
    await expect(article).to_contain_text("<script>window.__pwned = 1</script>")
    assert await page.evaluate("window.__pwned === undefined")
    assert await article.locator("script, img").count() == 0
    await screenshot(page, "article-order-review")
    await assert_accessible(page)

    # When the customer asks for a revision, version 2 arrives on the open page
    await page.get_by_label("What should change?").fill("Shorter intro.")
    await page.get_by_role("button", name="Request revision").click()
    await expect(page.locator("#article-version")).to_contain_text("2:", timeout=60_000)
    await expect(page.locator("#versions li")).to_have_count(2)
    await page.get_by_role("button", name="Show changes").click()
    await expect(page.locator("#diff")).to_contain_text("+Revised as asked: Shorter intro..")
    await page.get_by_role("button", name="Submit for approval").click()
    await expect(page.locator("#order-status")).to_have_text("Waiting for approval")

    # Then an admin approves it on the review page, and the customer's page says it is final
    admin_tab = await open_page(admin)
    review = admin_tab.page
    await review.goto("/admin/orders")
    item = review.locator(".review-item", has_text="Brewing green tea")
    await expect(item.locator("article h1")).to_have_text("Brewing green tea: a practical guide")
    await assert_accessible(review)
    await item.get_by_role("button", name="Approve").click()
    await expect(item.locator(".decision")).to_have_text("Approved.")
    await page.reload()
    await expect(page.locator("#order-status")).to_have_text("Completed")
    await expect(page.locator("#order-note")).to_have_text("Approved: the version below is final.")
    await page.goto("/orders")
    row = page.locator("tbody tr", has_text="Brewing green tea")
    await expect(row.locator(".status")).to_have_text("Completed")
    await assert_accessible(page)


async def test_a_failing_order_shows_its_refund(
    open_page: OpenPage, make_user: MakeUser, api_url: str, fake_stripe: FakeStripe
) -> None:
    admin, customer = await make_user(admin=True), await make_user()
    await make_catalog(admin.client)
    order = (await customer.client.post("/api/orders", json=article_order(topic=f"Tea {FAIL_MARK}"))).json()
    tab = await open_page(customer)
    page = tab.page
    await page.goto(f"/orders/{order['id']}")
    await pay_and_notify(api_url, fake_stripe, order["jobs"][0]["id"])
    await expect(page.locator("#order-status")).to_have_text("Failed", timeout=60_000)
    await expect(page.locator("#order-note")).to_contain_text("could not write a text that passes our checks")
    await expect(page.locator("#article-card")).to_be_hidden()
