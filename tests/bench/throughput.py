"""Trivial jobs end to end, against bare Dramatiq doing nothing with the same worker shape.

Ours: ``POST /api/jobs`` (test_noop) from a few concurrent clients -> one worker (1 process, 8 threads) ->
the terminal ``status`` event received on one multiplexed SSE stream (``GET /api/events``, opened before
posting). Jobs per second = N / (first POST -> N-th terminal event).

Baseline: ``python -m dramatiq tests.bench.baseline_actor --processes 1 --threads 8``, a no-op actor on a
plain RedisBroker; enqueue N messages and wait until the actor counted N.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import time
from dataclasses import dataclass, field

import msgspec
import redis

from tests.bench import baseline_actor
from tests.bench.common import (
    HOST,
    BenchEnv,
    BenchResult,
    install_uvloop,
    logged_exceptions,
)
from tests.bench.procstats import MachineLoad, database_cpu_seconds, tree_cpu_seconds, wait_until_quiet
from tests.bench.rawhttp import Connection, SseReader

NAME = "throughput"
GOAL_RATIO = 0.4
TERMINAL = frozenset({"succeeded", "failed", "cancelled", "timed_out"})
WORKER_PROCESSES = 1
WORKER_THREADS = 8


@dataclass(frozen=True)
class Plan:
    jobs: int
    baseline_messages: int
    posters: int = 8
    warm_up_jobs: int = 10
    timeout_seconds: float = 120


# Bare Dramatiq is an order of magnitude faster: it gets more messages so that its run lasts long enough
# to measure (the rates are compared, not the counts).
FULL = Plan(jobs=2000, baseline_messages=5000)
QUICK = Plan(jobs=200, baseline_messages=2000, timeout_seconds=60)


class _Event(msgspec.Struct):
    job_id: str | None = None
    status: str | None = None


_decode_event = msgspec.json.Decoder(_Event).decode


@dataclass
class Watcher:
    """Reads the multiplexed stream and records each job's terminal status and when it arrived."""

    terminal: dict[str, tuple[str, float]] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def watch(self, events: SseReader) -> None:
        while (event := await events.next_event()) is not None:
            if event.event != "status":
                continue
            head = _decode_event(event.data)
            if head.job_id is not None and head.status in TERMINAL:
                self.terminal.setdefault(head.job_id, (head.status, time.monotonic()))
                self.changed.set()

    async def wait_for(self, job_ids: set[str], deadline: float) -> bool:
        while not job_ids <= self.terminal.keys():
            self.changed.clear()
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    await self.changed.wait()
            except TimeoutError:
                return False
        return True


async def _post_jobs(port: int, headers: dict[str, str], count: int, posters: int) -> tuple[list[str], dict[int, int]]:
    """POST ``count`` test_noop jobs over ``posters`` keep-alive connections; returns ids and status counts."""
    body = msgspec.json.encode({"kind": "test_noop", "params": {}})
    request_headers = {**headers, "Content-Type": "application/json"}
    ids: list[str] = []
    statuses: collections.Counter[int] = collections.Counter()
    remaining = iter(range(count))

    async def poster() -> None:
        conn = await Connection.open(HOST, port)
        try:
            for _ in remaining:
                response = await conn.request("POST", "/api/jobs", request_headers, body)
                statuses[response.status] += 1
                if response.status == 202:
                    ids.append(msgspec.json.decode(response.body)["id"])
        finally:
            conn.close()

    await asyncio.gather(*(poster() for _ in range(posters)))
    return ids, dict(statuses)


@dataclass
class OursRun:
    jobs: int
    seconds: float
    post_seconds: float
    statuses: dict[int, int]
    outcomes: dict[str, int]
    api_cpu: float
    worker_cpu: float
    db_cpu: float
    machine_busy_cores: float


async def _ours(env: BenchEnv, port: int, plan: Plan, pids: tuple[int, int]) -> OursRun:
    conn = await Connection.open(HOST, port)
    watcher = Watcher()
    try:
        status, events = await conn.open_sse("/api/events", env.auth_headers)
        if status != 200:
            raise RuntimeError(f"GET /api/events answered {status}")
        watch_task = asyncio.create_task(watcher.watch(events))
        # The response head comes before the stream subscribes; a job finished before that would be in
        # neither the snapshot (active jobs only) nor the live events.
        await asyncio.sleep(0.5)
        # Warm-up: proves the stream is subscribed and the worker consumes before the clock starts.
        warm_ids, _ = await _post_jobs(port, env.auth_headers, plan.warm_up_jobs, 2)
        if not await watcher.wait_for(set(warm_ids), time.monotonic() + 30):
            raise RuntimeError("warm-up jobs did not finish within 30 s (is the worker consuming?)")
        # The worker runs jobs before its start-up is over (its extraction pool's processes are still
        # importing): the clock and the CPU counters start once it is idle.
        await asyncio.to_thread(wait_until_quiet, pids[1])
        cpu_before = tree_cpu_seconds(pids[0]), tree_cpu_seconds(pids[1]), database_cpu_seconds(env.database_name)
        load = MachineLoad()
        start = time.monotonic()
        ids, statuses = await _post_jobs(port, env.auth_headers, plan.jobs, plan.posters)
        posted = time.monotonic()
        finished = await watcher.wait_for(set(ids), start + plan.timeout_seconds)
        cpu_after = tree_cpu_seconds(pids[0]), tree_cpu_seconds(pids[1]), database_cpu_seconds(env.database_name)
        busy = load.busy_cores()
        done = [watcher.terminal[j] for j in ids if j in watcher.terminal]
        end = max((at for _, at in done), default=time.monotonic()) if finished else time.monotonic()
        watch_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch_task
    finally:
        conn.close()
    return OursRun(
        jobs=len(done),
        seconds=end - start,
        post_seconds=posted - start,
        statuses=statuses,
        outcomes=dict(collections.Counter(s for s, _ in done)),
        api_cpu=cpu_after[0] - cpu_before[0],
        worker_cpu=cpu_after[1] - cpu_before[1],
        db_cpu=cpu_after[2] - cpu_before[2],
        machine_busy_cores=busy,
    )


