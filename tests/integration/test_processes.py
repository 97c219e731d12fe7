"""Programs run by jobs (``JobContext.run_process``) through the real API and a real worker: cancel,
time-out, limits, live log lines over SSE, the kept tail and log artifact, the sandbox, worker shutdown.

"Gone" means no running process whose command line is the test's marker: each test sleeps for a duration
no other program on the machine uses, and a killed grandchild's zombie (waiting for init) does not count.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, text

from tests.conftest import ApiUser
from tests.support.isolated_stack import IsolatedStack, isolated_stack
from tests.support.services import ServiceProcess
from tests.support.sse import is_terminal_status, read_events, stream_entries

MakeUser = Callable[..., Awaitable[ApiUser]]
TERMINAL = {"succeeded", "failed", "cancelled", "timed_out"}


def marker() -> str:
    return f"sleep {600 + random.randint(1, 10**6) / 10**7}"


def running_with_cmdline(cmdline: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            state = (proc / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if cmd == cmdline and state not in (b"Z", b"X"):
            pids.append(int(proc.name))
    return pids


async def wait_processes(cmdline: str, predicate: Callable[[int], bool], timeout: float, what: str) -> float:
    """Wait until the number of running processes with ``cmdline`` satisfies ``predicate``; returns the seconds."""
    started = time.monotonic()
    while not predicate(len(running_with_cmdline(cmdline))):
        assert time.monotonic() - started < timeout, f"{what}: {running_with_cmdline(cmdline)} after {timeout} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def start_program(user: ApiUser, argv: list[str], **params: Any) -> str:
    response = await user.client.post("/api/jobs", json={"kind": "test_process", "params": {"argv": argv, **params}})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def wait_terminal(user: ApiUser, job_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = (await user.client.get(f"/api/jobs/{job_id}")).json()
        if job["status"] in TERMINAL:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout} s: {job}"
        await asyncio.sleep(0.05)


def with_grandchild(sleep: str) -> list[str]:
    # A subshell in the background whose own child is the sleep: a grandchild of the job's program.
    return ["sh", "-c", f"({sleep} & wait) & {sleep}"]


async def test_cancel_kills_the_program_and_its_children_within_3_s(
    make_user: MakeUser, worker: ServiceProcess, db_engine: Engine
) -> None:
    # Given a job whose program and grandchild sleep for ten minutes
    user = await make_user()
    sleep = marker()
    job_id = await start_program(user, with_grandchild(sleep))
    await wait_processes(sleep, lambda n: n == 2, 30, "the program did not start")

    # When the job is cancelled
    response = await user.client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 204

    # Then no process of it is left within 3 s
    seconds = await wait_processes(sleep, lambda n: n == 0, 3, "processes left after the cancel")
    assert seconds < 3
    # (a deleted job is a 404 in the API: its row tells)
    with db_engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": job_id}).scalar_one()
    assert status == "cancelled"


async def test_lost_lease_kills_the_program(make_user: MakeUser, worker: ServiceProcess, db_engine: Engine) -> None:
    # Given a job whose program sleeps for ten minutes
    user = await make_user()
    sleep = marker()
    job_id = await start_program(user, with_grandchild(sleep))
    await wait_processes(sleep, lambda n: n == 2, 30, "the program did not start")

    # When the job's claim passes to someone else (as when the sweeper re-claims a job it took for lost)
    with db_engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET claim_token = gen_random_uuid() WHERE id = :id"), {"id": job_id})

    # Then the worker's next lease renewal finds it gone and the program is killed
    await wait_processes(sleep, lambda n: n == 0, 5, "processes left after the lease was lost")


async def test_time_limit_kills_the_group_and_times_the_job_out(make_user: MakeUser, worker: ServiceProcess) -> None:
    # Given a program with a grandchild and a 1 s time limit
    user = await make_user()
    sleep = marker()
    job_id = await start_program(user, with_grandchild(sleep), timeout=1)
    # When it runs past it, Then the job ends timed out naming the command and the limit, and nothing is left
    job = await wait_terminal(user, job_id, 30)
    assert job["status"] == "timed_out", job
    assert job["error"] == f"`sh -c '({sleep} & wait) & {sleep}'` ran past its time limit of 1 s and was killed"
    await wait_processes(sleep, lambda n: n == 0, 3, "processes left after the time-out")


async def test_the_kinds_time_limit_kills_the_program(make_user: MakeUser, worker: ServiceProcess) -> None:
    # Given a kind whose jobs may run 2 s, and a program (with a grandchild) that has no time limit of its own
    user = await make_user()
    sleep = marker()
    response = await user.client.post(
        "/api/jobs", json={"kind": "test_process_limited", "params": {"argv": with_grandchild(sleep)}}
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    await wait_processes(sleep, lambda n: n == 2, 30, "the program did not start")
    # When the job runs past its time limit (raised into the worker thread), Then the job times out and the
    # thread's way out kills the program's group
    job = await wait_terminal(user, job_id, 30)
    assert job["status"] == "timed_out", job
    assert "time limit of 2 s" in job["error"]
    await wait_processes(sleep, lambda n: n == 0, 3, "processes left after the job's time limit")


async def test_output_limit_fails_the_job(make_user: MakeUser, worker: ServiceProcess) -> None:
    user = await make_user()
    job_id = await start_program(user, ["yes", "spam"], output_bytes=100_000, timeout=60)
    job = await wait_terminal(user, job_id, 30)
    assert job["status"] == "failed"
    assert job["error"] == "`yes spam` exceeded its output limit of 100000 bytes and was killed"


async def test_memory_limit_fails_the_job(make_user: MakeUser, worker: ServiceProcess) -> None:
    # Given a program that keeps allocating, and a 100 MB limit
    user = await make_user()
    grow = "import time\nb = []\nwhile True:\n    b.append(b'x' * 5_000_000); time.sleep(0.02)"
    job_id = await start_program(user, [sys.executable, "-c", grow], memory_mb=100, timeout=60)
    job = await wait_terminal(user, job_id, 40)
    assert job["status"] == "failed"
    assert job["error"].endswith("exceeded its memory limit of 100 MB and was killed"), job["error"]


async def test_log_lines_arrive_as_sse_events_and_are_kept(
    make_user: MakeUser, worker: ServiceProcess, redis_client: redis.Redis
) -> None:
    # Given a program printing 300 numbered lines in bursts, with pauses between them
    user = await make_user()
    argv = ["sh", "-c", "for i in $(seq 0 299); do echo line $i; [ $((i % 50)) = 49 ] && sleep 0.2; done; true"]
    job_id = await start_program(user, argv)

    # When its SSE stream is read to the end, from its first event on (resumed after the creation event, so
    # lines published before the client connected are replayed too)
    first = stream_entries(redis_client, job_id)[0]
    assert first.event == "status" and first.data["status"] == "queued"
    received = await read_events(
        user.client,
        f"/api/jobs/{job_id}/events",
        timeout=60,
        headers={"Last-Event-ID": first.id},
        stop=lambda es: any(map(is_terminal_status, es)),
    )
    logs = received.of_type("log")

    # Then every line came, once, in order, in batches (not one event per line)
    lines = [line for event in logs for line in event.data["lines"]]
    assert lines == [f"$ {' '.join(argv)}", *(f"line {i}" for i in range(300))]
    assert 2 <= len(logs) < 100
    assert all(e.data["job_id"] == job_id and e.data["command"] == " ".join(argv) for e in logs)
    assert received.of_type("status")[-1].data["status"] == "succeeded"

    # and the job keeps the last 200 lines, and the whole log as an artifact
    kept = (await user.client.get(f"/api/jobs/{job_id}/logs")).json()
    assert kept["lines"] == [f"line {i}" for i in range(100, 300)]
    whole = await user.client.get(kept["log_url"])
    assert whole.status_code == 200
    assert whole.text.splitlines()[1:-1] == [f"line {i}" for i in range(300)]


async def test_sandbox_confines_the_program_to_its_directory_without_network(
    make_user: MakeUser, worker: ServiceProcess, tmp_path: Path
) -> None:
    # Given a directory outside the job's, writable by the worker, and a TCP server on 127.0.0.1
    outside = tmp_path / "outside"
    outside.mkdir()
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    probe = (
        "import socket, pathlib\n"
        "pathlib.Path('inside').write_text('x'); print('inside ok')\n"
        f"try:\n    pathlib.Path('{outside}/bad').write_text('x'); print('outside written')\n"
        "except OSError as e:\n    print('outside refused')\n"
        f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3); print('network reached')\n"
        "except OSError as e:\n    print('network refused')\n"
    )
    user = await make_user()
    async with server:
        # When a job's program tries to write beside its directory and to connect, without network
        closed = await wait_terminal(user, await start_program(user, [sys.executable, "-c", probe]), 30)
        # and the same program in a step that asks for the network
        opened = await wait_terminal(user, await start_program(user, [sys.executable, "-c", probe], network=True), 30)
    # Then only its own directory took the write, and only the step with network reached the server
    assert closed["status"] == "succeeded", closed
    assert closed["result"]["sandboxed"] is True
    assert closed["result"]["tail"][-3:] == ["inside ok", "outside refused", "network refused"]
    assert opened["result"]["tail"][-3:] == ["inside ok", "outside refused", "network reached"]
    assert not (outside / "bad").exists()


@pytest.fixture(scope="module")
def stack(start_service: Callable[..., ServiceProcess], service_env: dict[str, str]) -> Iterator[IsolatedStack]:
    yield from isolated_stack(start_service, service_env, scheduler=False)


@pytest.fixture
def iso(stack: IsolatedStack) -> Iterator[IsolatedStack]:
    yield from stack.for_one_test()


async def test_worker_shutdown_kills_running_programs(iso: IsolatedStack) -> None:
    # Given a worker of its own running a job whose program sleeps for ten minutes
    worker = iso.start_worker(threads=1)
    user = await iso.make_user()
    sleep = marker()
    job_id = await start_program(user, with_grandchild(sleep))
    await wait_processes(sleep, lambda n: n == 2, 30, "the program did not start")

    # When the worker is stopped (SIGTERM, as a deploy does)
    worker.stop()

    # Then the program and its grandchild are gone, and the job is handed back for another worker
    await wait_processes(sleep, lambda n: n == 0, 3, "processes left after the worker stopped")
    job = iso.job(job_id)
    assert job["status"] in {"queued", "retrying"}, job
    await user.client.aclose()
