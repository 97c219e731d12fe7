"""Authentication against the real API: API keys for clients, the session cookie for browsers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.conftest import ApiUser

SESSION_COOKIE = "genjobs_session"


@pytest.fixture
async def anonymous(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no credentials; it keeps the cookies the API sets."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])


async def test_requests_without_credentials_are_401(anonymous: httpx.AsyncClient) -> None:
    for method, path in [("GET", "/api/me"), ("GET", "/api/jobs"), ("POST", "/api/jobs"), ("GET", "/api/keys")]:
        error = assert_error(await anonymous.request(method, path), 401, "unauthorized")
        assert "Bearer" in str(error["message"])


@pytest.mark.parametrize(
    "header", ["Bearer gj_not-a-real-key", "Bearer", "Basic dXNlcjpwYXNz", "gj_key-without-scheme"]
)
async def test_bad_credentials_are_401(anonymous: httpx.AsyncClient, header: str) -> None:
    response = await anonymous.get("/api/me", headers={"Authorization": header})
    assert_error(response, 401, "unauthorized")


async def test_a_valid_key_identifies_the_user(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    user = await make_user()
    response = await user.client.get("/api/me")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": str(user.id),
        "email": user.email,
        "is_admin": False,
        "authenticated_via": "api_key",
    }


async def test_health_needs_no_credentials(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/api/health")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


async def test_login_sets_an_http_only_lax_cookie_that_authenticates(
    make_user: Callable[..., Awaitable[ApiUser]], anonymous: httpx.AsyncClient
) -> None:
    # Given a user with a password
    user = await make_user(password="a long password")
    # When they log in (with the email in another case, as people type it)
    response = await anonymous.post(
        "/api/auth/login", json={"email": user.email.upper(), "password": "a long password"}
    )
    # Then they get their identity and a session cookie browsers keep away from scripts and other sites
    assert response.status_code == 200, response.text
    assert response.json() == {"user": {"id": str(user.id), "email": user.email, "is_admin": False}}
    [set_cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in set_cookie.split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/"
    assert int(attributes["max-age"].split("=")[1]) > 0
    assert anonymous.cookies.get(SESSION_COOKIE)
    # And the cookie alone authenticates the API, jobs included
    me = await anonymous.get("/api/me")
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(user.id)
    assert me.json()["authenticated_via"] == "session"
    listed = await anonymous.get("/api/jobs")
    assert listed.status_code == 200, listed.text
    created = await anonymous.post("/api/jobs", json={"kind": "test_noop", "params": {"n": 1}})
    assert created.status_code == 202, created.text
    assert (await user.client.get(f"/api/jobs/{created.json()['id']}")).status_code == 200


@pytest.mark.parametrize("known_email", [True, False])
async def test_a_wrong_password_or_unknown_email_is_401_without_a_cookie(
    make_user: Callable[..., Awaitable[ApiUser]], anonymous: httpx.AsyncClient, known_email: bool
) -> None:
    user = await make_user(password="the right one")
    email = user.email if known_email else f"nobody-{uuid.uuid4().hex[:6]}@example.com"
    response = await anonymous.post("/api/auth/login", json={"email": email, "password": "the wrong one"})
    error = assert_error(response, 401, "invalid_credentials")
    # The same answer either way: the response does not tell which accounts exist.
    assert error["message"] == "The email or password is wrong."
    assert not response.headers.get_list("set-cookie")
    assert (await anonymous.get("/api/me")).status_code == 401


async def test_malformed_login_is_400(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post("/api/auth/login", json={"email": "someone@example.com"})
    error = assert_error(response, 400, "bad_request")
    assert "password" in str(error["message"]) + str(error["details"])


async def test_logout_invalidates_the_session(
    make_user: Callable[..., Awaitable[ApiUser]], anonymous: httpx.AsyncClient, api_url: str, db_engine: Engine
) -> None:
    # Given a logged-in browser
    user = await make_user()
    assert (await anonymous.post("/api/auth/login", json={"email": user.email, "password": user.password})).is_success
    token = anonymous.cookies[SESSION_COOKIE]
    assert (await anonymous.get("/api/me")).status_code == 200
    # When it logs out
    response = await anonymous.post("/api/auth/logout")
    # Then the cookie is cleared in the browser
    assert response.status_code == 204, response.text
    cleared = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")]
    assert cleared and "max-age=0" in cleared[0].lower()
    assert (await anonymous.get("/api/me")).status_code == 401
    # And a copy of the old token no longer works anywhere
    async with httpx.AsyncClient(base_url=api_url, cookies={SESSION_COOKIE: token}) as replay:
        assert_error(await replay.get("/api/me"), 401, "unauthorized")
        assert_error(await replay.get("/api/jobs"), 401, "unauthorized")
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_sessions")).scalar_one() == 0


async def test_a_forged_session_cookie_is_401(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url, cookies={SESSION_COOKIE: "forged"}) as client:
        assert_error(await client.get("/api/me"), 401, "unauthorized")


async def test_api_key_is_shown_once_listed_by_prefix_and_revocable(
    make_user: Callable[..., Awaitable[ApiUser]], api_url: str, db_engine: Engine
) -> None:
    # Given a user
    user = await make_user()
    # When they create a second key
    created = await user.client.post("/api/keys", json={"name": "ci"})
    # Then they see the key once
    assert created.status_code == 201, created.text
    new = created.json()
    assert set(new) == {"id", "name", "key"}
    assert new["name"] == "ci"
    key = new["key"]
    assert key.startswith("gj_") and len(key) > 30
    # And the key works
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {key}"}) as ci:
        me = await ci.get("/api/me")
        assert me.status_code == 200 and me.json()["id"] == str(user.id)
        # And listing keys shows only prefixes, never a key
        listed = await user.client.get("/api/keys")
        assert listed.status_code == 200, listed.text
        assert key not in listed.text and user.api_key not in listed.text
        by_name = {k["name"]: k for k in listed.json()}
        assert set(by_name) == {"default", "ci"}
        assert set(by_name["ci"]) == {"id", "name", "prefix", "created_at", "revoked_at"}
        assert by_name["ci"]["id"] == new["id"]
        assert key.startswith(by_name["ci"]["prefix"]) and len(by_name["ci"]["prefix"]) < len(key) // 2
        assert by_name["ci"]["revoked_at"] is None
        # And the database holds no key either
        with db_engine.connect() as conn:
            stored = conn.execute(text("SELECT prefix, key_hash FROM api_keys")).all()
        assert all(key not in (prefix, key_hash) for prefix, key_hash in stored)
        # When the key is revoked
        revoked = await user.client.delete(f"/api/keys/{new['id']}")
        # Then it no longer authenticates, and the list says when it was revoked
        assert revoked.status_code == 204, revoked.text
        assert_error(await ci.get("/api/me"), 401, "unauthorized")
        assert_error(await ci.get("/api/jobs"), 401, "unauthorized")
    relisted = {k["name"]: k for k in (await user.client.get("/api/keys")).json()}
    assert relisted["ci"]["revoked_at"] is not None
    assert relisted["default"]["revoked_at"] is None
    # And the other key still works; revoking twice is a 404
    assert (await user.client.get("/api/me")).status_code == 200
    assert_error(await user.client.delete(f"/api/keys/{new['id']}"), 404, "not_found")


async def test_a_user_cannot_revoke_or_see_another_users_key(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    alice, mallory = await make_user(), await make_user()
    [alice_key] = (await alice.client.get("/api/keys")).json()
    assert alice_key["id"] not in (await mallory.client.get("/api/keys")).text
    assert_error(await mallory.client.delete(f"/api/keys/{alice_key['id']}"), 404, "not_found")
    assert (await alice.client.get("/api/me")).status_code == 200


async def test_revoking_the_key_in_use_locks_that_client_out(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    user = await make_user()
    [key] = (await user.client.get("/api/keys")).json()
    assert (await user.client.delete(f"/api/keys/{key['id']}")).status_code == 204
    assert_error(await user.client.get("/api/me"), 401, "unauthorized")
