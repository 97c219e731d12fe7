"""Another site cannot make a logged-in browser change anything: cross-site state changes with the session
cookie are refused (Origin / Sec-Fetch-Site), JSON endpoints take only JSON, and API-key clients are unaffected."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.conftest import ApiUser

EVIL = "https://evil.example"
JOB_JSON = '{"kind": "test_noop", "params": {"n": 1}}'


def counts(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            "jobs": conn.execute(text("SELECT count(*) FROM jobs")).scalar_one(),
            "queued": conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'queued'")).scalar_one(),
            "keys": conn.execute(text("SELECT count(*) FROM api_keys")).scalar_one(),
            "secrets": conn.execute(
                text("SELECT count(*) FROM notification_preferences WHERE webhook_secret IS NOT NULL")
            ).scalar_one(),
            "sessions": conn.execute(text("SELECT count(*) FROM user_sessions")).scalar_one(),
        }


@pytest.fixture
async def browser(
    api_url: str, make_user: Callable[..., Awaitable[ApiUser]]
) -> AsyncIterator[tuple[httpx.AsyncClient, ApiUser]]:
    """A client holding a logged-in session cookie (and no API key), as a browser does."""
    user = await make_user(password="a long password")
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        login = await client.post("/api/auth/login", json={"email": user.email, "password": "a long password"})
        assert login.status_code == 200, login.text
        yield client, user


def cross_site_requests(job_id: str, key_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """What a page on another site can make a browser send without a CORS preflight."""
    return [
        ("POST", "/api/jobs", {"content": JOB_JSON, "headers": {"Content-Type": "text/plain"}}),
        ("POST", "/api/jobs", {"data": {"kind": "test_noop"}}),  # form-urlencoded
        ("POST", "/api/jobs", {"files": {"kind": (None, "test_noop")}}),  # multipart
        ("POST", f"/api/jobs/{job_id}/retry", {}),
        ("DELETE", f"/api/jobs/{job_id}", {}),
        ("POST", "/api/me/notifications/webhook-secret", {}),
        ("PUT", "/api/me/notifications", {"content": '{"channel": null, "to": null}'}),
        ("POST", "/api/keys", {"content": '{"name": "stolen"}', "headers": {"Content-Type": "text/plain"}}),
        ("DELETE", f"/api/keys/{key_id}", {}),
        ("POST", "/api/auth/logout", {}),
    ]


@pytest.mark.parametrize(
    "site_headers",
    [
        {"Origin": EVIL},
        {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
        # A sibling subdomain is "same-site" (SameSite=Lax cookies go along) but not this origin
        {"Origin": "https://other.127.0.0.1.nip.io", "Sec-Fetch-Site": "same-site"},
        {"Origin": "null"},
        # Basic credentials are ambient (a browser adds them behind HTTP authentication): no exemption
        {"Origin": EVIL, "Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
async def test_cross_site_state_changes_with_the_cookie_are_refused(
    browser: tuple[httpx.AsyncClient, ApiUser], db_engine: Engine, site_headers: dict[str, str]
) -> None:
    client, user = browser
    # Given a failed-and-retryable job and a key of the logged-in user
    job = await user.client.post("/api/jobs", json={"kind": "test_noop"})
    assert job.status_code == 202, job.text
    with db_engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET status = 'failed'"))
        key_id = conn.execute(text("SELECT id::text FROM api_keys")).scalar_one()
    before = counts(db_engine)
    # When a page on another site makes the browser send each state-changing request
    for method, path, kwargs in cross_site_requests(job.json()["id"], key_id):
        headers = {**kwargs.pop("headers", {}), **site_headers}
        response = await client.request(method, path, headers=headers, **kwargs)
        # Then each is refused, saying why
        assert response.status_code == 403, (method, path, response.text)
        error = response.json()["error"]
        assert error["code"] == "cross_site_request", error
    # And nothing changed: no job created or retried, no key made or revoked, no secret, still logged in
    assert counts(db_engine) == before
    assert (await client.get("/api/me")).status_code == 200


async def test_the_sites_own_pages_still_work_with_the_cookie(
    browser: tuple[httpx.AsyncClient, ApiUser], api_url: str, db_engine: Engine
) -> None:
    client, _ = browser
    for site_headers in (
        {"Origin": api_url, "Sec-Fetch-Site": "same-origin"},
        {"Origin": api_url},  # a browser without Fetch Metadata
        {},  # no browser at all
    ):
        created = await client.post("/api/jobs", json={"kind": "test_noop"}, headers=site_headers)
        assert created.status_code == 202, created.text
        key = await client.post("/api/keys", json={"name": "mine"}, headers=site_headers)
        assert key.status_code == 201, key.text


async def test_json_endpoints_take_only_json_even_from_this_site(
    browser: tuple[httpx.AsyncClient, ApiUser], api_url: str, db_engine: Engine
) -> None:
    client, _ = browser
    same = {"Origin": api_url, "Sec-Fetch-Site": "same-origin"}
    for path, kwargs in (
        ("/api/jobs", {"content": JOB_JSON, "headers": {**same, "Content-Type": "text/plain"}}),
        ("/api/jobs", {"content": JOB_JSON, "headers": same}),
        ("/api/jobs", {"data": {"kind": "test_noop"}, "headers": same}),
        ("/api/keys", {"files": {"name": (None, "mine")}, "headers": same}),
    ):
        response = await client.post(path, **kwargs)
        assert response.status_code == 415, response.text
        assert response.json()["error"]["code"] == "unsupported_media_type"
    # createJob also takes multipart (jobs with files): a kind that takes no files is refused for that reason
    files = await client.post("/api/jobs", files={"kind": (None, "test_noop"), "params": (None, "{}")}, headers=same)
    assert files.status_code == 400, files.text
    assert counts(db_engine)["jobs"] == 0
    # A JSON media type with a suffix or parameters is JSON
    ok = await client.post(
        "/api/jobs", content=JOB_JSON, headers={**same, "Content-Type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 202, ok.text


async def test_api_key_requests_are_not_subject_to_the_origin_check(
    make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    user = await make_user()
    response = await user.client.post(
        "/api/jobs", json={"kind": "test_noop"}, headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 202, response.text
    # But they too must send JSON as JSON
    plain = await user.client.post("/api/jobs", content=JOB_JSON, headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415, plain.text


async def test_login_from_another_site_is_refused(
    api_url: str, make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    # Login CSRF: another site logging the browser into the attacker's account
    user = await make_user(password="a long password")
    body = {"email": user.email, "password": "a long password"}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        refused = await client.post("/api/auth/login", json=body, headers={"Origin": EVIL})
        assert refused.status_code == 403, refused.text
        form = await client.post("/api/auth/login", data=body)
        assert form.status_code == 415, form.text
    assert counts(db_engine)["sessions"] == 0
