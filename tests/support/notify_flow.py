"""Helpers for notification tests: start a job with a notification choice and wait on its history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from tests.conftest import ApiUser


async def start_job(user: ApiUser, **params: Any) -> str:
    response = await user.client.post("/api/jobs", json={"kind": "test_notify", "params": params})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def history(user: ApiUser, job_id: str) -> list[dict[str, Any]]:
    response = await user.client.get(f"/api/jobs/{job_id}/history")
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def of_type(entries: list[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    return [e for e in entries if e["type"] in types]


async def wait_for_history(
    user: ApiUser,
    job_id: str,
    predicate: Callable[[list[dict[str, Any]]], bool],
    what: str,
    timeout: float = 30,
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        entries = await history(user, job_id)
        if predicate(entries):
            return entries
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}; history: {entries}"
        await asyncio.sleep(0.05)


async def wait_for_outcome(user: ApiUser, job_id: str, event: str, timeout: float = 30) -> list[dict[str, Any]]:
    """Wait until the notification of ``event`` was sent or failed for good; returns the history."""
    return await wait_for_history(
        user,
        job_id,
        lambda h: any(e["detail"]["event"] == event for e in of_type(h, "notification_sent", "notification_failed")),
        f"the {event} notification to be sent or to fail",
        timeout,
    )


async def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(0.05)
