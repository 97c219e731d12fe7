"""Live progress in the browser: a reload shows "Processing…" then resumes, a dropped connection resumes
with Last-Event-ID without losing or repeating an event, and deleted jobs (after a confirmation) stop and
leave the list."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Dialog, Locator, Route, expect
from sqlalchemy import Engine

from tests.conftest import ApiUser
from tests.e2e.conftest import OpenPage
from tests.support.llms_jobs import job_row, wait_for_row
from tests.support.tcp_proxy import dropping_proxy

MakeUser = Callable[..., Awaitable[ApiUser]]
RECORD_EVENTS = """() => {
  window.__events = [];
  document.addEventListener("genjobs:event", (e) => window.__events.push(e.detail));
}"""


async def start_slow_job(user: ApiUser, label: str, steps: int, delay: float) -> str:
    """A ``test_sleep`` job reporting progress after each of ``steps`` steps of ``delay`` seconds."""
    response = await user.client.post(
        "/api/jobs", json={"kind": "test_sleep", "params": {"steps": steps, "delay": delay, "label": label}}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def row_of(page_locator: Locator, label: str) -> Locator:
    return page_locator.locator("tbody tr", has_text=label)


async def valuenow(bar: Locator) -> int:
    return int(await bar.get_attribute("aria-valuenow") or "-1")


async def test_reload_mid_run_shows_processing_then_resumes_to_100(open_page: OpenPage, make_user: MakeUser) -> None:
    # Given a running job watched on the list
    user = await make_user()
    await start_slow_job(user, "reloaded-job", steps=60, delay=0.25)
    tab = await open_page(user)
    page = tab.page
    await page.goto("/")
    row = row_of(page.locator("body"), "reloaded-job")
    bar = row.get_by_role("progressbar", name="Progress of reloaded-job")
    await expect(row.locator(".progress-text")).to_have_text(re.compile(r"Working: \d+ / 60"))
    before = await valuenow(bar)

    # When the page is reloaded while its live stream is held back
    released = asyncio.Event()

    async def hold(route: Route) -> None:
        await released.wait()
        await route.continue_()

    await page.route(re.compile(r"/api/events"), hold)
    await page.reload()

    # Then the active job says "Processing…" (no stale figure) until its first event
    await expect(row.locator(".progress-text")).to_have_text("Processing…")
    await expect(bar).not_to_have_attribute("aria-valuenow", re.compile(".*"))
    await expect(row.locator(".status")).to_have_text("Running")

    # When the stream connects, the bar shows the percentage again, at least where it was, and reaches 100
    released.set()
    await expect(row.locator(".progress-text")).to_have_text(re.compile(r"Working: \d+ / 60 · \d+%|Complete"))
    assert await valuenow(bar) >= before
    await expect(bar).to_have_attribute("aria-valuenow", "100")
    await expect(row.locator(".status")).to_have_text("Done")
    await page.unroute(re.compile(r"/api/events"))


async def test_a_dropped_stream_resumes_with_last_event_id_and_loses_no_event(
    open_page: OpenPage, make_user: MakeUser, api_url: str
) -> None:
    steps = 30
    user = await make_user()
    async with dropping_proxy(urlsplit(api_url).port or 80) as proxy:
        # Given a user watching a running job through a connection that will drop
        tab = await open_page(user, base_url=proxy.url)
        # Cutting the stream mid-response is what the browser reports here; the page must cope with it.
        tab.guard.allow(r"ERR_(INCOMPLETE_CHUNKED_ENCODING|CONNECTION_RESET|EMPTY_RESPONSE).*")
        page = tab.page
        await page.goto("/")
        await page.evaluate(RECORD_EVENTS)
        job_id = await start_slow_job(user, "dropped-job", steps=steps, delay=0.3)
        row = row_of(page.locator("body"), "dropped-job")
        await expect(row.locator(".progress-text")).to_have_text(re.compile(r"Working: ([3-9]|\d\d) / 30"))

        # When every connection is cut mid-run
        opened = sum(1 for r in proxy.requests if r.startswith(b"GET /api/events"))
        proxy.drop()

        # Then the bar still reaches 100 %
        bar = row.get_by_role("progressbar", name="Progress of dropped-job")
        await expect(bar).to_have_attribute("aria-valuenow", "100")
        events: list[dict[str, Any]] = await page.evaluate("window.__events")

    # and the browser reconnected with the id of the last event it had
    reconnects = [r for r in proxy.requests if r.startswith(b"GET /api/events")][opened:]
    assert reconnects, "the browser never reconnected"
    header = re.search(rb"(?im)^last-event-id: *(\S+)\r$", reconnects[0])
    assert header is not None, reconnects[0].decode(errors="replace")
    resumed_from = header.group(1).decode()
    ids = [e["id"] for e in events]
    assert resumed_from in ids, (resumed_from, ids)
    # and the server resumed after it: no new snapshot, every step exactly once, in order
    after = events[ids.index(resumed_from) + 1 :]
    assert after, "nothing arrived after the reconnect"
    assert all(e["type"] != "snapshot" for e in after), [e["type"] for e in after]
    done = [e["data"]["done"] for e in events if e["type"] == "progress" and e["data"]["job_id"] == job_id]
    assert done == list(range(1, steps + 1)), done
    live_ids = [e["id"] for e in events if e["type"] != "snapshot"]
    assert len(live_ids) == len(set(live_ids)), "an event arrived twice"


async def test_deleting_running_jobs_stops_them_and_they_leave_the_list(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine
) -> None:
    # Given three running jobs on the list
    user = await make_user()
    ids = {label: await start_slow_job(user, label, steps=200, delay=0.2) for label in ("job-a", "job-b", "job-c")}
    tab = await open_page(user)
    page = tab.page
    await page.goto("/")
    body = page.locator("body")
    for label in ids:
        await expect(row_of(body, label).locator(".progress-text")).to_have_text(re.compile(r"Working: \d+ / 200"))
    await expect(page.get_by_text("Page 1 of 1 (3 total)")).to_be_visible()

    # When the user asks to delete one from the list, they are asked first; saying no keeps it running
    asked: list[str] = []

    async def answer(dialog: Dialog, accept: bool) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    page.once("dialog", lambda d: answer(d, accept=False))
    await row_of(body, "job-a").get_by_role("button", name="Delete job-a").focus()
    await page.keyboard.press("Enter")
    # (the key press returns once the dialog is answered: the page waits on it)
    assert asked == ["Stop and delete “job-a”? Its work so far is lost."], asked
    done_before = job_row(db_engine, ids["job-a"])["progress_done"]
    await wait_for_row(db_engine, ids["job-a"], lambda r: r["progress_done"] > done_before, 15, "more progress")
    await expect(row_of(body, "job-a")).to_have_count(1)

    # When they confirm
    page.once("dialog", lambda d: answer(d, accept=True))
    await row_of(body, "job-a").get_by_role("button", name="Delete job-a").click()

    # Then it leaves the list and its worker stops
    await expect(row_of(body, "job-a")).to_have_count(0)
    await expect(page.get_by_text("Page 1 of 1 (2 total)")).to_be_visible()
    stopped = await wait_for_row(db_engine, ids["job-a"], lambda r: r["status"] == "cancelled", 15, "cancelled")
    # "Stopped" is the absence of progress, so it can only be watched for a while: 5 steps' time.
    await asyncio.sleep(1.0)
    assert job_row(db_engine, ids["job-a"])["progress_done"] == stopped["progress_done"] < 200

    # When another one is deleted elsewhere (another tab, the API), it leaves this list live
    assert (await user.client.delete(f"/api/jobs/{ids['job-b']}")).status_code == 204
    await expect(row_of(body, "job-b")).to_have_count(0)
    await expect(page.get_by_text("Page 1 of 1 (1 total)")).to_be_visible()

    # When the last one is deleted from its detail page, the user is back on the (now empty) list
    await row_of(body, "job-c").get_by_role("link", name="job-c").click()
    await expect(page.locator("#job-status")).to_have_text("Running")
    await expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", re.compile(r"\d+"))
    page.once("dialog", lambda d: answer(d, accept=True))
    await page.get_by_role("button", name="Delete").click()
    assert asked[-1] == "Stop and delete “job-c”? Its work so far is lost.", asked
    await expect(page.get_by_text("Page 1 of 1 (0 total)")).to_be_visible()
    await wait_for_row(db_engine, ids["job-c"], lambda r: r["status"] == "cancelled", 15, "cancelled")
