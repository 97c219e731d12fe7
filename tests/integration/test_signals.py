"""Jobs that wait for a signal or a deadline, through the real API, worker and scheduler.

The test kind ``test_review`` (tests/support/wait_kinds.py) drafts, waits for ``customer_review``, and is
resumed by its owner's ``revise`` / ``approve``, an admin's ``publish``, a signed webhook's ``external``, or
its deadline's ``timeout``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import TEST_SECRET_KEY, ApiUser
from tests.integration.test_lifecycle import create_job, job_row, status_in, transitions, wait_for
from tests.support.services import ServiceProcess
from tests.support.sse import Event, read_events

MakeUser = Callable[..., Awaitable[ApiUser]]
# Several waits of up to 60 s each: a loaded machine may need more than the default 120 s per test.
pytestmark = pytest.mark.timeout(300)
SECRET_KEY = TEST_SECRET_KEY


def waiting_for(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda job: job["status"] == "waiting" and job["waiting_for"] == name


async def signal(user: ApiUser, job_id: str, name: str, payload: Any = None) -> httpx.Response:
    return await user.client.post(f"/api/jobs/{job_id}/signals/{name}", json=payload)


async def test_a_signal_resumes_the_job_with_its_payload_and_the_stored_state(
    make_user: MakeUser, worker: ServiceProcess, scheduler: ServiceProcess, db_engine: Engine
) -> None:
    # Given a review job waiting for its customer
    user = await make_user()
    job_id = await create_job(user, "test_review")
    job = await wait_for(user, job_id, waiting_for("customer_review"), 60, "the first wait")
    assert job["wait_deadline"] is not None
    assert job["attempts"] == 0  # the run that parked it gave its attempt back
    # ... holding no worker: no claim, no lease, no message
    row = job_row(db_engine, job_id)
    assert (row["claim_token"], row["lease_expires_at"], row["message_id"]) == (None, None, None)
    assert row["job_state"] == {"drafts": 1, "seen": [], "stage": "customer_review"}

    # When the owner asks for a revision, then approves
    response = await signal(user, job_id, "revise", {"notes": "shorter intro", "rating": 4})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    job = await wait_for(
        user, job_id, lambda j: waiting_for("customer_review")(j) and j["progress"]["done"] == 2, 60, "the second wait"
    )
    response = await signal(user, job_id, "approve", {"comment": "good"})
    assert response.status_code == 202, response.text
    job = await wait_for(user, job_id, status_in("succeeded", "failed"), 60, "the end")

    # Then the handler saw each signal with its payload, and the state it stored before each wait
    assert job["status"] == "succeeded", job
    assert job["result"] == {
        "outcome": "approve",
        "drafts": 2,
        "seen": [
            {"name": "revise", "payload": {"notes": "shorter intro", "rating": 4}, "sender": "owner"},
            {"name": "approve", "payload": {"comment": "good"}, "sender": "owner"},
        ],
        "attempt": 1,
    }
    assert await transitions(user, job_id) == [
        (None, "queued"),
        ("queued", "running"),
        ("running", "waiting"),
        ("waiting", "queued"),
        ("queued", "running"),
        ("running", "waiting"),
        ("waiting", "queued"),
        ("queued", "running"),
        ("running", "succeeded"),
    ]
    # ... and each signal is in the audit trail with its payload and sender
    history = (await user.client.get(f"/api/jobs/{job_id}/history")).json()
    signals = [(e["actor"], e["detail"]) for e in history if e["type"] == "signal"]
    assert signals == [
        (f"owner:{user.id}", {"name": "revise", "payload": {"notes": "shorter intro", "rating": 4}}),
        (f"owner:{user.id}", {"name": "approve", "payload": {"comment": "good"}}),
    ]


async def test_signals_that_cannot_be_taken_are_refused_and_change_nothing(
    make_user: MakeUser, worker: ServiceProcess, scheduler: ServiceProcess
) -> None:
    owner, stranger = await make_user(), await make_user()
    # A job still running (drafting for 3 s) takes no signal yet
    job_id = await create_job(owner, "test_review", work_delay=3)
    await wait_for(owner, job_id, status_in("running"), 60, "the draft to start")
    response = await signal(owner, job_id, "approve", {})
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "not_waiting"
    assert response.json()["error"]["details"]["status"] == "running"
    await wait_for(owner, job_id, waiting_for("customer_review"), 60, "the wait")

    # A wrong payload: 400 naming each wrong field
    response = await signal(owner, job_id, "revise", {"rating": 9, "colour": "red"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert {e["field"] for e in error["details"]} == {"notes", "rating", "colour"}
    response = await owner.client.post(
        f"/api/jobs/{job_id}/signals/revise", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    # A signal the kind does not declare: 409 listing those it does
    response = await signal(owner, job_id, "explode", {})
    assert response.status_code == 409, response.text
    assert response.json()["error"]["details"]["accepted"] == ["revise", "approve", "publish", "external"]
    # Another user's job: 404, as if it did not exist
    response = await signal(stranger, job_id, "approve", {})
    assert response.status_code == 404, response.text
    # An admin-only signal from the owner: 403 (the owner sees the job)
    response = await signal(owner, job_id, "publish")
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "signal_not_allowed"
    # A webhook-only signal from the owner: 403
    response = await signal(owner, job_id, "external", {"reference": "x"})
    assert response.status_code == 403, response.text

    # None of these resumed the job or left a trace
    job = (await owner.client.get(f"/api/jobs/{job_id}")).json()
    assert job["status"] == "waiting"
    history = (await owner.client.get(f"/api/jobs/{job_id}/history")).json()
    assert [e for e in history if e["type"] == "signal"] == []

    # A job that finished takes no signal: 409
    assert (await signal(owner, job_id, "approve", {})).status_code == 202
    await wait_for(owner, job_id, status_in("succeeded"), 60, "the end")
    response = await signal(owner, job_id, "approve", {})
    assert response.status_code == 409 and response.json()["error"]["details"]["status"] == "succeeded"


async def test_the_deadline_resumes_the_job_with_a_timeout_signal(
    make_user: MakeUser, worker: ServiceProcess, scheduler: ServiceProcess
) -> None:
    # Given a job waiting with a 1.5 s deadline, and nobody answering
    user = await make_user()
    job_id = await create_job(user, "test_review", deadline=1.5)
    await wait_for(user, job_id, waiting_for("customer_review"), 60, "the wait")
    # When the deadline passes, the scheduler resumes it with ``timeout``
    job = await wait_for(user, job_id, status_in("succeeded", "failed"), 60, "the timeout")
    assert job["result"]["outcome"] == "timeout", job
    assert job["result"]["seen"] == [{"name": "timeout", "payload": None, "sender": "scheduler"}]
    history = (await user.client.get(f"/api/jobs/{job_id}/history")).json()
    assert [(e["actor"], e["detail"]) for e in history if e["type"] == "signal"] == [
        ("scheduler", {"name": "timeout", "payload": None})
    ]


async def test_an_admin_signal_resumes_at_the_priority_it_declares(
    make_user: MakeUser, worker: ServiceProcess, scheduler: ServiceProcess
) -> None:
    owner, admin = await make_user(), await make_user(admin=True)
    job_id = await create_job(owner, "test_review", admin_approval=True)
    await wait_for(owner, job_id, waiting_for("customer_review"), 60, "the customer's review")
    assert (await signal(owner, job_id, "approve", {})).status_code == 202
    await wait_for(owner, job_id, waiting_for("admin_approval"), 60, "the admin's review")
    # The owner may not publish; an admin may (and the job moves to its kind's high-priority queue)
    assert (await signal(owner, job_id, "publish")).status_code == 403
    response = await signal(admin, job_id, "publish", {"extra": 1})
    assert response.status_code == 400, response.text  # publish takes no payload
    response = await signal(admin, job_id, "publish")
    assert response.status_code == 202, response.text
    assert response.json()["priority"] == "high"
    job = await wait_for(owner, job_id, status_in("succeeded", "failed"), 60, "the end")
    assert job["result"]["seen"][-1] == {"name": "publish", "payload": None, "sender": "admin"}


def _signed(job_id: str, name: str, body: bytes, *, kind: str = "test_review", at: int | None = None) -> dict[str, str]:
    # Computed here from the documented scheme, not with the service's function.
    key = hmac.new(SECRET_KEY.encode(), f"genjobs-signal-webhook:{kind}".encode(), hashlib.sha256).hexdigest()
    timestamp = int(time.time()) if at is None else at
    message = f"{timestamp}.{job_id}.{name}.".encode() + body
    signature = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    return {"X-Genjobs-Timestamp": str(timestamp), "X-Genjobs-Signature": signature, "Content-Type": "application/json"}


async def test_a_signed_webhook_resumes_the_job(
    make_user: MakeUser, worker: ServiceProcess, scheduler: ServiceProcess, api_url: str
) -> None:
    user = await make_user()
    job_id = await create_job(user, "test_review")
    await wait_for(user, job_id, waiting_for("customer_review"), 60, "the wait")
    body = json.dumps({"reference": "PO-1"}).encode()
    url = f"/api/webhooks/signals/{job_id}/external"
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as anonymous:
        # A wrong signature, an old timestamp, another kind's key: 401, nothing changes
        bad = {**_signed(job_id, "external", body), "X-Genjobs-Signature": "0" * 64}
        assert (await anonymous.post(url, content=body, headers=bad)).status_code == 401
        old = _signed(job_id, "external", body, at=int(time.time()) - 3600)
        assert (await anonymous.post(url, content=body, headers=old)).status_code == 401
        other = _signed(job_id, "external", body, kind="test_sleep")
        assert (await anonymous.post(url, content=body, headers=other)).status_code == 401
        tampered = _signed(job_id, "external", body)
        assert (await anonymous.post(url, content=b'{"reference": "PO-2"}', headers=tampered)).status_code == 401
        # A signal that is not a webhook's, or an unknown job: 404
        approve_body = b"{}"
        response = await anonymous.post(
            f"/api/webhooks/signals/{job_id}/approve", content=approve_body, headers=_signed(job_id, "approve", b"{}")
        )
        assert response.status_code == 404
        unknown = str(uuid.uuid4())
        response = await anonymous.post(
            f"/api/webhooks/signals/{unknown}/external", content=body, headers=_signed(unknown, "external", body)
        )
        assert response.status_code == 404
        assert (await user.client.get(f"/api/jobs/{job_id}")).json()["status"] == "waiting"
        # The right signature resumes it
        response = await anonymous.post(url, content=body, headers=_signed(job_id, "external", body))
        assert response.status_code == 202, response.text
    job = await wait_for(user, job_id, status_in("succeeded", "failed"), 60, "the end")
    assert job["result"]["seen"] == [{"name": "external", "payload": {"reference": "PO-1"}, "sender": "webhook"}]


async def test_the_event_stream_shows_waiting_and_each_signal(
    make_user: MakeUser, worker: ServiceProcess, scheduler: ServiceProcess
) -> None:
    # Given a review job (drafting for 3 s) and a client watching its events from the start
    user = await make_user()
    job_id = await create_job(user, "test_review", work_delay=3)

    def waits(events: list[Event]) -> list[Event]:
        return [e for e in events if e.event == "status" and e.data["status"] == "waiting"]

    first = await read_events(user.client, f"/api/jobs/{job_id}/events", timeout=60, stop=lambda ev: bool(waits(ev)))
    # Then the status event says what the job waits for and until when
    wait = waits(first.events)[0]
    assert wait.data["waiting_for"] == "customer_review"
    assert wait.data["wait_deadline"] is not None
    # ... and so does the snapshot of a client that connects while it waits
    fresh = await read_events(user.client, f"/api/jobs/{job_id}/events", timeout=60, stop=lambda ev: True)
    assert fresh.events[0].event == "snapshot"
    assert (fresh.events[0].data["status"], fresh.events[0].data["waiting_for"]) == ("waiting", "customer_review")

    # When the owner sends a signal, a reconnecting client (Last-Event-ID) sees the signal, then the resume
    assert (await signal(user, job_id, "approve", {"comment": "ok"})).status_code == 202
    rest = await read_events(user.client, f"/api/jobs/{job_id}/events", timeout=60, headers={"Last-Event-ID": wait.id})
    kinds = [(e.event, e.data.get("status")) for e in rest.events if e.event in {"signal", "status"}]
    # The API publishes the signal and then the resume after its commit, as it publishes a new job's first event;
    # the worker publishes its claim after its own commit: on a loaded machine the claim may come first. Each
    # status event carries from_status and to_status.
    assert sorted(kinds[:-1]) == [("signal", None), ("status", "queued"), ("status", "running")], kinds
    assert kinds.index(("signal", None)) < kinds.index(("status", "queued")), kinds
    assert kinds[-1] == ("status", "succeeded"), kinds
    sent = rest.of_type("signal")[0]
    assert (sent.data["name"], sent.data["payload"], sent.data["sender"]) == (
        "approve",
        {"comment": "ok"},
        f"owner:{user.id}",
    )
    assert rest.ended  # the stream ended after the final status