def _baseline(env: BenchEnv, plan: Plan) -> tuple[int, float, float]:
    """Bare Dramatiq: messages processed, seconds from the first enqueue to the last one processed, and the
    worker's CPU seconds meanwhile."""
    worker = env.start_module(
        "dramatiq",
        "tests.bench.baseline_actor",
        "--processes",
        str(WORKER_PROCESSES),
        "--threads",
        str(WORKER_THREADS),
        name=NAME + "-baseline-worker",
        env={"dramatiq_worker_timeout": "100"},
    )
    client = redis.Redis.from_url(env.redis_url)
    broker = baseline_actor.make_broker(env.redis_url)
    try:
        broker.enqueue(baseline_actor.make_message())
        if not _wait_count(client, 1, time.monotonic() + 30):
            raise RuntimeError(f"the bare Dramatiq worker did not start within 30 s; see {worker.log_path}")
        cpu = tree_cpu_seconds(worker.pid)
        start = time.monotonic()
        for _ in range(plan.baseline_messages):
            broker.enqueue(baseline_actor.make_message())
        _wait_count(client, plan.baseline_messages + 1, start + plan.timeout_seconds)
        seconds = time.monotonic() - start
        cpu = tree_cpu_seconds(worker.pid) - cpu
        processed = int(client.get(baseline_actor.DONE_KEY) or 0) - 1
    finally:
        worker.stop()
        broker.close()
        client.close()
    return processed, seconds, cpu


def _wait_count(client: redis.Redis, count: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if int(client.get(baseline_actor.DONE_KEY) or 0) >= count:
            return True
        time.sleep(0.005)
    return False


def run(env: BenchEnv, quick: bool) -> BenchResult:
    plan = QUICK if quick else FULL
    base_done, base_seconds, base_cpu = _baseline(env, plan)
    base_rate = base_done / base_seconds
    print(f"  {NAME}: bare Dramatiq processed {base_done} no-op messages in {base_seconds:.2f} s", flush=True)

    api, port = env.start_api(name=NAME + "-api")
    worker = env.start_worker(port, processes=WORKER_PROCESSES, threads=WORKER_THREADS, name=NAME + "-worker")
    install_uvloop()
    ours = asyncio.run(_ours(env, port, plan, (api.pid, worker.pid)))
    rate = ours.jobs / ours.seconds
    ratio = rate / base_rate if base_rate else float("nan")
    per_job = 1000 / max(ours.jobs, 1)
    figures = {
        "jobs": plan.jobs,
        "jobs_finished": ours.jobs,
        "outcomes": ours.outcomes,
        "post_statuses": ours.statuses,
        "seconds": round(ours.seconds, 2),
        "jobs_per_second": round(rate, 1),
        "post_seconds": round(ours.post_seconds, 2),
        "post_rate": round(plan.jobs / ours.post_seconds, 1),
        "api_cpu_ms_per_job": round(ours.api_cpu * per_job, 2),
        "worker_cpu_ms_per_job": round(ours.worker_cpu * per_job, 2),
        "postgres_cpu_ms_per_job": round(ours.db_cpu * per_job, 2),
        "machine_busy_cores": round(ours.machine_busy_cores, 2),
        "baseline_messages": base_done,
        "baseline_seconds": round(base_seconds, 2),
        "baseline_per_second": round(base_rate, 1),
        "baseline_worker_cpu_ms_per_message": round(base_cpu * 1000 / max(base_done, 1), 3),
        "ratio": round(ratio, 3),
        "worker_log_errors": logged_exceptions(worker.log_path),
        "api_log_errors": logged_exceptions(api.log_path),
    }
    summary = (
        f"{rate:.0f} jobs/s end to end ({ours.jobs}/{plan.jobs} finished in {ours.seconds:.1f} s, POSTs took "
        f"{ours.post_seconds:.1f} s); bare Dramatiq {base_rate:.0f} msg/s; ratio ours/baseline {ratio:.2f}"
    )
    notes = [
        f"CPU per job: API {figures['api_cpu_ms_per_job']} ms, worker {figures['worker_cpu_ms_per_job']} ms, "
        f"Postgres {figures['postgres_cpu_ms_per_job']} ms; bare Dramatiq worker "
        f"{figures['baseline_worker_cpu_ms_per_message']} ms per message; machine busy "
        f"{ours.machine_busy_cores:.1f}/{os.cpu_count()} cores meanwhile"
    ]
    if ours.jobs < plan.jobs or set(ours.outcomes) - {"succeeded"}:
        notes.append(f"outcomes {ours.outcomes}, POST statuses {ours.statuses}; worker log {worker.log_path}")
    return BenchResult(
        NAME,
        summary,
        figures,
        goal=f"ours/bare Dramatiq >= {GOAL_RATIO}",
        goal_met=ratio >= GOAL_RATIO and ours.jobs == plan.jobs,
        notes=notes,
    )
