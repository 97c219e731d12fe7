"""The pages as a paying user judges them: one bar that only moves forward, long input that keeps the page
within the screen, a phone layout with compact rows, the result first on a job's page, and a kind without
pages of its own (the README's word_count) shown by the generic job page."""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy import Engine

from tests.conftest import ApiUser
from tests.e2e.conftest import PHONE, OpenPage, assert_accessible, screenshot
from tests.support.llms_jobs import wait_until_terminal
from tests.support.testsite.builder import build_site
from tests.support.testsite.serving import RunningSite, ServeSite

MakeUser = Callable[..., Awaitable[ApiUser]]
DESKTOP = {"width": 1280, "height": 800}

# Every value the page's progress bars take, in order, from the first script on (a MutationObserver).
RECORD_BARS = """
window.__bar = [];
window.__events = [];
document.addEventListener("genjobs:event", (e) => window.__events.push(e.detail));
new MutationObserver((changes) => {
  for (const change of changes) {
    const value = change.target.getAttribute("aria-valuenow");
    if (value !== null) window.__bar.push([Number(value), change.target.getAttribute("aria-valuetext")]);
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["aria-valuenow"] });
"""


async def start_llms(user: ApiUser, site: RunningSite, **params: Any) -> str:
    response = await user.client.post(
        "/api/jobs",
        json={"kind": "llms_txt", "params": {"url": site.base_url.rstrip("/"), "provider": "extractive", **params}},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def page_width(page: Page) -> tuple[int, int]:
    width, viewport = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(width), int(viewport)


async def test_one_bar_moves_only_forward_across_the_steps(
    open_page: OpenPage, make_user: MakeUser, serve_site: ServeSite
) -> None:
    # Given a user watching a new llms.txt generation of a big site on its page (fetching 3,000 pages takes
    # seconds, so the page sees every step)
    big_site = serve_site(build_site, pages=3000)
    user = await make_user()
    tab = await open_page(user)
    page = tab.page
    await page.add_init_script(RECORD_BARS)
    job_id = await start_llms(user, big_site, max_urls=5000)
    await page.goto(f"/generations/{job_id}")

    # When it runs to the end
    await expect(page.locator("#job-status")).to_have_text("Done", timeout=100_000)

    # Then its steps each restarted their own count on the wire (the raw figures went back to 0 or less)
    events: list[dict[str, Any]] = await page.evaluate("window.__events")
    progress = [e["data"] for e in events if e["type"] == "progress"]
    named = [p["step"] for p in progress]
    assert {"fetch", "describe"} <= set(named), named
    fractions = [p["done"] / p["total"] for p in progress if p["total"]]
    assert any(later < earlier for earlier, later in itertools.pairwise(fractions)), fractions
    # while the whole job's percent on the wire (for API clients too) was always there and never went back
    wire = [p["percent"] for p in progress]
    assert all(isinstance(p, int | float) for p in wire), wire
    assert wire == sorted(wire), wire
    # but the one bar the user sees never went back, named the steps as it went, and ended at 100
    bar: list[list[Any]] = await page.evaluate("window.__bar")
    values = [v for v, _ in bar]
    assert values, "the bar never moved"
    assert values == sorted(values), values
    assert values[-1] == 100, values
    texts = " | ".join(t for _, t in bar)
    assert "Fetching pages" in texts and "Describing pages" in texts, texts


async def test_a_quiet_step_shows_how_long_it_has_been_at_it(open_page: OpenPage, make_user: MakeUser) -> None:
    # Given a running job whose first step reports nothing for 12 seconds
    user = await make_user()
    response = await user.client.post(
        "/api/jobs", json={"kind": "test_sleep", "params": {"label": "quiet job", "steps": 2, "delay": 12}}
    )
    assert response.status_code == 202, response.text
    tab = await open_page(user)
    page = tab.page
    await page.goto("/")
    text = page.locator("tbody tr", has_text="quiet job").locator(".progress-text")

    # Then the row does not sit silent: it names the step and counts the seconds it has been at it
    quiet = re.compile(r"^Working… · (\d+) s$")
    await expect(text).to_have_text(quiet)
    first = await text.inner_text()
    await expect(text).not_to_have_text(first)
    second = await text.inner_text()
    seconds = [int(m.group(1)) for m in map(quiet.match, (first, second)) if m]
    assert len(seconds) == 2 and 3 <= seconds[0] < seconds[1], (first, second)
    # and once the step reports, its figures replace the count
    await expect(text).to_have_text(re.compile(r"^Working: 1 / 2 · 50%"))


async def test_a_300_character_input_keeps_the_page_within_the_screen(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine
) -> None:
    user = await make_user()
    # Given a job with a long unbroken name in the list (the longest label the test kind takes)
    long_label = "x" * 100
    response = await user.client.post("/api/jobs", json={"kind": "test_sleep", "params": {"label": long_label}})
    assert response.status_code == 202, response.text
    await wait_until_terminal(db_engine, response.json()["id"], 60)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        tab = await open_page(user, viewport=viewport)
        tab.guard.allow(r"status of 400 .*@ .*/api/sites/analyze")
        page = tab.page
        await page.goto("/")
        await expect(page.locator("tbody tr")).to_have_count(1)
        field = page.get_by_label("Website address")
        error = page.locator("#hostname-error")

        # When a 300-character address is typed and analyzed (refused as typed)
        await field.fill("a" * 300)
        await page.get_by_role("button", name="Analyze").click()
        await expect(error).to_contain_text("is not a website address")
        # Then the error quotes at most 80 characters of it, wraps, and the page is no wider than the screen
        assert len(await error.inner_text()) < 160
        width, screen = await page_width(page)
        assert width <= screen, (name, width, screen)

        # When a long address that looks right is refused by the server
        await field.fill("a" * 60 + "." + ".".join(["b" * 60] * 4) + ".example")
        await page.get_by_role("button", name="Analyze").click()
        await expect(error).to_contain_text("is not a website address we can use")
        assert len(await error.inner_text()) < 320
        width, screen = await page_width(page)
        assert width <= screen, (name, width, screen)
        await screenshot(page, f"form-errors-{name}")
        await assert_accessible(page)

        # and on the job's own page
        await page.locator("tbody tr .job-name").click()
        await expect(page.locator("#job-status")).to_have_text("Done")
        width, screen = await page_width(page)
        assert width <= screen, (name, width, screen)


async def test_phone_rows_are_compact_and_a_new_job_is_shown_at_the_top_in_view(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine, linked_site: RunningSite
) -> None:
    # Given a user with five finished jobs and one running, on a phone
    user = await make_user()
    ids = []
    for n in range(5):
        response = await user.client.post("/api/jobs", json={"kind": "test_sleep", "params": {"label": f"job {n}"}})
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    for job_id in ids:
        await wait_until_terminal(db_engine, job_id, 60)
    response = await user.client.post(
        "/api/jobs", json={"kind": "test_sleep", "params": {"label": "running job", "steps": 200, "delay": 0.2}}
    )
    tab = await open_page(user, viewport=PHONE)
    page = tab.page
    await page.goto("/?per_page=10")
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(6)
    running = page.locator("tbody tr", has_text="running job")
    await expect(running.locator(".progress-text")).to_have_text(re.compile(r"Working: \d+ / 200"))

    # Then each row is a compact card, the header is one line, and nothing is wider than the screen
    boxes = [await rows.nth(i).bounding_box() for i in range(6)]
    heights = [box["height"] if box else 999 for box in boxes]
    assert max(heights) <= 120, heights
    header = await page.locator(".site-header").bounding_box()
    assert header is not None and header["height"] <= 60, header
    width, screen = await page_width(page)
    assert width <= screen, (width, screen)
    await screenshot(page, "list-running-phone")
    await assert_accessible(page)

    # When they start a generation from the form
    address = linked_site.base_url.rstrip("/")
    await page.get_by_label("Website address").fill(address)
    await page.get_by_role("button", name="Analyze").click()
    await page.get_by_role("button", name="Start").click()

    # Then the new row is at the top of the list, scrolled into view
    first = rows.first
    await expect(first).to_contain_text(address.removeprefix("http://"))
    await expect(first).to_be_in_viewport()
    # and the form was reset, so a second click cannot start the same job again
    await expect(page.get_by_label("Website address")).to_have_value("")
    await expect(page.get_by_role("button", name="Start")).to_be_hidden()


async def test_a_jobs_page_shows_its_result_first_with_a_link_to_the_site(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine, acme_site: RunningSite
) -> None:
    # Given a finished llms.txt generation, and others running in the list
    user = await make_user()
    job_id = await start_llms(user, acme_site)
    await wait_until_terminal(db_engine, job_id, 120)
    await user.client.post("/api/jobs", json={"kind": "test_sleep", "params": {"label": "busy", "steps": 300}})
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        tab = await open_page(user, viewport=viewport)
        page = tab.page
        if name == "desktop":
            await page.goto("/")
            row = page.locator("tbody tr", has_text="busy")
            await expect(row.locator(".progress-text")).to_have_text(re.compile(r"Working: \d+ / 300"))
            # (rows tell what they are: the kind's name, its option and page count, how long it took)
            done = page.locator("tbody tr", has_text="llms.txt")
            await expect(done.locator(".job-facts")).to_have_text(re.compile(r"^llms\.txt · Basic · \d+ pages$"))
            await expect(done.locator(".took-cell")).to_have_text(re.compile(r"^\d+ (s|min \d+ s)$"))
            await screenshot(page, "list-running-desktop")
            await assert_accessible(page)

        # When they open it
        await page.goto(f"/generations/{job_id}")

        # Then the first screen shows the status, its figures, the llms.txt itself and a link to the site
        await expect(page.locator("#job-status")).to_have_text("Done")
        await expect(page.locator("#job-facts")).to_have_text(re.compile(r"^llms\.txt · Basic · \d+ pages · took "))
        panel = page.get_by_role("tabpanel", name="llms.txt")
        await expect(panel).to_contain_text("# Acme Cloud")
        await expect(panel).to_be_in_viewport()
        box = await panel.bounding_box()
        assert box is not None and box["y"] + 60 <= viewport["height"], (name, box)
        site = page.get_by_role("link", name="Open the site")
        await expect(site).to_have_attribute("href", acme_site.base_url.rstrip("/"))
        await expect(site).to_be_in_viewport()
        width, screen = await page_width(page)
        assert width <= screen, (name, width, screen)
        await screenshot(page, f"detail-done-{name}")
        await assert_accessible(page)


async def test_a_kind_without_pages_of_its_own_gets_the_generic_job_page(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine, tmp_path: Path
) -> None:
    # Given a finished job of the README's example kind, which declares an artifact and no web part
    user = await make_user()
    response = await user.client.post(
        "/api/jobs", json={"kind": "word_count", "params": {"text": "the cat and the dog and the bird"}}
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert (await wait_until_terminal(db_engine, job_id, 60))["status"] == "succeeded"
    tab = await open_page(user)
    page = tab.page

    # Then the list names its kind in words
    await page.goto("/")
    await expect(page.locator("tbody tr .job-facts")).to_have_text("Word count")

    # When its page is opened
    await page.locator("tbody tr .job-name").click()

    # Then it shows its status, kind, duration, result and its declared file to download
    await expect(page.locator("#job-status")).to_have_text("Done")
    await expect(page.locator("#job-facts")).to_have_text(re.compile(r"^Word count · took \d+ s$"))
    await expect(page.locator("#generic-result-json")).to_contain_text('"words": 8')
    await assert_accessible(page)
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download counts.json").click()
    saved = tmp_path / "counts.json"
    await (await info.value).save_as(saved)
    assert saved.read_text() == (await user.client.get(f"/api/jobs/{job_id}/artifacts/counts.json")).text
    assert '"the": 3' in saved.read_text().replace('"the":3', '"the": 3')
    await expect(page.locator("#job-timings")).to_contain_text("Took")

    # and it can be deleted like any job
    page.once("dialog", lambda d: d.accept())
    await page.get_by_role("button", name="Delete").click()
    await expect(page.get_by_text("Page 1 of 1 (0 total)")).to_be_visible()
