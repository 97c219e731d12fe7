"""The admin dashboard in Chromium: live queues and workers, pausing and resuming a queue, finding another
user's job, reading its history and cancelling and retrying it, one at a time and in bulk."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import expect

from tests.conftest import ApiUser
from tests.e2e.conftest import OpenPage, assert_accessible

MakeUser = Callable[..., Awaitable[ApiUser]]


async def test_an_admin_sees_and_acts_on_queues_and_jobs(open_page: OpenPage, make_user: MakeUser) -> None:
    # Given a user with a long job running and an admin on the dashboard
    owner = await make_user(email="owner.dash@example.com")
    long = await owner.client.post("/api/jobs", json={"kind": "test_sleep", "params": {"steps": 2000, "delay": 0.05}})
    assert long.status_code == 202, long.text
    job_id = long.json()["id"]
    admin = await make_user(admin=True)
    tab = await open_page(admin)
    page = tab.page
    await page.goto("/")
    await page.get_by_role("link", name="Admin").click()
    await expect(page).to_have_title("Admin · genjobs")
    # Then the queues and the live worker show, kept live over SSE
    await expect(page.locator("#live-state")).to_contain_text("Live")
    test_row = page.locator('#queues tr[data-queue="test"]')
    await expect(test_row.locator("td").nth(3)).to_have_text("1")  # running
    await expect(page.locator("#workers tbody tr")).not_to_have_count(0)
    await expect(page.locator("#no-workers")).to_be_hidden()

    # When the admin pauses the "noop" queue, it shows paused; resuming shows it running again
    await page.get_by_role("button", name="Pause noop", exact=True).click()
    noop_state = page.locator('#queues tr[data-queue="noop"] td.state')
    await expect(noop_state).to_have_text("Paused")
    await page.get_by_role("button", name="Resume noop", exact=True).click()
    await expect(noop_state).to_have_text("Running")

    # When they search by part of the owner's email, the job is found
    await page.get_by_label("Owner email").fill("owner.dash")
    await page.get_by_role("button", name="Search").click()
    row = page.locator(f'#results tr[data-job="{job_id}"]')
    await expect(row).to_be_visible()
    await expect(page.locator("#search-summary")).to_have_text("1 job(s) found.")
    # and they cancel it, then retry it in bulk
    await row.get_by_role("button", name=f"Cancel {job_id}").click()
    await expect(row.locator("td.status")).to_have_text("cancelled")
    await row.get_by_role("checkbox").check()
    await page.get_by_role("button", name="Retry selected").click()
    await expect(page.locator("#bulk-result")).to_have_text("Retried 1 of 1.")
    await expect(row.locator("td.status")).not_to_have_text("cancelled")
    # and its history names the admin as who cancelled and retried it
    await row.get_by_role("button", name=f"History of {job_id}").click()
    history = page.locator("#history")
    await expect(history).to_contain_text("→ cancelled")
    await expect(history.locator("li").filter(has_text=f"user:{admin.id}")).not_to_have_count(0)
    await assert_accessible(page)
    assert (await owner.client.delete(f"/api/jobs/{job_id}")).status_code == 204


async def test_the_dashboard_is_not_found_for_other_users(open_page: OpenPage, make_user: MakeUser) -> None:
    user = await make_user()
    tab = await open_page(user)
    tab.guard.allow(r"status of 404")
    response = await tab.page.goto("/admin")
    assert response is not None and response.status == 404
    await expect(tab.page.get_by_role("link", name="Admin")).to_have_count(0)
