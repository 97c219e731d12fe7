"""A Vite + TypeScript project uploaded through the browser: the form shows the file's size and the upload's
progress, the build's page shows the steps and the live log (which can be paused), and the built app runs
in its embedded preview (sandboxed, from the service's /previews path)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from playwright.async_api import expect

from tests.conftest import ApiUser
from tests.e2e.conftest import OpenPage, assert_accessible, screenshot
from tests.support.archives import make_zip
from tests.support.build_projects import vite_project

BUILD_TIMEOUT_MS = 240_000


async def test_a_vite_project_uploaded_in_the_browser_builds_live_and_runs_in_its_preview(
    open_page: OpenPage, make_user: object, tmp_path: Path
) -> None:
    user: ApiUser = await make_user()  # type: ignore[operator]
    archive = make_zip(tmp_path / "my-app.zip", vite_project(marker=uuid.uuid4().hex))
    tab = await open_page(user)
    page = tab.page
    await page.goto("/")

    # Given the build form, when a project archive is chosen
    form = page.locator("#build-form")
    await form.locator("#build-file").set_input_files(str(archive))
    # Then its name and size are shown
    await expect(page.locator("#build-chosen")).to_have_text(re.compile(r"^my-app\.zip \(\d+ KB\)$"))

    # When it is uploaded with a site name
    await form.get_by_label("Site name (optional)").fill("browser-app")
    await form.get_by_role("button", name="Upload and build").click()

    # Then the build's page opens and follows the build: the steps, the log lines as they come
    await page.wait_for_url(re.compile(r"/generations/[0-9a-f-]{36}$"))
    log = page.locator("#build-log")
    await expect(log).to_contain_text("$ npm ci", timeout=BUILD_TIMEOUT_MS)
    await expect(page.locator("#build-steps li")).to_have_count(5)
    await expect(page.locator("#job-status")).to_have_text("Done", timeout=BUILD_TIMEOUT_MS)
    await expect(log).to_contain_text("built in")
    await expect(page.locator('#build-steps li[data-state="done"]')).to_have_count(5)

    # And the preview link and the embedded preview show the built app, its TypeScript run by the browser
    job_id = page.url.rsplit("/", 1)[1]
    link = page.get_by_role("link", name="Open the preview")
    await expect(link).to_have_attribute("href", f"/previews/{job_id}/")
    preview = page.frame_locator("#build-preview")
    await expect(preview.locator("#app")).to_have_text("Built by Vite: 42")

    # The log can be paused and followed again
    pause = page.get_by_role("button", name="Pause the log")
    await pause.click()
    await expect(page.get_by_role("button", name="Follow the log")).to_have_attribute("aria-pressed", "true")

    await screenshot(page, "build-page")
    await assert_accessible(page)

    # The preview opened on its own runs too
    await page.goto(f"/previews/{job_id}/")
    await expect(page.locator("#app")).to_have_text("Built by Vite: 42")
