"""Cancelling without deleting, and the bulk cancel / retry actions, through the real API and worker."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
import redis

from db.live import cancel_flag_key
from tests.conftest import ApiUser
from tests.integration.test_lifecycle import create_job, status_in, transitions, wait_for
from tests.support.services import ServiceProcess

MakeUser = Callable[..., Awaitable[ApiUser]]
# Several waits of up to 60 s each: a loaded machine may need more than the default 120 s per test.
pytestmark = pytest.mark.timeout(300)


async def test_cancel_stops_a_running_job_and_keeps_it_visible(
    make_user: MakeUser, worker: ServiceProcess, redis_client: redis.Redis
) -> None:
    # Given a running job
    user = await make_user()
    job_id = await create_job(user, steps=400, delay=0.05)
    await wait_for(user, job_id, status_in("running"), 60, "the job to start")

    # When its owner cancels it
    response = await user.client.post(f"/api/jobs/{job_id}/cancel")

    # Then it is cancelled at once, the worker is told (the cancel flag), and it stays visible with its history
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert redis_client.exists(cancel_flag_key(job_id)) == 1
    assert (await user.client.get(f"/api/jobs/{job_id}")).json()["status"] == "cancelled"
    listed = (await user.client.get("/api/jobs", params={"status": "cancelled"})).json()
    assert [j["id"] for j in listed["items"]] == [job_id]
    assert (await transitions(user, job_id))[-1] == ("running", "cancelled")
    # ... and cancelling again is a conflict naming its status; another user's job is a 404
    again = await user.client.post(f"/api/jobs/{job_id}/cancel")
    assert again.status_code == 409 and again.json()["error"]["details"]["status"] == "cancelled"
    stranger = await make_user()
    assert (await stranger.client.post(f"/api/jobs/{job_id}/cancel")).status_code == 404


async def test_cancel_while_waiting(make_user: MakeUser, worker: ServiceProcess, scheduler: ServiceProcess) -> None:
    user = await make_user()
    job_id = await create_job(user, "test_review")
    await wait_for(user, job_id, status_in("waiting"), 60, "the wait")
    response = await user.client.post(f"/api/jobs/{job_id}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["waiting_for"] is None
    assert (await transitions(user, job_id))[-2:] == [("running", "waiting"), ("waiting", "cancelled")]
    # A signal to the cancelled job is refused
    late = await user.client.post(f"/api/jobs/{job_id}/signals/approve", json={})
    assert late.status_code == 409 and late.json()["error"]["details"]["status"] == "cancelled"


async def test_bulk_cancel_and_retry_by_ids_and_by_filter(
    make_user: MakeUser, worker: ServiceProcess, scheduler: ServiceProcess
) -> None:
    # Given a user with three waiting review jobs and a finished one, and another user's waiting job
    user, other = await make_user(), await make_user()
    waiting = [await create_job(user, "test_review") for _ in range(3)]
    finished = await create_job(user, "test_noop")
    others = await create_job(other, "test_review")
    for job_id in waiting:
        await wait_for(user, job_id, status_in("waiting"), 60, "the wait")
    await wait_for(user, finished, status_in("succeeded"), 60, "the noop job")
    await wait_for(other, others, status_in("waiting"), 60, "the other user's wait")

    # When they cancel by ids, including a finished job, another user's job and an unknown id
    unknown = str(uuid.uuid4())
    response = await user.client.post("/api/jobs/cancel", json={"ids": [waiting[0], finished, others, unknown]})

    # Then each id has its own outcome, and only their own active job was cancelled
    assert response.status_code == 200, response.text
    outcomes = {r["id"]: (r["outcome"], r.get("status")) for r in response.json()["results"]}
    assert outcomes == {
        waiting[0]: ("cancelled", "cancelled"),
        finished: ("conflict", "succeeded"),
        others: ("not_found", None),
        unknown: ("not_found", None),
    }
    assert response.json()["more"] is False
    assert (await other.client.get(f"/api/jobs/{others}")).json()["status"] == "waiting"

    # When they cancel by filter (their waiting review jobs)
    response = await user.client.post("/api/jobs/cancel", json={"filter": {"status": "waiting", "kind": "test_review"}})
    assert response.status_code == 200, response.text
    assert sorted(r["id"] for r in response.json()["results"]) == sorted(waiting[1:])
    assert {r["outcome"] for r in response.json()["results"]} == {"cancelled"}

    # And retry every cancelled job of theirs by filter: all three run again from the start
    response = await user.client.post("/api/jobs/retry", json={"filter": {"kind": "test_review"}})
    assert response.status_code == 200, response.text
    assert sorted(r["id"] for r in response.json()["results"]) == sorted(waiting)
    assert {r["outcome"] for r in response.json()["results"]} == {"retried"}
    for job_id in waiting:
        job = await wait_for(user, job_id, status_in("waiting"), 60, "the retried job to wait again")
        assert job["progress"]["done"] == 1  # its stored state was reset: the first draft again
    # The other user's job was never touched
    assert (await other.client.get(f"/api/jobs/{others}")).json()["status"] == "waiting"


async def test_bulk_requests_are_validated(make_user: MakeUser, worker: ServiceProcess) -> None:
    user = await make_user()
    for body in (
        {},
        {"ids": [str(uuid.uuid4())], "filter": {}},
        {"ids": []},
        {"ids": [str(uuid.uuid4()) for _ in range(101)]},
        {"filter": {"status": "sleeping"}},
        {"filter": {"owner": "x"}},
    ):
        response = await user.client.post("/api/jobs/retry", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] in {"invalid_bulk_request", "invalid_status", "bad_request"}


async def test_an_admin_bulk_cancels_any_owners_jobs(
    make_user: MakeUser, worker: ServiceProcess, scheduler: ServiceProcess
) -> None:
    user, admin = await make_user(), await make_user(admin=True)
    job_id = await create_job(user, "test_review")
    await wait_for(user, job_id, status_in("waiting"), 60, "the wait")
    response = await admin.client.post("/api/jobs/cancel", json={"ids": [job_id]})
    assert response.status_code == 200, response.text
    assert response.json()["results"] == [{"id": job_id, "outcome": "cancelled", "status": "cancelled"}]
