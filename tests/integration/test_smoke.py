"""The whole path once: create a job over HTTP, a real worker runs it, the SSE stream shows it finish."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from httpx_sse import aconnect_sse

from tests.conftest import ApiUser
from tests.support.services import ServiceProcess


async def test_job_runs_end_to_end_with_live_events(
    make_user: Callable[..., Awaitable[ApiUser]], worker: ServiceProcess
) -> None:
    # Given a user
    user = await make_user()
    # When they start a job
    created = await user.client.post("/api/jobs", json={"kind": "test_sleep", "params": {"steps": 4, "delay": 0.05}})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    # Then the stream starts with a snapshot and ends with the succeeded status
    events = []
    async with aconnect_sse(user.client, "GET", f"/api/jobs/{job_id}/events") as source:
        async for sse in source.aiter_sse():
            if sse.data:  # httpx-sse also yields the heartbeat comments, with no data
                events.append((sse.event, json.loads(sse.data)))
    assert events[0][0] == "snapshot"
    assert events[-1][0] == "status"
    assert events[-1][1]["status"] == "succeeded"
    assert events[-1][1]["result"]["steps"] == 4
    progress = [data for kind, data in events if kind == "progress"]
    assert progress[-1]["done"] == 4 and progress[-1]["percent"] == 100.0
