"""Errors shown inline in a user's words: invalid hostname (as typed and from the server), an unreachable
site, an exhausted quota with its reset date, and a description provider that is down."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from playwright.async_api import Dialog, Page, expect
from sqlalchemy import Engine, text

from service.quota.service import next_reset
from tests.conftest import ApiUser
from tests.e2e.conftest import OpenPage, assert_accessible
from tests.support.llms_jobs import wait_for_row, wait_until_terminal
from tests.support.testsite.serving import RunningSite

MakeUser = Callable[..., Awaitable[ApiUser]]


async def analyze(page: Page, address: str) -> None:
    await page.get_by_label("Website address").fill(address)
    await page.get_by_role("button", name="Analyze").click()


async def test_hostnames_are_checked_as_typed_and_by_the_server(open_page: OpenPage, make_user: MakeUser) -> None:
    tab = await open_page(await make_user())
    tab.guard.allow(r"status of 400 .*@ .*/api/sites/analyze")
    page = tab.page
    await page.goto("/")
    field = page.get_by_label("Website address")
    error = page.locator("#hostname-error")

    # As typed: spaces, other schemes
    await field.fill("my site.com")
    await expect(error).to_have_text("A website address has no spaces.")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await field.fill("ftp://files.example.com")
    await expect(error).to_have_text("Only http:// and https:// addresses can be used.")
    await field.fill("example.com")
    await expect(error).to_be_hidden()
    await expect(field).not_to_have_attribute("aria-invalid", "true")

    # On Analyze, before asking the server
    await analyze(page, "nonsense")
    await expect(error).to_have_text("“nonsense” is not a website address. Try something like example.com.")

    # By the server, for what only it knows (valid top-level domains)
    await analyze(page, "example.c0m")
    await expect(error).to_contain_text("“example.c0m” is not a website address we can use")
    await expect(error).to_contain_text("top-level domain")
    await expect(page.get_by_role("button", name="Start")).to_be_hidden()


async def test_an_unreachable_site_is_explained(open_page: OpenPage, make_user: MakeUser) -> None:
    tab = await open_page(await make_user())
    tab.guard.allow(r"status of 400 .*@ .*/api/sites/analyze")
    page = tab.page
    await page.goto("/")
    # Port 9 (discard) has no server on the test machine: the connection is refused.
    await analyze(page, "127.0.0.1:9")
    await expect(page.locator("#hostname-error")).to_have_text(
        "127.0.0.1:9 could not be reached. Check the address and that the site is online."
    )


async def test_an_exhausted_quota_says_when_it_resets(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine, linked_site: RunningSite
) -> None:
    # Given a user whose one generation this month is used
    user = await make_user()
    with db_engine.begin() as conn:
        conn.execute(text("UPDATE users SET monthly_generation_limit = 1 WHERE id = :id"), {"id": user.id})
    response = await user.client.post("/api/jobs", json={"kind": "test_generation", "params": {}})
    assert response.status_code == 202, response.text
    assert (await wait_until_terminal(db_engine, response.json()["id"], 30))["status"] == "succeeded"
    reset = next_reset(datetime.now(UTC))
    reset_words = f"{reset:%B} {reset.day}, {reset.year}"

    tab = await open_page(user)
    tab.guard.allow(r"status of 429 .*@ .*/api/jobs")
    page = tab.page
    await page.goto("/")
    # The page says so before they try
    await expect(page.locator("#quota")).to_contain_text(f"Your quota resets on {reset_words}")

    # When they try anyway
    await analyze(page, linked_site.base_url.rstrip("/"))
    await page.get_by_label("Basic").check()
    await page.get_by_role("button", name="Start").click()

    # Then nothing starts, and they read why and until when
    await expect(page.locator("#start-error")).to_have_text(
        f"You have used all 1 generations for this month. Your quota resets on {reset_words}."
    )
    await expect(page.get_by_text("Page 1 of 1 (1 total)")).to_be_visible()


async def test_options_this_server_cannot_serve_are_not_offered_and_a_fallback_is_a_warning(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine, linked_site: RunningSite
) -> None:
    # The test API has no Gemini key, and nothing listens where Ollama would be (127.0.0.1:11434).
    user = await make_user()
    tab = await open_page(user)
    page = tab.page
    await page.goto("/")
    address = linked_site.base_url.rstrip("/")
    host = address.removeprefix("http://")

    # When they analyze a site
    await analyze(page, address)
    await expect(page.locator("#analysis")).to_contain_text("found by following links")

    # Then Gemini and Ollama are shown but cannot be chosen, each saying why; Gemini shows no price; the option
    # that works (Basic) is chosen for them
    gemini = page.get_by_label("Fast (Gemini)")
    ollama = page.get_by_label("Free (Ollama)")
    await expect(gemini).to_be_disabled()
    await expect(page.locator("#provider-gemini-note")).to_have_text("Unavailable: Not set up on this server.")
    await expect(page.locator("#provider-gemini-price")).to_be_hidden()
    await expect(ollama).to_be_disabled()
    await expect(page.locator("#provider-ollama-note")).to_have_text(
        "Unavailable: The local model server is not answering right now."
    )
    await expect(page.get_by_label("Basic")).to_be_enabled()
    await expect(page.get_by_label("Basic")).to_be_checked()
    await assert_accessible(page)

    # Given a generation started with Ollama anyway (through the API), whose pages the basic summary described
    response = await user.client.post(
        "/api/jobs", json={"kind": "llms_txt", "params": {"url": address, "provider": "ollama", "max_urls": 5}}
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert (await wait_until_terminal(db_engine, job_id, 90))["status"] == "succeeded"

    # When they open it, it is done with warnings (not plain green), and they are told what stood in
    await page.goto(f"/generations/{job_id}")
    status = page.locator("#job-status")
    await expect(status).to_have_text("Done with warnings")
    await expect(status).to_have_class(re.compile(r"\btone-warn\b"))
    await expect(page.locator("#job-note")).to_have_text(
        re.compile(
            r"^Free \(Ollama\) could not be reached for [1-5] pages?; their descriptions were written by the Basic "
            r"summary instead\.$"
        )
    )
    # and the list says the same
    await page.goto("/")
    row = page.locator("tbody tr", has_text=host)
    await expect(row.locator(".status")).to_have_text("Done with warnings")


async def test_a_failed_generation_says_why_and_can_be_retried(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine
) -> None:
    # Given a generation that failed
    user = await make_user()
    response = await user.client.post(
        "/api/jobs", json={"kind": "test_sleep", "params": {"fail_permanently": True, "label": "doomed", "steps": 1}}
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    await wait_until_terminal(db_engine, job_id, 60)

    # When its owner opens it
    tab = await open_page(user)
    page = tab.page
    await page.goto(f"/generations/{job_id}")

    # Then they read what went wrong, and a Retry button is offered
    await expect(page.locator("#job-status")).to_have_text("Failed")
    await expect(page.get_by_role("alert")).to_have_text("This generation failed: the input cannot be processed (test)")

    # When they retry, the job runs again (and, with the same input, fails again)
    await page.get_by_role("button", name="Retry").click()
    await wait_for_row(
        db_engine,
        job_id,
        lambda r: r["status"] == "failed" and times_queued(db_engine, job_id) == 2,
        60,
        "the retried job to fail again",
    )
    await expect(page.locator("#job-status")).to_have_text("Failed")


def times_queued(engine: Engine, job_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM job_events WHERE job_id = :id AND to_status = 'queued'"), {"id": job_id}
            ).scalar_one()
        )


async def test_a_running_generation_can_be_cancelled_from_its_page(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine
) -> None:
    # Given a long generation that is running
    user = await make_user()
    response = await user.client.post(
        "/api/jobs", json={"kind": "test_sleep", "params": {"steps": 600, "delay": 0.1, "label": "long"}}
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    await wait_for_row(db_engine, job_id, lambda r: r["status"] == "running", 60, "the job to start")

    # When its owner opens it, presses Cancel and confirms
    tab = await open_page(user)
    page = tab.page
    questions: list[str] = []

    async def confirm(dialog: Dialog) -> None:
        questions.append(dialog.message)
        await dialog.accept()

    page.on("dialog", confirm)
    await page.goto(f"/generations/{job_id}")
    await expect(page.locator("#job-status")).to_have_text(re.compile("Running|Working"))
    await page.get_by_role("button", name="Cancel").click()

    # Then the job is cancelled (the worker stops it), the page says so live, and Retry replaces Cancel
    row = await wait_until_terminal(db_engine, job_id, 60)
    assert row["status"] == "cancelled"
    assert questions and "Stop" in questions[0]
    await expect(page.locator("#job-status")).to_have_text("Cancelled")
    await expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    await expect(page.get_by_role("button", name="Retry")).to_be_visible()
