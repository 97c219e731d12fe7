"""Logging in and out in the browser, and pages that need a login."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from playwright.async_api import expect

from tests.conftest import ApiUser
from tests.e2e.conftest import OpenPage

MakeUser = Callable[..., Awaitable[ApiUser]]


async def test_a_page_without_login_redirects_to_login_and_back_after_it(
    open_page: OpenPage, make_user: MakeUser
) -> None:
    # Given a user who is not logged in and opens the list with 10 per page
    user = await make_user()
    tab = await open_page()
    page = tab.page
    await page.goto("/?page=1&per_page=10")

    # Then the login form is shown, remembering where they were heading
    await expect(page).to_have_url(re.compile(r"/login\?next=%2F%3Fpage%3D1%26per_page%3D10$"))
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    # When they log in with their email and password (typed, submitted with Enter)
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_label("Password").press("Enter")

    # Then they land where they were heading, logged in
    await expect(page).to_have_url(re.compile(r"/\?page=1&per_page=10$"))
    await expect(page.get_by_text(user.email)).to_be_visible()
    await expect(page.get_by_label("Per page")).to_have_value("10")
    await expect(page.get_by_text("Page 1 of 1 (0 total)")).to_be_visible()

    # When they log out, the list is closed to them again
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/login$"))
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))


async def test_wrong_password_and_missing_fields_are_explained_inline(open_page: OpenPage, make_user: MakeUser) -> None:
    user = await make_user()
    tab = await open_page()
    # The browser logs the API's 401 for the wrong password; the page itself shows it to the user.
    tab.guard.allow(r"status of 401 .*@ .*/api/auth/login")
    page = tab.page
    await page.goto("/login")

    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_have_text("Enter your email address.")

    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_have_text("The email or password is wrong.")
    await expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    await expect(page).to_have_url(re.compile(r"/login$"))


async def test_an_open_redirect_in_next_is_refused(open_page: OpenPage, make_user: MakeUser) -> None:
    user = await make_user()
    tab = await open_page()
    page = tab.page
    await page.goto("/login?next=//evil.example/")
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Your generations")).to_be_visible()
    assert page.url.endswith("/")


async def test_the_api_still_answers_json_401_without_login(api_url: str) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=api_url) as client:
        response = await client.get("/api/jobs")
        page = await client.get("/static/js/api.js")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert page.status_code == 200
    assert "javascript" in page.headers["content-type"]
