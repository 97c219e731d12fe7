"""Browser fixtures for the end-to-end tests: Debian's Chromium driven by Playwright's async API against
the real API and worker processes of ``tests/conftest.py``.

Every page a test opens fails the test on a console error or an uncaught page error, except for the few
a test declares expected (``page.guard.allow(...)``, e.g. the browser's own log line for an API call that
is meant to answer 400). Nothing is allowed for every test.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright, expect

from tests.conftest import ApiUser
from tests.support.services import ROOT, ServiceProcess

# Never a browser a tool downloaded: the system's Chromium (``apt-get install chromium``).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
# axe-core (npm, pinned in tests/e2e/package.json; `make install` runs `npm ci` there), injected into pages.
AXE = ROOT / "tests" / "e2e" / "node_modules" / "axe-core" / "axe.min.js"
# The machine running the tests may be busy: waits are generous, and always on a condition.
TIMEOUT_MS = 30_000

expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class ConsoleGuard:
    """Collects console errors and page errors of one browser context."""

    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Accept console errors matching ``pattern`` (searched in ``"<text> @ <url>"``)."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        line = f"{message.text} @ {message.location.get('url', '')}"
        if not any(p.search(line) for p in self.allowed):
            self.problems.append(f"console error: {line}")

    def on_page_error(self, error: Exception) -> None:
        self.problems.append(f"page error: {error}")


class GuardedPage:
    """A Playwright page with its context and console guard."""

    def __init__(self, page: Page, context: BrowserContext, guard: ConsoleGuard) -> None:
        self.page, self.context, self.guard = page, context, guard


OpenPage = Callable[..., Awaitable[GuardedPage]]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def open_page(browser: Browser, api_url: str, worker: ServiceProcess) -> AsyncIterator[OpenPage]:
    """Factory: a new browser context on the API (logged in as ``user`` when given) and a page in it."""
    opened: list[GuardedPage] = []

    async def open_(
        user: ApiUser | None = None, *, viewport: dict[str, int] | None = None, base_url: str | None = None
    ) -> GuardedPage:
        base = base_url or api_url
        context = await browser.new_context(
            base_url=base, accept_downloads=True, viewport=viewport or {"width": 1280, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        guard = ConsoleGuard()
        if user is not None:
            # Logs in through the API the login form calls (tests/e2e/test_login.py drives the form itself).
            response = await context.request.post(
                "/api/auth/login", data={"email": user.email, "password": user.password}
            )
            assert response.status == 200, await response.text()
        page = await context.new_page()
        page.on("console", guard.on_console)
        page.on("pageerror", guard.on_page_error)
        opened.append(GuardedPage(page, context, guard))
        return opened[-1]

    yield open_
    problems = [p for g in opened for p in g.guard.problems]
    for g in opened:
        await g.context.close()
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)


async def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def assert_accessible(page: Page) -> None:
    """Run axe-core (WCAG 2 A and AA rules) on the page as it is now; fail listing every violation."""
    if not AXE.exists():
        raise RuntimeError(f"axe-core not found at {AXE}: run `make install` (npm ci --prefix tests/e2e)")
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))
    violations = await page.evaluate(
        """async () => (await axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }))
            .violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)"""
    )
    assert not violations, f"axe-core found violations on {page.url}:\n" + "\n".join(violations)
