"""The jobs resource over HTTP: create, validate, list, read, delete, retry, history, and owner scoping."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine, text

from tests.conftest import ApiUser
from tests.support.services import ServiceProcess

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "expired"}


async def create(client: httpx.AsyncClient, kind: str = "test_noop", **body: Any) -> dict[str, Any]:
    response = await client.post("/api/jobs", json={"kind": kind, **body})
    assert response.status_code == 202, response.text
    return dict(response.json())


async def wait_for(
    client: httpx.AsyncClient, job_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 20
) -> dict[str, Any]:
    """Poll GET /api/jobs/{id} until ``done(job)``; fail with the last snapshot at the deadline."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await client.get(f"/api/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        if done(job):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not reach the expected state within {timeout} s: {job}")


async def wait_terminal(client: httpx.AsyncClient, job_id: str, timeout: float = 20) -> dict[str, Any]:
    return await wait_for(client, job_id, lambda job: job["status"] in TERMINAL, timeout)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    return dict(body["error"])


def count(db_engine: Engine, sql: str, **params: Any) -> int:
    with db_engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value} has no timezone"
    return parsed


# -- create -------------------------------------------------------------------------------------------


async def test_create_answers_202_with_the_id_and_links(
    make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    user = await make_user()
    before = time.time()
    response = await user.client.post("/api/jobs", json={"kind": "test_noop", "params": {"n": 3}})
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"id", "kind", "status", "created_at", "links"}
    job_id = str(uuid.UUID(body["id"]))
    assert body["kind"] == "test_noop"
    assert body["status"] == "queued"
    assert abs(parse_time(body["created_at"]).timestamp() - before) < 30
    assert body["links"] == {
        "self": f"/api/jobs/{job_id}",
        "events": f"/api/jobs/{job_id}/events",
        "history": f"/api/jobs/{job_id}/history",
    }
    assert response.headers["location"] == f"/api/jobs/{job_id}"
    assert count(db_engine, "SELECT count(*) FROM jobs WHERE id = :id AND owner_id = :owner", id=job_id, owner=user.id)


