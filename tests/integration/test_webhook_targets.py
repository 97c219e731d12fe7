"""A webhook URL naming loopback in any spelling is refused when it is saved (settings or a job's ``notify``),
not only when a notification is about to be sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.conftest import ApiUser

LOOPBACK_ALIASES = [
    "https://127.1/hook",
    "https://2130706433/hook",
    "https://0x7f000001/hook",
    "https://0177.0.0.1/hook",
    "https://localhost./hook",
    "https://[::ffff:7f00:1]/hook",
]


@pytest.mark.parametrize("url", LOOPBACK_ALIASES)
async def test_loopback_webhook_urls_are_refused_when_saved(
    url: str, strict_api_url: str, make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    user = await make_user()
    headers = {"Authorization": f"Bearer {user.api_key}"}
    async with httpx.AsyncClient(base_url=strict_api_url, headers=headers, timeout=30) as client:
        # When the default channel is set to the URL, then it is refused naming the field
        saved = await client.put("/api/me/notifications", json={"channel": "webhook", "to": url})
        assert saved.status_code == 400, saved.text
        assert saved.json()["error"]["details"][0]["field"] == "to"
        # And a job asking to be notified there is refused too
        job = await client.post(
            "/api/jobs", json={"kind": "test_notify", "params": {"notify": {"channel": "webhook", "to": url}}}
        )
        assert job.status_code == 400, job.text
        assert job.json()["error"]["details"][0]["field"] == "notify.to"
    # And nothing was stored
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 0
        assert (
            conn.execute(text("SELECT count(*) FROM notification_preferences WHERE target IS NOT NULL")).scalar_one()
            == 0
        )
