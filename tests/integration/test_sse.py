"""Server-sent events: snapshot then live events, resume with Last-Event-ID, heartbeats, multiplexing,
streams served by another API process, and subscriptions released when a client goes away."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import SCRAPER_HEADERS, ApiUser, start_api
from tests.support.services import ServiceProcess
from tests.support.sse import Event, entry_order, is_terminal_status, read_events, read_raw_lines, stream_entries

MakeUser = Callable[..., Awaitable[ApiUser]]


async def create_job(user: ApiUser, kind: str = "test_sleep", **params: Any) -> str:
    response = await user.client.post("/api/jobs", json={"kind": kind, "params": params})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def wait_for_status(user: ApiUser, job_id: str, statuses: set[str], timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = (await user.client.get(f"/api/jobs/{job_id}")).json()
        if job["status"] in statuses:
            return dict(job)
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after {timeout} s"
        await asyncio.sleep(0.05)


def assert_strictly_increasing(events: list[Event]) -> None:
    orders = [e.order for e in events]
    assert all(a < b for a, b in itertools.pairwise(orders)), [e.id for e in events]


async def sse_streams_open(api: str) -> int:
    async with httpx.AsyncClient(base_url=api, timeout=5, headers=SCRAPER_HEADERS) as client:
        text = (await client.get("/metrics")).text
    match = re.search(r"^genjobs_sse_streams_open (\S+)$", text, re.MULTILINE)
    assert match is not None, text
    return int(float(match.group(1)))


@pytest.fixture(scope="module")
def second_api(start_service: Callable[..., ServiceProcess]) -> Iterator[str]:
    """Another API process on the same Postgres and Redis (its own SSE hub)."""
    proc, url = start_api(start_service)
    yield url
    proc.stop()


async def test_job_stream_sends_snapshot_then_every_event_in_order_and_ends_after_final_status(
    make_user: MakeUser, worker: ServiceProcess, redis_client: redis.Redis
) -> None:
    # Given a user who starts a short job
    user = await make_user()
    job_id = await create_job(user, steps=5, delay=0.1)

    # When they watch its events
    received = await read_events(user.client, f"/api/jobs/{job_id}/events")

    # Then a snapshot comes first, then progress and status events with strictly increasing ids
    events = received.events
    assert events[0].event == "snapshot"
    assert events[0].data["id"] == job_id
    assert events[0].data["status"] in {"queued", "running"}
    assert all(e.id for e in events), events
    assert_strictly_increasing(events)
    assert {e.event for e in events[1:]} <= {"status", "progress"}
    done = [e.data["done"] for e in received.of_type("progress")]
    assert done == sorted(done) and done[-1] == 5
    # and the stream ends right after the final status event
    assert received.ended
    assert is_terminal_status(events[-1]) and events[-1].data["status"] == "succeeded"
    assert sum(is_terminal_status(e) for e in events) == 1
    # and nothing the Redis Stream recorded after the snapshot was skipped
    after_snapshot = [e.id for e in stream_entries(redis_client, job_id) if e.order > events[0].order]
    assert [e.id for e in events[1:]] == after_snapshot


async def test_reconnect_with_last_event_id_resumes_without_gap_or_duplicate(
    make_user: MakeUser, worker: ServiceProcess, redis_client: redis.Redis
) -> None:
    # Given a running job watched by an uninterrupted connection
    user = await make_user()
    job_id = await create_job(user, steps=30, delay=0.1)
    url = f"/api/jobs/{job_id}/events"
    uninterrupted = asyncio.create_task(read_events(user.client, url, timeout=20))

    # When a second client reads a few progress events and disconnects
    first = await read_events(user.client, url, stop=lambda evs: sum(e.event == "progress" for e in evs) >= 4)
    assert not first.ended
    last_id = first.events[-1].id
    # and reconnects with Last-Event-ID while the job keeps going
    await asyncio.sleep(0.5)
    second = await read_events(user.client, url, headers={"Last-Event-ID": last_id}, timeout=20)

    # Then the second connection has no snapshot and continues right after the last id seen
    assert second.ended
    assert second.of_type("snapshot") == []
    assert second.events[0].order > entry_order(last_id)
    both = first.events[1:] + second.events
    ids = [e.id for e in both]
    assert len(ids) == len(set(ids)), "duplicate events across the reconnect"
    assert_strictly_increasing(both)
    # and together they hold exactly what the Redis Stream holds after the first snapshot
    snapshot = first.events[0]
    expected = [e for e in stream_entries(redis_client, job_id) if e.order > snapshot.order]
    assert [(e.id, e.event, e.data) for e in both] == [(e.id, e.event, e.data) for e in expected]
    # and exactly what an uninterrupted connection saw over the same span
    whole = (await uninterrupted).events
    assert [e.id for e in whole if e.order > snapshot.order] == ids
    assert second.events[-1].data["status"] == "succeeded"


async def test_last_event_id_zero_replays_a_finished_jobs_whole_history(
    make_user: MakeUser, worker: ServiceProcess, redis_client: redis.Redis
) -> None:
    # Given a short job that has already ended
    user = await make_user()
    job_id = await create_job(user, steps=3, delay=0.01)
    await wait_for_status(user, job_id, {"succeeded"})

    # When a client asks for its events from the start (Last-Event-ID 0-0)
    received = await read_events(user.client, f"/api/jobs/{job_id}/events", headers={"Last-Event-ID": "0-0"})

    # Then it gets every entry the Redis Stream holds, in order, with no snapshot, and the stream ends
    assert received.ended
    assert received.of_type("snapshot") == []
    expected = stream_entries(redis_client, job_id)
    assert [(e.id, e.event, e.data) for e in received.events] == [(e.id, e.event, e.data) for e in expected]
    assert [e.data["done"] for e in received.of_type("progress")][-1] == 3
    assert received.events[-1].data["status"] == "succeeded"

    # and without it the same finished job gets only a snapshot of where it ended
    plain = await read_events(user.client, f"/api/jobs/{job_id}/events")
    assert [e.event for e in plain.events] == ["snapshot"] and plain.events[0].data["status"] == "succeeded"


async def test_idle_stream_sends_heartbeat_comments(make_user: MakeUser) -> None:
    # Given a job that stays silent (queued, or sleeping without progress if a worker takes it)
    user = await make_user()
    job_id = await create_job(user, steps=30, delay=0.1, stuck=True)
    try:
        # When a client watches it, Then a comment heartbeat arrives within about 2 s (SSE_HEARTBEAT_SECONDS=1)
        lines, elapsed = await read_raw_lines(
            user.client, f"/api/jobs/{job_id}/events", until=lambda line: line.startswith(":"), timeout=4
        )
        assert lines[-1] == ": heartbeat"
        assert elapsed < 2.5, f"first heartbeat after {elapsed:.2f} s"
        assert any(line == "event: snapshot" for line in lines)
    finally:
        await user.client.delete(f"/api/jobs/{job_id}")


async def test_stream_of_finished_job_is_snapshot_only(make_user: MakeUser, worker: ServiceProcess) -> None:
    # Given a job that already succeeded
    user = await make_user()
    job_id = await create_job(user, steps=1, delay=0)
    await wait_for_status(user, job_id, {"succeeded"})

    # When a client connects to its stream
    received = await read_events(user.client, f"/api/jobs/{job_id}/events", timeout=5)

    # Then it gets the final snapshot and the stream ends
    assert received.ended
    assert [e.event for e in received.events] == ["snapshot"]
    assert received.events[0].data["status"] == "succeeded"
    assert received.events[0].data["result"]["steps"] == 1
    assert received.events[0].id


async def test_multiplexed_stream_carries_named_jobs_only_and_ends_when_all_finish(
    make_user: MakeUser, worker: ServiceProcess
) -> None:
    # Given two jobs to watch and a third one of the same user that is not named
    user = await make_user()
    job_a = await create_job(user, steps=3, delay=0.05)
    # B lasts long enough to still run when the stream opens, even on a loaded machine: its end is live.
    job_b = await create_job(user, steps=60, delay=0.05)
    other = await create_job(user, steps=4, delay=0.05)

    # When the user watches A and B on one connection
    received = await read_events(user.client, "/api/events", params=[("job_id", job_a), ("job_id", job_b)])

    # Then every event names A or B, both snapshots come first, and the stream ends after both finish
    assert received.ended
    assert {e.data["job_id"] for e in received.events} == {job_a, job_b}
    snapshots = received.of_type("snapshot")
    assert sorted(e.data["job_id"] for e in snapshots) == sorted([job_a, job_b])
    assert received.events[: len(snapshots)] == snapshots
    assert all(e.id for e in received.events)
    live = received.events[len(snapshots) :]
    assert_strictly_increasing(live)
    assert all(e.order > snapshots[0].order for e in live)
    # (A may have finished before the stream opened: then its snapshot carries its end)
    finals = {
        e.data["job_id"]: e.data["status"]
        for e in received.events
        if is_terminal_status(e) or (e.event == "snapshot" and e.data["status"] == "succeeded")
    }
    assert finals == {job_a: "succeeded", job_b: "succeeded"}
    assert is_terminal_status(received.events[-1])
    assert received.events[-1].data["job_id"] == job_b
    await wait_for_status(user, other, {"succeeded"})


async def test_unfiltered_multiplexed_stream_starts_with_a_snapshot_of_each_active_job(
    make_user: MakeUser, worker: ServiceProcess
) -> None:
    # Given a user with a finished job, a deleted one and an active one (a long run, still going when watched)
    user = await make_user()
    finished = await create_job(user, steps=1, delay=0)
    await wait_for_status(user, finished, {"succeeded"})
    deleted = await create_job(user, steps=100, delay=0.1)
    assert (await user.client.delete(f"/api/jobs/{deleted}")).status_code == 204
    active = await create_job(user, steps=100, delay=0.1)

    # When they watch all their jobs on one connection
    def has_snapshots(events: list[Event]) -> bool:
        return any(e.event != "snapshot" for e in events) or len(events) >= 2

    received = await read_events(user.client, "/api/events", stop=has_snapshots, timeout=10)

    # Then the stream starts with the active job's snapshot only, as GET /api/jobs/{id} shows it
    snapshots = received.of_type("snapshot")
    assert [e.data["job_id"] for e in snapshots] == [active], received.events
    shown = (await user.client.get(f"/api/jobs/{active}")).json()
    assert {k: snapshots[0].data[k] for k in ("id", "kind", "params", "payment", "links")} == {
        k: shown[k] for k in ("id", "kind", "params", "payment", "links")
    }
    assert snapshots[0].data["status"] in {"queued", "running"}
    assert (await user.client.delete(f"/api/jobs/{active}")).status_code == 204


async def test_multiplexed_stream_refuses_another_users_job(make_user: MakeUser) -> None:
    # Given a job of someone else
    owner = await make_user()
    stranger = await make_user()
    job_id = await create_job(owner, steps=1, delay=0)
    mine = await create_job(stranger, steps=1, delay=0)

    # When the stranger asks for its events, alone or with one of their own jobs, Then it does not exist for them
    alone = await stranger.client.get("/api/events", params={"job_id": job_id})
    mixed = await stranger.client.get("/api/events", params=[("job_id", mine), ("job_id", job_id)])
    single = await stranger.client.get(f"/api/jobs/{job_id}/events")
    assert (alone.status_code, mixed.status_code, single.status_code) == (404, 404, 404)
    assert alone.json()["error"]["code"] == "job_not_found"


async def test_unfiltered_multiplexed_stream_sees_new_jobs_and_deletions(make_user: MakeUser) -> None:
    # Given a user watching all their jobs on one connection
    user = await make_user()

    def seen_deleted(events: list[Event]) -> bool:
        return any(e.event == "deleted" for e in events)

    watching = asyncio.create_task(read_events(user.client, "/api/events", stop=seen_deleted, timeout=10))
    await asyncio.sleep(0.5)

    # When they start a job after connecting, and then delete it
    job_id = await create_job(user, steps=100, delay=0.1)
    await asyncio.sleep(0.3)
    assert (await user.client.delete(f"/api/jobs/{job_id}")).status_code == 204
    received = await watching

    # Then the stream shows the new job and then its deletion, each event carrying the job id
    about_job = [e for e in received.events if e.data.get("job_id") == job_id]
    assert about_job, received.events
    assert about_job[0].event in {"status", "snapshot"}
    assert about_job[0].data["status"] in {"queued", "running"}
    assert about_job[-1].event == "deleted"
    assert [e.data["status"] for e in about_job if e.event == "status"][-1] == "cancelled"
    assert all(e.id and "job_id" in e.data for e in received.events)


async def test_second_api_process_serves_a_stream_of_a_job_created_elsewhere(
    make_user: MakeUser, worker: ServiceProcess, second_api: str
) -> None:
    # Given a job created through the first API process
    user = await make_user()
    job_id = await create_job(user, steps=6, delay=0.1)

    # When the client watches it through another API process
    async with httpx.AsyncClient(
        base_url=second_api, headers={"Authorization": f"Bearer {user.api_key}"}, timeout=30
    ) as client:
        received = await read_events(client, f"/api/jobs/{job_id}/events")

    # Then it sees the snapshot, the worker's live progress and the final status
    assert received.ended
    assert received.events[0].event == "snapshot"
    assert [e.data["done"] for e in received.of_type("progress")][-1] == 6
    assert received.events[-1].data["status"] == "succeeded"
    assert_strictly_increasing(received.events)


async def hold_streams_then_disconnect(api: str, users: list[ApiUser]) -> int:
    """Each user opens their multiplexed stream; once the API process counts them all, all disconnect at once.

    Returns how many subscriptions the process reported while they were open (above the count before).
    """
    before = await sse_streams_open(api)
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        tasks = [
            asyncio.create_task(
                read_events(client, "/api/events", timeout=30, headers={"Authorization": f"Bearer {u.api_key}"})
            )
            for u in users
        ]
        try:
            # Generous: on a loaded machine ten streams may take seconds to open; a lost one never registers.
            deadline = time.monotonic() + 30
            while (now_open := await sse_streams_open(api)) < before + len(users):
                assert time.monotonic() < deadline, f"only {now_open - before} of {len(users)} streams registered"
                await asyncio.sleep(0.05)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return now_open - before


@pytest.mark.parametrize("clients", [1, 10], ids=["one-client", "ten-clients-at-once"])
async def test_disconnect_releases_the_subscription(make_user: MakeUser, second_api: str, clients: int) -> None:
    # Given users with no job (their multiplexed streams stay open and silent) and an API process
    users = [await make_user() for _ in range(clients)]
    before = await sse_streams_open(second_api)

    # When each holds a stream open and then they all go away together
    opened = await hold_streams_then_disconnect(second_api, users)
    assert opened == clients

    # Then the API process drops their subscriptions (at once on a quiet machine; a leaked one stays for ever, so
    # the bound is generous for a busy one)
    deadline = time.monotonic() + 20
    while (now_open := await sse_streams_open(second_api)) > before:
        assert time.monotonic() < deadline, f"{now_open - before} subscription(s) still open 20 s after disconnect"
        await asyncio.sleep(0.05)
