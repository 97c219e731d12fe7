"""``POST /api/jobs`` latency at a fixed request rate (open loop), against ``GET /api/me`` at the same rate.

Open loop: request i is due at start + i/rate whether or not earlier ones have answered, and its latency
is counted from that due time, so a stalled server shows up as latency instead of as a slower client
(no coordinated omission). Requests go over a pool of keep-alive connections, opening more when all are
busy. No worker runs: the jobs just queue, so the figure is the API's own cost (its database transaction
and the enqueue to Redis) without a worker competing for the same two cores.

The baseline, ``GET /api/me``, costs the same authentication query and framework work without the
insert, the state-machine event and the enqueue. A second one, ``GET /api/jobs/{id}``, adds one Postgres
round trip (the job's read) to that: the least a request that stores something durably must pay on top.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from dataclasses import dataclass

import msgspec

from tests.bench.common import (
    HOST,
    BenchEnv,
    BenchResult,
    install_uvloop,
    logged_exceptions,
    ms,
    percentile,
)
from tests.bench.procstats import MachineLoad, cpu_seconds, database_cpu_seconds
from tests.bench.rawhttp import Connection

NAME = "create_latency"
GOAL_P99_MS = 25.0
MAX_CONNECTIONS = 64
REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Plan:
    rate: float
    seconds: float
    warm_up: int = 100


FULL = Plan(rate=200, seconds=10)
QUICK = Plan(rate=200, seconds=3)


@dataclass
class Series:
    latencies_ms: list[float]
    statuses: dict[str, int]
    seconds: float
    connections: int
    api_cpu_seconds: float = 0.0
    db_cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    machine_busy_cores: float = 0.0  # everything on the machine, neighbours included

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    @property
    def cpu_ms_per_request(self) -> float:
        return self.api_cpu_seconds * 1000 / max(1, len(self.latencies_ms))

    @property
    def api_load(self) -> float:
        """Share of one core the API used."""
        return self.api_cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def others_cores(self) -> float:
        """Cores busy with anything but the API, its Postgres backends and this client (neighbours, Redis)."""
        ours = self.api_cpu_seconds + self.db_cpu_seconds + self.client_cpu_seconds
        return max(0.0, self.machine_busy_cores - ours / self.seconds) if self.seconds else 0.0


async def open_loop(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes | None, rate: float, count: int
) -> Series:
    """Send ``count`` requests on schedule at ``rate`` per second; latency from each one's due time.

    A request due while all ``MAX_CONNECTIONS`` connections are busy waits for one, and that wait counts.
    """
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    opened: list[Connection] = []
    latencies: list[float] = []
    statuses: collections.Counter[str] = collections.Counter()
    tasks: set[asyncio.Task[None]] = set()

    async def send(due: float) -> None:
        conn: Connection | None = None
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                if idle.empty() and len(opened) < MAX_CONNECTIONS:
                    conn = await Connection.open(HOST, port)
                    opened.append(conn)
                else:
                    conn = await idle.get()
                response = await conn.request(method, path, headers, body)
        except (OSError, EOFError, TimeoutError, ValueError) as exc:
            statuses[type(exc).__name__] += 1
            if conn is not None:
                conn.close()
                opened.remove(conn)
            return
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[str(response.status)] += 1
        idle.put_nowait(conn)

    start = time.perf_counter() + 0.05
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks)
    seconds = time.perf_counter() - start
    used = len(opened)
    for conn in opened:
        conn.close()
    return Series(latencies, dict(statuses), seconds, used)


async def _series(
    env: BenchEnv,
    api_pid: int,
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    plan: Plan,
) -> Series:
    """One open-loop series, with the CPU the API, its Postgres backends and this client used meanwhile."""
    api, db, own = cpu_seconds(api_pid), database_cpu_seconds(env.database_name), time.process_time()
    load = MachineLoad()
    series = await open_loop(port, method, path, headers, body, plan.rate, int(plan.rate * plan.seconds))
    series.machine_busy_cores = load.busy_cores()
    series.api_cpu_seconds = cpu_seconds(api_pid) - api
    series.db_cpu_seconds = database_cpu_seconds(env.database_name) - db
    series.client_cpu_seconds = time.process_time() - own
    return series


async def _measure(env: BenchEnv, port: int, plan: Plan, api_pid: int) -> tuple[Series, Series, Series]:
    create = msgspec.json.encode({"kind": "test_noop", "params": {}})
    post_headers = {**env.auth_headers, "Content-Type": "application/json"}
    read_path = f"/api/jobs/{env.insert_jobs(1)[0]}"
    # Warm-up of every path (lazy imports, connection pools, prepared statements).
    await open_loop(port, "GET", "/api/me", env.auth_headers, None, plan.rate, plan.warm_up)
    await open_loop(port, "GET", read_path, env.auth_headers, None, plan.rate, plan.warm_up)
    await open_loop(port, "POST", "/api/jobs", post_headers, create, plan.rate, plan.warm_up)
    baseline = await _series(env, api_pid, port, "GET", "/api/me", env.auth_headers, None, plan)
    read = await _series(env, api_pid, port, "GET", read_path, env.auth_headers, None, plan)
    ours = await _series(env, api_pid, port, "POST", "/api/jobs", post_headers, create, plan)
    return ours, baseline, read


def run(env: BenchEnv, quick: bool) -> BenchResult:
    plan = QUICK if quick else FULL
    api, port = env.start_api(name=NAME + "-api")
    install_uvloop()
    ours, base, read = asyncio.run(_measure(env, port, plan, api.pid))
    p50, p99 = ours.p(50), ours.p(99)
    b50, b99 = base.p(50), base.p(99)
    figures = {
        "rate": plan.rate,
        "requests": len(ours.latencies_ms),
        "statuses": ours.statuses,
        "p50_ms": round(p50, 2),
        "p90_ms": round(ours.p(90), 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(max(ours.latencies_ms, default=float("nan")), 2),
        "connections_used": ours.connections,
        "baseline_requests": len(base.latencies_ms),
        "baseline_statuses": base.statuses,
        "baseline_p50_ms": round(b50, 2),
        "baseline_p99_ms": round(b99, 2),
        "ratio_p50": round(p50 / b50, 2) if b50 else None,
        "ratio_p99": round(p99 / b99, 2) if b99 else None,
        "api_cpu_ms_per_request": round(ours.cpu_ms_per_request, 2),
        "api_core_share": round(ours.api_load, 2),
        "baseline_api_cpu_ms_per_request": round(base.cpu_ms_per_request, 2),
        "baseline_api_core_share": round(base.api_load, 2),
        "api_cpu_ratio_to_get_me": round(ours.cpu_ms_per_request / base.cpu_ms_per_request, 2)
        if base.cpu_ms_per_request
        else None,
        "read_api_cpu_ms_per_request": round(read.cpu_ms_per_request, 2),
        "read_p99_ms": round(read.p(99), 2),
        "read_postgres_cpu_ms_per_request": round(read.db_cpu_seconds * 1000 / max(1, len(read.latencies_ms)), 2),
        "api_cpu_ratio_to_get_job": round(ours.cpu_ms_per_request / read.cpu_ms_per_request, 2)
        if read.cpu_ms_per_request
        else None,
        "postgres_cpu_ms_per_request": round(ours.db_cpu_seconds * 1000 / max(1, len(ours.latencies_ms)), 2),
        "baseline_postgres_cpu_ms_per_request": round(base.db_cpu_seconds * 1000 / max(1, len(base.latencies_ms)), 2),
        "machine_busy_cores": round(ours.machine_busy_cores, 2),
        "other_processes_cores": round(ours.others_cores, 2),
        "baseline_machine_busy_cores": round(base.machine_busy_cores, 2),
        "baseline_other_processes_cores": round(base.others_cores, 2),
        "worker_running": False,
        "api_log_errors": logged_exceptions(api.log_path),
    }
    summary = (
        f"POST /api/jobs at {plan.rate:.0f} req/s (no worker): p50 {ms(p50)} p99 {ms(p99)}; "
        f"GET /api/me baseline p50 {ms(b50)} p99 {ms(b99)}; ratio p99 {figures['ratio_p99']}"
    )
    notes = [
        f"API CPU per request: POST {ours.cpu_ms_per_request:.2f} ms ({ours.api_load:.0%} of a core at this rate), "
        f"GET /api/me {base.cpu_ms_per_request:.2f} ms ({base.api_load:.0%}); machine busy "
        f"{ours.machine_busy_cores:.1f}/{os.cpu_count()} cores during POST ({ours.others_cores:.1f} of them other "
        f"processes), {base.machine_busy_cores:.1f} during GET ({base.others_cores:.1f}); POST / GET /api/me "
        f"{figures['api_cpu_ratio_to_get_me']}",
        f"GET /api/jobs/{{id}} (one Postgres read): API CPU {read.cpu_ms_per_request:.2f} ms per request, p99 "
        f"{ms(read.p(99))}; POST / it {figures['api_cpu_ratio_to_get_job']}",
    ]
    unexpected = {k: v for k, v in ours.statuses.items() if k != "202"}
    unexpected_base = {k: v for k, v in base.statuses.items() if k != "200"}
    unexpected_read = {k: v for k, v in read.statuses.items() if k != "200"}
    if unexpected or unexpected_base or unexpected_read:
        notes.append(
            f"non-success answers: POST {unexpected}, GET /api/me {unexpected_base}, GET /api/jobs/{{id}} "
            f"{unexpected_read}"
        )
    return BenchResult(
        NAME,
        summary,
        figures,
        goal=f"p99 < {GOAL_P99_MS:.0f} ms",
        goal_met=p99 < GOAL_P99_MS,
        notes=notes,
    )
