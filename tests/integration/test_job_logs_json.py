"""``LOG_FORMAT=json`` in real processes: a worker writes one JSON line per job state change with the job's id,
kind, queue and attempt, and the lines its job logs while running (httpx's line per outbound call) carry them;
the API logs a job's creation the same way."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import ApiUser, start_api
from tests.support.fake_stripe import FakeStripe
from tests.support.services import ServiceProcess

TRACE_KINDS = "tests.support.trace_kinds"


def json_lines(proc: ServiceProcess) -> list[dict[str, Any]]:
    lines = []
    for raw in proc.log_path.read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


async def test_a_worker_logs_each_state_change_as_json(
    start_service: Callable[..., ServiceProcess],
    service_env: dict[str, str],
    make_user: Callable[..., Any],
    fake_stripe: FakeStripe,
) -> None:
    # Given an API and a worker that know a kind no other process of the suite runs, logging JSON
    env = {"JOB_KIND_MODULES": f"{service_env['JOB_KIND_MODULES']},{TRACE_KINDS}", "LOG_FORMAT": "json"}
    api, url = start_api(start_service, env=env)
    worker = start_service("worker", "--processes", "1", "--threads", "1", "--queues", "traced", env=env, name="jw")
    # Stopped at the end of this test, not of the session: a worker left consuming ``traced`` would take the
    # jobs of the tracing test, which runs that queue's worker in its own process.
    try:
        user: ApiUser = await make_user()
        # When a job of that kind runs
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {user.api_key}"}) as client:
            created = await client.post(
                "/api/jobs", json={"kind": "test_traced", "params": {"url": f"{fake_stripe.base_url}/health"}}
            )
            assert created.status_code == 202, created.text
            job_id = created.json()["id"]
            deadline = time.monotonic() + 60
            while (await client.get(f"/api/jobs/{job_id}")).json()["status"] != "succeeded":
                assert time.monotonic() < deadline, "the job did not succeed"
                await asyncio.sleep(0.1)

        # Then the worker logged its claim and its end as JSON lines naming the job
        def changes() -> list[dict[str, Any]]:
            return [line for line in json_lines(worker) if line.get("job_id") == job_id and "to_status" in line]

        deadline = time.monotonic() + 10
        while {c["to_status"] for c in changes()} < {"running", "succeeded"}:
            assert time.monotonic() < deadline, json_lines(worker)[-20:]
            await asyncio.sleep(0.1)
        succeeded = next(c for c in changes() if c["to_status"] == "succeeded")
        assert (succeeded["kind"], succeeded["queue"], succeeded["attempt"]) == ("test_traced", "traced", 1)
        assert succeeded["from_status"] == "running" and succeeded["logger"] == "genjobs.jobs"
        # and its outbound call's line carries the job too
        calls = [line for line in json_lines(worker) if line.get("logger") == "httpx" and line.get("job_id") == job_id]
        assert calls and calls[0]["kind"] == "test_traced", json_lines(worker)[-20:]
        # And the API logged the job's creation as a JSON line too (not in the web framework's own format)
        created_lines = [line for line in json_lines(api) if line.get("job_id") == job_id]
        assert [line["to_status"] for line in created_lines] == ["queued"], created_lines
        assert "from_status" not in created_lines[0] and created_lines[0]["logger"] == "genjobs.jobs"
    finally:
        worker.stop()
        api.stop()