async def test_unknown_kind_is_400_naming_the_known_kinds(
    make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    user = await make_user()
    error = assert_error(await user.client.post("/api/jobs", json={"kind": "make_coffee"}), 400, "unknown_kind")
    assert "make_coffee" in error["message"]
    for kind in ("test_sleep", "test_timeout", "test_noop"):
        assert kind in error["message"]
        assert kind in error["details"]["known_kinds"]
    assert count(db_engine, "SELECT count(*) FROM jobs") == 0


async def test_invalid_params_are_400_listing_each_wrong_field(
    make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    # Given params with two wrong fields and an unknown one
    user = await make_user()
    params = {"steps": "many", "delay": -1, "colour": "red", "label": "fine"}
    # When the job is created
    response = await user.client.post("/api/jobs", json={"kind": "test_sleep", "params": params})
    # Then all three are reported, each with its own message
    error = assert_error(response, 400, "invalid_params")
    by_field = {e["field"]: e["message"] for e in error["details"]}
    assert set(by_field) == {"steps", "delay", "colour"}
    assert "int" in by_field["steps"]
    assert ">= 0" in by_field["delay"]
    assert by_field["colour"] == "unknown field"
    for field in by_field:
        assert field in error["message"]
    # And nothing is stored
    assert count(db_engine, "SELECT count(*) FROM jobs") == 0
    assert count(db_engine, "SELECT count(*) FROM job_events") == 0


async def test_bad_priority_and_unknown_body_fields_are_400(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    user = await make_user()
    error = assert_error(
        await user.client.post("/api/jobs", json={"kind": "test_noop", "priority": "urgent"}), 400, "bad_request"
    )
    assert "priority" in error["message"]
    error = assert_error(
        await user.client.post("/api/jobs", json={"kind": "test_noop", "colour": 1}), 400, "bad_request"
    )
    assert "colour" in error["message"]
    error = assert_error(await user.client.post("/api/jobs", json={"params": {}}), 400, "bad_request")
    assert "kind" in error["message"]


async def test_priority_picks_the_queue(make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine) -> None:
    user = await make_user()
    queues = {}
    for priority in ("high", "normal", "low"):
        job = await create(user.client, "test_noop", priority=priority)
        with db_engine.connect() as conn:
            queues[priority] = conn.execute(text("SELECT queue FROM jobs WHERE id = :id"), {"id": job["id"]}).scalar()
    assert queues == {"high": "noop.high", "normal": "noop", "low": "noop.low"}


async def test_idempotency_key_returns_the_same_job_once(
    make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    # Given a job created with an idempotency key
    user = await make_user()
    body = {"kind": "test_sleep", "params": {"steps": 1, "label": "once"}, "idempotency_key": "order-42"}
    first = await user.client.post("/api/jobs", json=body)
    assert first.status_code == 202, first.text
    # When the same request is sent again (a client retrying after a timeout)
    again = await user.client.post("/api/jobs", json=body)
    # Then it answers 200 with the same job, and only one row exists
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert count(db_engine, "SELECT count(*) FROM jobs") == 1
    # When the key is reused for different params
    other = {**body, "params": {"steps": 2, "label": "once"}}
    # Then it is a conflict naming the existing job, and still one row
    error = assert_error(await user.client.post("/api/jobs", json=other), 409, "idempotency_key_reused")
    assert error["details"]["job_id"] == first.json()["id"]
    assert count(db_engine, "SELECT count(*) FROM jobs") == 1


async def test_idempotency_keys_are_per_user(make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine) -> None:
    alice, bob = await make_user(), await make_user()
    body = {"kind": "test_noop", "idempotency_key": "same-key"}
    a = await alice.client.post("/api/jobs", json=body)
    b = await bob.client.post("/api/jobs", json=body)
    assert (a.status_code, b.status_code) == (202, 202)
    assert a.json()["id"] != b.json()["id"]
    assert count(db_engine, "SELECT count(*) FROM jobs") == 2


# -- list ---------------------------------------------------------------------------------------------


async def test_list_is_paginated_newest_first(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    # Given seven jobs
    user = await make_user()
    ids = [(await create(user.client, "test_noop", params={"n": n}))["id"] for n in range(7)]
    # When the first page of five is read
    page1 = await user.client.get("/api/jobs", params={"page": 1, "per_page": 5})
    # Then it holds the five newest, and the totals
    assert page1.status_code == 200, page1.text
    body1 = page1.json()
    assert (body1["total"], body1["pages"], body1["page"], body1["per_page"]) == (7, 2, 1, 5)
    assert [j["id"] for j in body1["items"]] == ids[::-1][:5]
    # And the second page holds the remaining two
    body2 = (await user.client.get("/api/jobs", params={"page": 2, "per_page": 5})).json()
    assert (body2["total"], body2["pages"], body2["page"]) == (7, 2, 2)
    assert [j["id"] for j in body2["items"]] == ids[::-1][5:]
    # And past the end is empty, not an error
    body3 = (await user.client.get("/api/jobs", params={"page": 3, "per_page": 5})).json()
    assert body3["items"] == [] and body3["total"] == 7


async def test_list_filters_by_status_and_kind(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess
) -> None:
    # Given a succeeded noop, a failed sleep and a succeeded sleep
    user = await make_user()
    noop = await create(user.client, "test_noop")
    failed = await create(user.client, "test_sleep", params={"fail_permanently": True})
    slept = await create(user.client, "test_sleep", params={"steps": 1, "delay": 0})
    for job in (noop, failed, slept):
        await wait_terminal(user.client, job["id"])

    async def ids(**query: str) -> set[str]:
        response = await user.client.get("/api/jobs", params=query)
        assert response.status_code == 200, response.text
        assert response.json()["total"] == len(response.json()["items"])
        return {j["id"] for j in response.json()["items"]}

    # Then each filter, and both together, select exactly the matching jobs
    assert await ids(status="succeeded") == {noop["id"], slept["id"]}
    assert await ids(status="failed") == {failed["id"]}
    assert await ids(kind="test_sleep") == {failed["id"], slept["id"]}
    assert await ids(kind="test_sleep", status="succeeded") == {slept["id"]}
    assert await ids(status="queued") == set()
    assert await ids(kind="make_coffee") == set()


async def test_list_rejects_bad_query_values(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    user = await make_user()
    error = assert_error(await user.client.get("/api/jobs", params={"status": "done"}), 400, "invalid_status")
    assert "done" in error["message"] and "succeeded" in error["message"]
    assert "succeeded" in error["details"]["allowed"]
    error = assert_error(await user.client.get("/api/jobs", params={"per_page": 101}), 400, "bad_request")
    assert "per_page" in error["message"]
    assert_error(await user.client.get("/api/jobs", params={"page": 0}), 400, "bad_request")
    assert_error(await user.client.get("/api/jobs", params={"per_page": 0}), 400, "bad_request")
    assert_error(await user.client.get("/api/jobs", params={"page": "two"}), 400, "bad_request")
    assert (await user.client.get("/api/jobs", params={"per_page": 100})).status_code == 200


# -- read ---------------------------------------------------------------------------------------------


async def test_snapshot_of_a_finished_job(make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess) -> None:
    # Given a job that ran to the end
    user = await make_user()
    created = await create(user.client, "test_sleep", params={"steps": 3, "delay": 0.02, "label": "snap"})
    # When it is read after it finished
    job = await wait_terminal(user.client, created["id"])
    # Then the snapshot has its progress, result, attempts and timings
    assert job["status"] == "succeeded", job
    assert job["id"] == created["id"] and job["kind"] == "test_sleep"
    assert job["progress"] == {"done": 3, "total": 3, "percent": 100.0, "step": "working"}
    assert job["result"] == {"steps": 3, "attempt": 1, "label": "snap"}
    assert job["error"] is None
    assert job["attempts"] == 1
    assert job["max_attempts"] == 4
    assert job["title"] == "snap"
    assert job["priority"] == "normal"
    assert job["params"] == {
        "steps": 3,
        "delay": 0.02,
        "fail_times": 0,
        "fail_permanently": False,
        "stuck": False,
        "label": "snap",
    }
    created_at, started_at, finished_at = (parse_time(job[k]) for k in ("created_at", "started_at", "finished_at"))
    assert created_at <= started_at <= finished_at
    assert job["links"] == created["links"]


async def test_snapshot_of_a_failed_job_has_the_error(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess
) -> None:
    user = await make_user()
    created = await create(user.client, "test_sleep", params={"fail_permanently": True})
    job = await wait_terminal(user.client, created["id"])
    assert job["status"] == "failed"
    assert job["error"] == "the input cannot be processed (test)"
    assert job["result"] is None
    assert job["attempts"] == 1
    assert job["finished_at"] is not None


async def test_unknown_job_is_404(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    user = await make_user()
    assert_error(await user.client.get(f"/api/jobs/{uuid.uuid4()}"), 404, "job_not_found")
    assert (await user.client.get("/api/jobs/not-a-uuid")).status_code in (400, 404)


# -- owner scoping ------------------------------------------------------------------------------------


async def test_another_users_job_is_404_everywhere(
    make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    # Given Alice's job
    alice, mallory = await make_user(), await make_user()
    job = await create(alice.client, "test_noop")
    path = f"/api/jobs/{job['id']}"
    # When Mallory reaches for it in every way
    attempts = {
        "get": await mallory.client.get(path),
        "delete": await mallory.client.delete(path),
        "retry": await mallory.client.post(f"{path}/retry"),
        "history": await mallory.client.get(f"{path}/history"),
        "events": await mallory.client.get(f"{path}/events"),
    }
    # Then each is a 404 (never a 403, which would confirm the job exists)
    for name, response in attempts.items():
        assert response.status_code == 404, f"{name}: {response.status_code} {response.text}"
        assert response.json()["error"]["code"] == "job_not_found", name
    assert (await mallory.client.get("/api/jobs")).json()["total"] == 0
    # And Alice's job is untouched
    assert (await alice.client.get(path)).status_code == 200
    assert count(db_engine, "SELECT count(*) FROM jobs WHERE deleted_at IS NULL") == 1
    assert count(db_engine, "SELECT count(*) FROM job_events WHERE type = 'deleted'") == 0


async def test_an_admin_sees_every_users_jobs(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    alice, admin = await make_user(), await make_user(admin=True)
    job = await create(alice.client, "test_noop")
    response = await admin.client.get(f"/api/jobs/{job['id']}")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == job["id"]
    assert job["id"] in {j["id"] for j in (await admin.client.get("/api/jobs")).json()["items"]}
    assert (await admin.client.get(f"/api/jobs/{job['id']}/history")).status_code == 200


# -- delete -------------------------------------------------------------------------------------------


async def test_delete_hides_the_job_but_keeps_its_history(
    make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    # Given a job
    user = await make_user()
    job = await create(user.client, "test_sleep", params={"steps": 1000, "delay": 0.05})
    # When it is deleted
    response = await user.client.delete(f"/api/jobs/{job['id']}")
    # Then it is gone from the API
    assert response.status_code == 204, response.text
    assert_error(await user.client.get(f"/api/jobs/{job['id']}"), 404, "job_not_found")
    listed = (await user.client.get("/api/jobs")).json()
    assert listed["total"] == 0 and listed["items"] == []
    assert_error(await user.client.delete(f"/api/jobs/{job['id']}"), 404, "job_not_found")
    # But its audit trail stays in the database, ending with the cancel and the deletion
    with db_engine.connect() as conn:
        types = conn.execute(
            text("SELECT type, to_status FROM job_events WHERE job_id = :id ORDER BY id"), {"id": job["id"]}
        ).all()
        status = conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": job["id"]}).scalar_one()
    assert types[0] == ("created", "queued")
    assert ("status", "cancelled") in types
    assert types[-1] == ("deleted", None)
    assert status == "cancelled"


# -- retry --------------------------------------------------------------------------------------------


async def test_retry_of_a_succeeded_job_is_409(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess
) -> None:
    user = await make_user()
    job = await create(user.client, "test_noop")
    assert (await wait_terminal(user.client, job["id"]))["status"] == "succeeded"
    error = assert_error(await user.client.post(f"/api/jobs/{job['id']}/retry"), 409, "not_retryable")
    assert "succeeded" in error["message"]
    assert (await user.client.get(f"/api/jobs/{job['id']}")).json()["status"] == "succeeded"


async def test_retry_of_an_active_job_is_409(make_user: Callable[..., Awaitable[ApiUser]]) -> None:
    # A long job is queued, or running if a worker of the session picked it up: neither is retryable.
    user = await make_user()
    job = await create(user.client, "test_sleep", params={"steps": 1000, "delay": 0.05})
    error = assert_error(await user.client.post(f"/api/jobs/{job['id']}/retry"), 409, "not_retryable")
    assert error["details"]["status"] in ("queued", "running")
    assert (await user.client.delete(f"/api/jobs/{job['id']}")).status_code == 204


async def test_retry_runs_a_failed_job_again(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess
) -> None:
    # Given a job that failed permanently
    user = await make_user()
    job = await create(user.client, "test_sleep", params={"fail_permanently": True})
    failed = await wait_terminal(user.client, job["id"])
    assert failed["status"] == "failed" and failed["attempts"] == 1
    # When the user retries it
    response = await user.client.post(f"/api/jobs/{job['id']}/retry")
    # Then it is queued again with its error cleared
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    assert response.json()["error"] is None
    assert response.json()["finished_at"] is None
    assert response.json()["attempts"] == 0
    # And a worker runs it once more, with a fresh set of attempts
    again = await wait_for(user.client, job["id"], lambda j: j["status"] in TERMINAL and j["attempts"] == 1)
    assert again["status"] == "failed"
    # And the history shows the requeue between the two runs
    history = (await user.client.get(f"/api/jobs/{job['id']}/history")).json()
    transitions = [(e["from_status"], e["to_status"]) for e in history if e["type"] in ("created", "status")]
    assert transitions == [
        (None, "queued"),
        ("queued", "running"),
        ("running", "failed"),
        ("failed", "queued"),
        ("queued", "running"),
        ("running", "failed"),
    ]
    [requeue] = [e for e in history if (e["from_status"], e["to_status"]) == ("failed", "queued")]
    assert requeue["actor"] == f"user:{user.id}"
    assert requeue["detail"] == {"reason": "retried by user"}


async def test_two_retries_at_once_requeue_the_job_once(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess, db_engine: Engine
) -> None:
    # Given a failed job
    user = await make_user()
    # (each run takes about a second before it fails: the second retry sees the first one's run)
    job = await create(user.client, "test_sleep", params={"fail_permanently": True, "steps": 20, "delay": 0.05})
    assert (await wait_terminal(user.client, job["id"]))["status"] == "failed"
    # When two retries arrive together (a double click)
    responses = await asyncio.gather(*(user.client.post(f"/api/jobs/{job['id']}/retry") for _ in range(2)))
    # Then one wins and the other is told the job is no longer retryable
    assert sorted(r.status_code for r in responses) == [202, 409], [r.text for r in responses]
    # And the job runs exactly once more
    again = await wait_for(user.client, job["id"], lambda j: j["status"] in TERMINAL and j["attempts"] == 1)
    await asyncio.sleep(0.5)
    assert (await user.client.get(f"/api/jobs/{job['id']}")).json()["attempts"] == again["attempts"] == 1
    assert count(db_engine, "SELECT count(*) FROM job_events WHERE to_status = 'queued'") == 2
    assert count(db_engine, "SELECT count(*) FROM job_events WHERE to_status = 'running'") == 2


# -- history ------------------------------------------------------------------------------------------


async def test_history_is_oldest_first(make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess) -> None:
    # Given a job that ran to success
    user = await make_user()
    job = await create(user.client, "test_sleep", params={"steps": 2, "delay": 0.01})
    await wait_terminal(user.client, job["id"])
    # When its history is read
    response = await user.client.get(f"/api/jobs/{job['id']}/history")
    # Then it lists created -> running -> succeeded, oldest first, each with who did it
    assert response.status_code == 200, response.text
    history = response.json()
    changes = [e for e in history if e["type"] in ("created", "status")]
    assert [(e["type"], e["from_status"], e["to_status"]) for e in changes] == [
        ("created", None, "queued"),
        ("status", "queued", "running"),
        ("status", "running", "succeeded"),
    ]
    times = [parse_time(e["at"]) for e in history]
    assert times == sorted(times)
    assert changes[0]["actor"] == f"user:{user.id}"
    assert changes[0]["detail"] == {"kind": "test_sleep", "priority": "normal"}
    assert changes[1]["actor"].startswith("worker:")
    assert changes[2]["actor"] == changes[1]["actor"]
    # And the step the job reported is a milestone between running and succeeded
    steps = [e for e in history if e["type"] == "step"]
    assert [e["detail"]["step"] for e in steps] == ["working"]
    assert history.index(changes[1]) < history.index(steps[0]) < history.index(changes[2])


async def test_concurrent_requests_with_one_idempotency_key_make_one_job(
    make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    # Given a client that fires the same request several times at once (a retry storm)
    user = await make_user()
    body = {"kind": "test_noop", "params": {"n": 7}, "idempotency_key": "storm"}
    # When they all arrive together
    responses = await asyncio.gather(*(user.client.post("/api/jobs", json=body) for _ in range(8)))
    # Then exactly one created the job and all the others point at it
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [202], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert count(db_engine, "SELECT count(*) FROM jobs") == 1
    assert count(db_engine, "SELECT count(*) FROM job_events WHERE type = 'created'") == 1


async def test_reusing_the_idempotency_key_of_a_deleted_job_never_answers_with_a_dead_link(
    make_user: Callable[..., Awaitable[ApiUser]],
) -> None:
    # Given a job created with an idempotency key, then deleted
    user = await make_user()
    body = {"kind": "test_noop", "idempotency_key": "deleted-later"}
    first = await create(user.client, **body)
    assert (await user.client.delete(f"/api/jobs/{first['id']}")).status_code == 204
    # When the same request is sent again
    again = await user.client.post("/api/jobs", json=body)
    # Then the answer is either a clear error or a job the caller can read; never an id that is a 404
    if again.status_code in (200, 202):
        assert (await user.client.get(again.json()["links"]["self"])).status_code == 200, again.text
    else:
        assert again.status_code in (409, 410), again.text


async def test_malformed_bodies_and_unknown_routes_get_the_error_shape(
    make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    user = await make_user()
    broken = await user.client.post(
        "/api/jobs", content=b'{"kind": "test_noop",', headers={"content-type": "application/json"}
    )
    assert_error(broken, 400, "bad_request")
    assert_error(await user.client.post("/api/jobs", json=["test_noop"]), 400, "bad_request")
    assert_error(await user.client.post("/api/jobs", json={"kind": "test_noop", "params": None}), 400, "bad_request")
    assert_error(await user.client.get("/api/nothing-here"), 404, "not_found")
    assert_error(await user.client.put("/api/jobs"), 405, "method_not_allowed")
    assert count(db_engine, "SELECT count(*) FROM jobs") == 0
