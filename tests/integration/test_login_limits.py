"""Login abuse: guessing is cut off per account and per client address with 429 and ``Retry-After``, and a
burst of logins cannot make the API compute many 64 MiB password hashes at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from service.settings import Settings
from tests.conftest import ApiUser, start_api
from tests.support.services import ServiceProcess


async def _login(client: httpx.AsyncClient, email: str, password: str, address: str | None = None) -> httpx.Response:
    # The API runs behind no proxy here; uvicorn trusts X-Forwarded-For from 127.0.0.1, standing in for one.
    headers = {"X-Forwarded-For": address} if address else {}
    return await client.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)


def _assert_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "too_many_login_attempts"
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= Settings().auth.login_window_seconds
    return retry_after


async def test_wrong_passwords_lock_the_account_for_a_while(
    api_url: str, make_user: Callable[..., Awaitable[ApiUser]]
) -> None:
    user = await make_user(password="the right password")
    limit = Settings().auth.login_attempts_per_account
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        # Given the allowed number of wrong passwords, each answered 401
        for i in range(limit):
            assert (await _login(client, user.email, f"guess {i}", "198.51.100.1")).status_code == 401
        # When guessing goes on (60 in a row, from other addresses too), then it is 429 with Retry-After
        for i in range(60 - limit):
            _assert_limited(await _login(client, user.email.upper(), f"guess {i}", f"198.51.100.{2 + i % 5}"))
        # And even the right password is refused until the window ends: guessing learns nothing
        _assert_limited(await _login(client, user.email, "the right password", "198.51.100.99"))
        # While another account logs in as usual
        other = await make_user(password="another password")
        assert (await _login(client, other.email, "another password", "198.51.100.1")).status_code == 200


async def test_one_address_trying_many_accounts_is_limited(api_url: str) -> None:
    limit = Settings().auth.login_attempts_per_address
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        for i in range(limit):
            response = await _login(client, f"nobody-{i}@example.com", "guess", "203.0.113.7")
            assert response.status_code == 401, response.text
        _assert_limited(await _login(client, "nobody-else@example.com", "guess", "203.0.113.7"))
        # Another address is not affected
        assert (await _login(client, "nobody-else@example.com", "guess", "203.0.113.8")).status_code == 401


async def test_a_successful_login_clears_the_accounts_failures(
    api_url: str, make_user: Callable[..., Awaitable[ApiUser]]
) -> None:
    user = await make_user(password="the right password")
    limit = Settings().auth.login_attempts_per_account
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        for _ in range(2):
            for i in range(limit - 1):
                assert (await _login(client, user.email, f"typo {i}")).status_code == 401
            assert (await _login(client, user.email, "the right password")).status_code == 200


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.slow
async def test_a_burst_of_logins_hashes_a_bounded_number_of_passwords_at_once(
    start_service: Callable[..., ServiceProcess],
) -> None:
    # Given a fresh API process that has hashed one password already
    api, url = start_api(start_service)
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        assert (await _login(client, "warm-up@example.com", "guess")).status_code == 401
        before = _kib(api.pid, "VmRSS")
        # When 12 logins arrive at once (no account needed: unknown emails are hashed too)
        burst = [_login(client, f"burst-{uuid.uuid4().hex[:6]}@example.com", "guess") for _ in range(12)]
        answers = await asyncio.gather(*burst)
    # Then all are answered
    assert [r.status_code for r in answers] == [401] * 12
    # And the process never held more than a few 64 MiB hashes at once (12 at once would be ~770 MiB more)
    grew_mib = (_kib(api.pid, "VmHWM") - before) / 1024
    assert grew_mib < 64 * 4, f"peak memory grew {grew_mib:.0f} MiB during the burst"
    api.stop()
