"""The settings page: a browser user chooses where to be notified, gets and renews the webhook signing
secret, and makes and revokes API keys, all without the API docs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

import httpx
from playwright.async_api import Dialog, expect
from sqlalchemy import Engine, text

from actors.notify.sealing import SecretSeal
from tests.conftest import TEST_SECRET_KEY, ApiUser
from tests.e2e.conftest import OpenPage

MakeUser = Callable[..., Awaitable[ApiUser]]


def stored_secret(engine: Engine, user_id: uuid.UUID) -> str | None:
    """The webhook secret as stored, opened with the test deployment's SECRET_KEY (it is sealed at rest)."""
    with engine.connect() as conn:
        value = conn.execute(
            text("SELECT webhook_secret FROM notification_preferences WHERE user_id = :id"), {"id": user_id}
        ).scalar_one_or_none()
    if value is None:
        return None
    assert not str(value).startswith("whsec_"), "the secret must not be stored in clear"
    return SecretSeal(TEST_SECRET_KEY).open(str(value))


async def test_choose_a_notification_channel_and_renew_the_webhook_secret(
    open_page: OpenPage, make_user: MakeUser, db_engine: Engine
) -> None:
    # Given a user on their generations page, who follows the header's Settings link
    user = await make_user()
    tab = await open_page(user)
    tab.guard.allow(r"status of 400 .*@ .*/api/me/notifications")
    page = tab.page
    await page.goto("/")
    await page.get_by_role("link", name="Settings").click()
    await expect(page).to_have_title("Settings · genjobs")
    # Then nothing is chosen yet, and there is no secret
    await expect(page.get_by_label("Channel")).to_have_value("")
    await expect(page.locator("#secret-state")).to_contain_text("No signing secret yet")

    # When they choose email and save a wrong address, they read why, on the field
    await page.get_by_label("Channel").select_option(label="Email")
    address = page.get_by_label("Email address")
    await address.fill("not-an-email")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#notify-error")).to_contain_text("is not an email address like name@example.com")
    await expect(address).to_have_attribute("aria-invalid", "true")

    # When they correct it (keyboard: Enter submits), it is saved
    await address.fill("me@example.com")
    await address.press("Enter")
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    assert (await user.client.get("/api/me/notifications")).json()["channel"] == "email"
    await expect(address).not_to_have_attribute("aria-invalid", "true")

    # When they switch to a webhook, the signing secret is made and shown this once
    await page.get_by_label("Channel").select_option(label="Webhook (a signed HTTPS POST)")
    await page.get_by_label("Webhook URL").fill("https://hooks.example.com/genjobs")
    await page.get_by_role("button", name="Save").click()
    secret_box = page.get_by_label(re.compile("^Your new secret"))
    await expect(secret_box).to_have_value(re.compile(r".{32,}"))
    first = await secret_box.input_value()
    assert first == stored_secret(db_engine, user.id)
    await expect(page.locator("#secret-state")).to_contain_text("A signing secret is set")
    settings = (await user.client.get("/api/me/notifications")).json()
    assert (settings["channel"], settings["to"]) == ("webhook", "https://hooks.example.com/genjobs")
    await page.get_by_role("button", name="Copy").first.click()
    assert await page.evaluate("navigator.clipboard.readText()") == first

    # When they come back later, the choice is there and the secret is not shown again
    await page.reload()
    await expect(page.get_by_label("Channel")).to_have_value("webhook")
    await expect(page.get_by_label("Webhook URL")).to_have_value("https://hooks.example.com/genjobs")
    await expect(page.locator("#secret-state")).to_contain_text("A signing secret is set")
    await expect(secret_box).to_be_hidden()

    # When they make a new secret, they are asked first; saying no changes nothing
    asked: list[str] = []

    async def answer(dialog: Dialog, accept: bool) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    page.once("dialog", lambda d: answer(d, accept=False))
    await page.get_by_role("button", name="Make a new secret").click()
    # (the click returns once the dialog is answered: the page waits on it)
    assert len(asked) == 1 and "stops working at once" in asked[0], asked
    await expect(secret_box).to_be_hidden()
    assert stored_secret(db_engine, user.id) == first

    # and saying yes replaces it with a new one, shown once
    page.once("dialog", lambda d: answer(d, accept=True))
    await page.get_by_role("button", name="Make a new secret").click()
    await expect(secret_box).to_have_value(re.compile(r".{32,}"))
    second = await secret_box.input_value()
    assert len(asked) == 2
    assert second != first
    assert second == stored_secret(db_engine, user.id)

    # When they turn notifications off, they are off
    await page.get_by_label("Channel").select_option(label="Off")
    await expect(page.get_by_label("Webhook URL")).to_be_hidden()
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status").filter(has_text="notifications are off")).to_be_visible()
    settings = (await user.client.get("/api/me/notifications")).json()
    assert (settings["channel"], settings["to"]) == (None, None)


async def test_create_use_and_revoke_an_api_key(open_page: OpenPage, make_user: MakeUser, api_url: str) -> None:
    # Given a user with one API key, on the settings page
    user = await make_user()
    tab = await open_page(user)
    page = tab.page
    await page.goto("/settings")
    keys = page.locator("#keys tr")
    await expect(keys).to_have_count(1)
    await expect(keys.first).to_contain_text("Active")

    # When they create a key named for their script
    await page.get_by_label("Name of a new key").fill("nightly script")
    await page.get_by_role("button", name="Create key").click()

    # Then it is shown once, and it works
    key_box = page.get_by_label(re.compile("^Your new key"))
    await expect(key_box).to_have_value(re.compile(r".{20,}"))
    key = await key_box.input_value()
    await expect(keys).to_have_count(2)
    row = page.locator("#keys tr", has_text="nightly script")
    await expect(row).to_contain_text(key[:6])
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {key}"}) as client:
        assert (await client.get("/api/me")).json()["email"] == user.email

        # When they revoke it (and confirm), it stops working
        page.once("dialog", lambda d: d.accept())
        await row.get_by_role("button", name="Revoke nightly script").click()
        await expect(row).to_contain_text("Revoked")
        await expect(row.get_by_role("button")).to_have_count(0)
        assert (await client.get("/api/me")).status_code == 401
    # and the other key still does
    assert (await user.client.get("/api/me")).status_code == 200
