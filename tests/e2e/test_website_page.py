"""A website job's page in a browser: while the external generator builds the site it says so and links to
the generator's progress page; once done it links to the site. Live, without a reload.

The generator is the local fake of ``tests/support/fake_generator.py``, polled on a millisecond schedule.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from playwright.async_api import expect

from tests.conftest import ApiUser
from tests.e2e.conftest import OpenPage
from tests.support.fake_generator import GENERATOR_TEST_KEY, FakeGenerator, fake_generator
from tests.support.isolated_stack import IsolatedStack, isolated_stack
from tests.support.services import ServiceProcess


@pytest.fixture(scope="module")
def generator() -> Iterator[FakeGenerator]:
    yield from fake_generator()


@pytest.fixture(scope="module")
def website_stack(
    start_service: Callable[..., ServiceProcess], service_env: dict[str, str], generator: FakeGenerator
) -> Iterator[IsolatedStack]:
    env = {
        **service_env,
        "WEBSITE_GENERATOR_URL": generator.base_url,
        "WEBSITE_GENERATOR_API_KEY": GENERATOR_TEST_KEY,
        # A poll every 0.3 s: the "building" state lasts a few seconds, long enough to be seen.
        "WEBSITE_POLL_SCHEDULE": "0.3",
    }
    yield from isolated_stack(start_service, env, scheduler=False)


@pytest.fixture
async def user(website_stack: IsolatedStack) -> AsyncIterator[ApiUser]:
    website_stack.start_worker()
    api_user = await website_stack.make_user()
    yield api_user
    await api_user.client.aclose()


async def test_website_page_follows_the_build_then_links_to_the_site(
    open_page: OpenPage, website_stack: IsolatedStack, generator: FakeGenerator, user: ApiUser
) -> None:
    # Given a website job the generator takes a while to build
    prompt = generator.script("A portfolio for a ceramic artist", polls=["processing"] * 15 + ["completed"])
    response = await user.client.post("/api/jobs", json={"kind": "website", "params": {"prompt": prompt}})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]

    # When its owner opens the job's page (the tracking URL they were given)
    tab = await open_page(user, base_url=website_stack.api_url)
    page = tab.page
    await page.goto(f"/generations/{job_id}")

    # Then, while it is built, the page says so and links to the generator's progress page
    await expect(page.locator("#site-text")).to_contain_text("The generator is building your website.")
    generator_link = page.get_by_role("link", name="Follow it at the generator")
    await expect(generator_link).to_have_attribute("href", re.compile(r"^https://generator\.example\.com/p/\w+"))

    # and once the generator is done, it links to the new site without a reload
    await expect(page.locator("#job-status")).to_have_text("Done", timeout=60_000)
    await expect(page.locator("#site-text")).to_have_text("Your website is ready.")
    site_link = page.get_by_role("link", name="Open your website")
    await expect(site_link).to_have_attribute("href", re.compile(r"^https://sites\.example\.com/\w+"))
    await expect(generator_link).to_be_hidden()
    [project] = generator.projects.values()
    assert await site_link.get_attribute("href") == f"https://sites.example.com/{project.id}"
