"""The generations list: pagination, keyboard use, a phone-sized screen, and other users' jobs (404)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from playwright.async_api import expect
from sqlalchemy import Engine

from tests.conftest import ApiUser
from tests.e2e.conftest import PHONE, OpenPage, screenshot
from tests.support.llms_jobs import wait_until_terminal

MakeUser = Callable[..., Awaitable[ApiUser]]


async def start_jobs(user: ApiUser, labels: list[str], steps: int = 0) -> list[str]:
    ids = []
    for label in labels:
        response = await user.client.post(
            "/api/jobs", json={"kind": "test_sleep", "params": {"steps": steps, "delay": 0.01, "label": label}}
        )
        assert response.status_code == 202, response.text
        ids.append(str(response.json()["id"]))
    return ids


async def test_pagination_across_pages_newest_first(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine
) -> None:
    # Given 12 finished jobs
    user = await make_user()
    ids = await start_jobs(user, [f"job-{n:02d}" for n in range(1, 13)])
    for job_id in ids:
        await wait_until_terminal(db_engine, job_id, 30)
    tab = await open_page(user)
    page = tab.page
    await page.goto("/")
    names = page.locator("tbody tr .job-name")

    # Then the first page shows the 5 newest
    await expect(page.get_by_text("Page 1 of 3 (12 total)")).to_be_visible()
    await expect(names).to_have_text(["job-12", "job-11", "job-10", "job-09", "job-08"])
    # (no page before the first: "Previous" is plain text, not a link)
    await expect(page.locator("#prev")).to_have_attribute("aria-disabled", "true")
    await expect(page.locator("#prev")).not_to_have_attribute("href", re.compile(".*"))

    # When they go to the next page with the keyboard
    await page.get_by_role("link", name="Next").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Page 2 of 3 (12 total)")).to_be_visible()
    await expect(names).to_have_text(["job-07", "job-06", "job-05", "job-04", "job-03"])

    # and on to the last one, which has no Next
    await page.get_by_role("link", name="Next").click()
    await expect(page.get_by_text("Page 3 of 3 (12 total)")).to_be_visible()
    await expect(names).to_have_text(["job-02", "job-01"])
    await expect(page.locator("#next")).not_to_have_attribute("href", re.compile(".*"))
    await page.get_by_role("link", name="Previous").click()
    await expect(page.get_by_text("Page 2 of 3 (12 total)")).to_be_visible()

    # When they choose 10 per page
    await page.get_by_label("Per page").select_option("10")
    await expect(page.get_by_text("Page 1 of 2 (12 total)")).to_be_visible()
    await expect(names).to_have_count(10)
    await expect(page).to_have_url(re.compile(r"/\?page=1&per_page=10$"))
    await expect(page.locator("tbody tr").first.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")


async def test_another_user_gets_a_not_found_page(open_page: OpenPage, make_user: MakeUser) -> None:
    # Given a job of one user
    owner = await make_user()
    (job_id,) = await start_jobs(owner, ["private-job"])

    # When another user opens its page, or its payment pages
    intruder = await make_user()
    tab = await open_page(intruder)
    tab.guard.allow(r"status of 404 .*@ .*/(generations|payment)/")
    page = tab.page
    for path in (f"/generations/{job_id}", f"/payment/success?job={job_id}", f"/payment/cancel?job={job_id}"):
        response = await page.goto(path)

        # Then it does not exist for them, and nothing of it shows
        assert response is not None and response.status == 404, path
        await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        await expect(page.get_by_text("private-job")).to_have_count(0)
    await page.goto("/")
    await expect(page.get_by_text("Page 1 of 1 (0 total)")).to_be_visible()


async def test_the_list_reads_well_on_a_phone(open_page: OpenPage, make_user: MakeUser, db_engine: Engine) -> None:
    user = await make_user()
    (job_id,) = await start_jobs(user, ["a-generation-with-a-rather-long-name.example.com"])
    await wait_until_terminal(db_engine, job_id, 30)
    tab = await open_page(user, viewport=PHONE)
    page = tab.page
    await page.goto("/")
    row = page.locator("tbody tr").first
    await expect(row.locator(".status")).to_have_text("Done")
    # (a finished row is compact: its full bar gives way to the badge)
    await expect(row.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "100")
    await expect(row.locator("[role=progressbar]")).to_be_hidden()
    await expect(row.get_by_role("button", name=re.compile("^Delete"))).to_be_visible()
    await expect(page.get_by_label("Website address")).to_be_visible()
    # Nothing is wider than the screen: no sideways scrolling.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await screenshot(page, "generations-list-phone")
    await row.get_by_role("link").click()
    await expect(page.locator("#job-status")).to_have_text("Done")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def test_unknown_pages_are_a_not_found_page_and_the_api_stays_json(
    open_page: OpenPage, make_user: MakeUser
) -> None:
    tab = await open_page(await make_user())
    tab.guard.allow(r"status of (400|404) .*@ .*/(generations|no-such-page|payment)")
    page = tab.page
    # A mistyped generation id or an address that does not exist is a page a person can read and leave
    for path in ("/generations/not-a-uuid", "/no-such-page", "/generations/"):
        response = await page.goto(path)
        assert response is not None and response.status == 404, path
        await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        await expect(page).to_have_title("Not found · genjobs")
    # as is a payment link that lost its job id
    response = await page.goto("/payment/success?job=oops")
    assert response is not None and response.status == 400
    await expect(page.get_by_role("heading", name="This link is not complete")).to_be_visible()
    await page.get_by_role("link", name="Back to your generations").click()
    await expect(page.get_by_text("Page 1 of 1 (0 total)")).to_be_visible()

    # while the API keeps answering its JSON errors
    api = await tab.context.request.get("/api/jobs/not-a-uuid")
    assert api.status == 404 and (await api.json())["error"]["code"] == "not_found"
