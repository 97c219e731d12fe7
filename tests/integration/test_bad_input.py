"""Bad bytes get a 400 naming the field, never a 500, and nothing reaches Postgres: a NUL in any field (Postgres
cannot store one), JSON nested a thousand deep, invalid UTF-8 in a body or a query."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.conftest import ApiUser

NUL = "\u0000"
JSON = {"Content-Type": "application/json"}


def stored(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("jobs", "api_keys", "notification_preferences", "user_sessions")
        }


def assert_refused(response: httpx.Response, field: str, code: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    error = body["error"]
    assert error["code"] in (code, "invalid_tool_arguments"), error
    details = error["details"]["errors"] if isinstance(error["details"], dict) else error["details"]
    assert field in [d["field"] for d in details], error
    assert field in error["message"], error


@pytest.fixture
async def user(make_user: Callable[..., Awaitable[ApiUser]]) -> ApiUser:
    return await make_user()


@pytest.fixture
async def anonymous(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client


NUL_CASES: list[tuple[str, str, str, Any]] = [
    ("idempotency_key", "POST", "/api/jobs", {"kind": "test_noop", "idempotency_key": f"k{NUL}1"}),
    (
        "params.include_paths[0]",
        "POST",
        "/api/jobs",
        {"kind": "llms_txt", "params": {"url": "https://example.com/", "include_paths": [f"/docs{NUL}/*"]}},
    ),
    ("name", "POST", "/api/keys", {"name": f"ci{NUL}"}),
    (
        "params.notify.to",
        "POST",
        "/api/jobs",
        {"kind": "test_notify", "params": {"notify": {"channel": "email", "to": f"a{NUL}@example.com"}}},
    ),
    ("to", "PUT", "/api/me/notifications", {"channel": "email", "to": f"me{NUL}@example.com"}),
    (
        "arguments.url",
        "POST",
        "/api/tools/openai/call",
        {"name": "generate_llms_txt", "arguments": json.dumps({"url": f"https://example.com/{NUL}"})},
    ),
    ("params.n\\u0000", "POST", "/api/jobs", {"kind": "test_noop", "params": {f"n{NUL}": 1}}),
]


@pytest.mark.parametrize(("field", "method", "path", "body"), NUL_CASES, ids=[c[0] for c in NUL_CASES])
async def test_a_nul_in_a_body_field_is_a_400_naming_it(
    user: ApiUser, db_engine: Engine, field: str, method: str, path: str, body: Any
) -> None:
    before = stored(db_engine)
    response = await user.client.request(method, path, json=body)
    assert_refused(response, field, "invalid_text")
    assert stored(db_engine) == before


async def test_a_nul_in_the_login_email_or_a_query_is_a_400(
    user: ApiUser, anonymous: httpx.AsyncClient, db_engine: Engine
) -> None:
    login = await anonymous.post("/api/auth/login", json={"email": f"a{NUL}@example.com", "password": "x"})
    assert_refused(login, "email", "invalid_text")
    assert_refused(await user.client.get("/api/jobs", params={"kind": f"test{NUL}"}), "kind", "invalid_text")
    assert_refused(await user.client.get("/api/jobs?status=queued&kind=a%00b"), "kind", "invalid_text")
    assert stored(db_engine)["user_sessions"] == 0


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
async def test_deeply_nested_json_is_a_400(
    user: ApiUser, anonymous: httpx.AsyncClient, db_engine: Engine, depth: int
) -> None:
    deep = "[" * depth + "]" * depth
    job = await user.client.post(
        "/api/jobs", content=f'{{"kind": "test_noop", "params": {{"x": {deep}}}}}', headers=JSON
    )
    assert job.status_code == 400, job.text
    assert job.json()["error"]["code"] == "too_deeply_nested"
    login = await anonymous.post("/api/auth/login", content=f'{{"email": {deep}, "password": "x"}}', headers=JSON)
    assert login.status_code == 400, login.text
    assert login.json()["error"]["code"] == "too_deeply_nested"
    assert stored(db_engine)["jobs"] == 0


async def test_invalid_utf8_is_a_400(user: ApiUser, anonymous: httpx.AsyncClient, db_engine: Engine) -> None:
    body = b'{"kind": "test_noop", "idempotency_key": "\xff\xfe"}'
    response = await user.client.post("/api/jobs", content=body, headers=JSON)
    assert_refused(response, "body", "invalid_utf8")
    login = await anonymous.post("/api/auth/login", content=b'{"email": "\xc3@x.com", "password": "x"}', headers=JSON)
    assert_refused(login, "body", "invalid_utf8")
    assert_refused(await user.client.get("/api/jobs?kind=%ff%fe"), "kind", "invalid_utf8")
    assert stored(db_engine)["jobs"] == 0
