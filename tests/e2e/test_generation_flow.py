"""The main story in a browser: analyze a site, start a generation, watch it finish live, then read, copy
and download the result on its detail page."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Page, expect

from tests.conftest import ApiUser
from tests.e2e.conftest import OpenPage, screenshot
from tests.support.testsite.serving import RunningSite

MakeUser = Callable[..., Awaitable[ApiUser]]

# Records every live event the page receives (the UI announces each one as a DOM event).
RECORD_EVENTS = """() => {
  window.__noReload = true;
  window.__events = [];
  document.addEventListener("genjobs:event", (e) => window.__events.push(e.detail));
}"""


async def analyze(page: Page, address: str) -> None:
    await page.get_by_label("Website address").fill(address)
    await page.get_by_role("button", name="Analyze").click()


async def test_analyze_start_watch_live_then_copy_and_download(
    open_page: OpenPage, make_user: MakeUser, acme_site: RunningSite, tmp_path: Path
) -> None:
    # Given a logged-in user on the generations page
    user = await make_user()
    tab = await open_page(user)
    page = tab.page
    await page.goto("/")
    await expect(page.get_by_text("Page 1 of 1 (0 total)")).to_be_visible()
    await page.evaluate(RECORD_EVENTS)
    address = acme_site.base_url.rstrip("/")
    host = address.removeprefix("http://")

    # When they analyze the test site
    await analyze(page, address)

    # Then they see how many pages it has and that the count is complete
    listed = len(set(acme_site.spec.listed))
    analysis = page.locator("#analysis")
    await expect(analysis).to_contain_text(
        re.compile(rf"{re.escape(host)}: \d+ pages found in its sitemap \(complete count\)")
    )
    count = int(re.search(r": (\d+) pages", await analysis.inner_text()).group(1))  # type: ignore[union-attr]
    assert listed - 20 <= count <= listed, (count, listed)

    # When they choose the Basic provider and start
    await page.get_by_label("Basic").check()
    await page.get_by_role("button", name="Start").click()

    # Then the job appears at once, and its bar reaches 100 % from live events alone
    row = page.locator("tbody tr").first
    await expect(row).to_contain_text(host)
    await expect(page.get_by_text("Page 1 of 1 (1 total)")).to_be_visible()
    bar = row.get_by_role("progressbar")
    await expect(bar).to_have_attribute("aria-valuenow", "100", timeout=90_000)
    await expect(row.locator(".status")).to_have_text("Done")
    assert await page.evaluate("window.__noReload === true"), "the page reloaded"
    events = await page.evaluate("window.__events")
    assert any(e["type"] == "progress" for e in events), events
    assert [e["data"]["status"] for e in events if e["type"] == "status"][-1] == "succeeded"
    await screenshot(page, "generations-list")

    # When they open the generation
    await row.get_by_role("link", name=host).click()
    await expect(page).to_have_url(re.compile(r"/generations/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[1]

    # Then they see its status, timings and the llms.txt content
    await expect(page.get_by_role("heading", level=1)).to_have_text(host)
    await expect(page.locator("#job-status")).to_have_text("Done")
    await expect(page.locator("#job-timings")).to_contain_text("Took")
    served = (await user.client.get(f"/api/jobs/{job_id}/artifacts/llms.txt")).text
    llms_panel = page.get_by_role("tabpanel")
    await expect(llms_panel).to_contain_text("# Acme Cloud")
    assert (await llms_panel.text_content()) == served
    await screenshot(page, "generation-detail")

    # When they copy it, the clipboard holds exactly the file
    await page.get_by_role("button", name="Copy").click()
    await expect(page.get_by_text("Copied.")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == served

    # When they download it, the file is named after the site and holds the same text
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download", exact=True).click()
    download = await download_info.value
    assert download.suggested_filename == f"llms-{host.replace(':', '-')}.txt"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.read_text() == served

    # The full text is one tab away (keyboard: arrow right), and downloadable too
    await page.get_by_role("tab", name="llms.txt").press("ArrowRight")
    full_tab = page.get_by_role("tab", name="llms-full.txt")
    await expect(full_tab).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_role("tabpanel")).to_contain_text("Source: ")
    async with page.expect_download() as full_info:
        await page.get_by_role("link", name="Download full").click()
    assert (await full_info.value).suggested_filename == f"llms-full-{host.replace(':', '-')}.txt"

    async with page.expect_download() as zip_info:
        await page.get_by_role("link", name="Download ZIP").click()
    archive = tmp_path / "bundle.zip"
    await (await zip_info.value).save_as(archive)
    with zipfile.ZipFile(archive) as bundle:
        assert "llms.txt" in bundle.namelist()


async def test_the_new_generation_form_works_with_the_keyboard_alone(
    open_page: OpenPage, make_user: MakeUser, linked_site: RunningSite
) -> None:
    # Given a user on the generations page, with only a keyboard
    tab = await open_page(await make_user())
    page = tab.page
    await page.goto("/")
    await expect(page.get_by_text("Page 1 of 1 (0 total)")).to_be_visible()
    field = page.get_by_label("Website address")
    await expect(page).to_have_title("Generations · genjobs")
    assert await page.evaluate("document.documentElement.lang") == "en"

    # When they Tab to the address field, type it and press Enter
    for _ in range(10):
        await page.keyboard.press("Tab")
        if await field.evaluate("(node) => node === document.activeElement"):
            break
    await expect(field).to_be_focused()
    address = linked_site.base_url.rstrip("/")
    await page.keyboard.type(address)
    await page.keyboard.press("Enter")

    # Then the site is analyzed, and the focus stays in the form
    await expect(page.locator("#analysis")).to_contain_text("found by following links")
    await expect(field).to_be_focused()

    # When they Tab past Analyze to the provider choice, pick Basic with the arrow keys and Tab to Start
    await page.keyboard.press("Tab")
    analyze = page.get_by_role("button", name="Analyze")
    await expect(analyze).to_be_focused()
    # (the focused control is outlined)
    outline = await analyze.evaluate("(node) => getComputedStyle(node).outlineStyle")
    assert outline not in ("", "none"), outline
    # (nothing answers where Ollama would be, and Gemini has no key here: Basic, the option that works, is chosen)
    await page.keyboard.press("Tab")
    basic = page.get_by_label("Basic")
    await expect(basic).to_be_focused()
    await expect(basic).to_be_checked()
    await page.keyboard.press("Tab")
    start = page.get_by_role("button", name="Start")
    await expect(start).to_be_focused()
    await page.keyboard.press("Enter")

    # Then the generation starts, the page says so, and the form is ready for the next site (focus back in it)
    await expect(page.get_by_role("status").filter(has_text="Started the generation")).to_be_visible()
    await expect(field).to_be_focused()
    await expect(field).to_have_value("")
    await expect(start).to_be_hidden()
    row = page.locator("tbody tr").first
    await expect(row.locator(".status")).to_have_text("Done", timeout=90_000)
