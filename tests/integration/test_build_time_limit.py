"""A build's wall-time limit (``BUILD_TIMEOUT_SECONDS``, a setting of the build kind, 10 minutes by default),
set to a few seconds on a worker of its own (the session's shared worker would take the build with its default
limit): a build script that sleeps is killed, the job ends ``timed_out`` naming the limit, no process of it is
left and its working folder is gone."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.test_build import _processes_mentioning, start_build, wait_terminal
from tests.support.isolated_stack import IsolatedStack, isolated_stack
from tests.support.services import ServiceProcess

# Room for the install step before it (npm install of no dependencies: about a second) on a loaded machine.
LIMIT_SECONDS = 10


@pytest.fixture(scope="module")
def stack(start_service: Callable[..., ServiceProcess], service_env: dict[str, str]) -> Iterator[IsolatedStack]:
    yield from isolated_stack(
        start_service, service_env, scheduler=False, extra_env={"BUILD_TIMEOUT_SECONDS": str(LIMIT_SECONDS)}
    )


@pytest.fixture
def iso(stack: IsolatedStack) -> Iterator[IsolatedStack]:
    yield from stack.for_one_test()


async def test_a_build_past_its_wall_time_limit_is_killed_and_named(iso: IsolatedStack, tmp_path: Path) -> None:
    # Given a worker whose builds may take 10 s, and a project whose build script sleeps for ten minutes
    iso.start_worker()
    user = await iso.make_user()
    # A unique argument makes this build's own sleep findable among the machine's processes.
    nap = f"600.{random.randrange(10**8):08d}"
    script = f"echo going to sleep; sleep {nap}"
    files = {"package.json": json.dumps({"name": "nap", "version": "1.0.0", "scripts": {"build": script}}).encode()}
    started = time.monotonic()
    job_id = await start_build(user.client, tmp_path, files)
    # When it runs past the limit
    job = await wait_terminal(user.client, job_id, timeout=120)
    # Then the build ended timed out, naming the limit and the command that was killed
    assert job["status"] == "timed_out", job
    assert job["error"] == f"the build ran past its time limit of {LIMIT_SECONDS} s: `npm run build` was killed"
    assert job["failed_command"] == "npm run build" and job["exit_code"] is None
    assert time.monotonic() - started >= LIMIT_SECONDS
    assert "going to sleep" in (await user.client.get(f"/api/jobs/{job_id}/logs")).json()["lines"]
    # and nothing of it is left running (the runner killed its process group before the job ended)
    deadline = time.monotonic() + 3
    while _processes_mentioning(nap):
        assert time.monotonic() < deadline, "the build's sleep is still running"
        await asyncio.sleep(0.1)
    # and its working folder is gone
    assert not (Path(iso.env["ARTIFACTS_DIR"]) / "build-work" / job_id).exists()
    await user.client.aclose()
