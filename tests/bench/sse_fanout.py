"""SSE fan-out on one API process: how many streams it holds, RSS per idle stream, publish->receive latency.

1. One API process; N queued jobs inserted with SQL (no worker: nothing changes them).
2. Client processes (``tests.bench.sse_clients``) open one ``GET /api/jobs/{id}/events`` per job at a
   bounded rate, capped in time; a stream counts as held once its ``snapshot`` event arrived.
3. API RSS before and after opening them gives KB per idle stream. Memory baseline: the same number of
   streams on a bare Litestar SSE app (``tests.bench.bare_sse_app``), the framework's floor. The API's CPU
   per open is printed against the bare app's, opened at the same rate: the cost of accepting a connection
   and starting a Litestar SSE response on this machine, without auth, snapshot or subscription.
4. ``db.live.LivePublisher`` publishes progress events at a fixed rate to random held jobs, each carrying
   its send time; the clients measure publish->receive latency. Latency baseline: a plain redis pub/sub
   subscriber (no API) on the same channels, receiving the same events at the same time, so under the
   same noise.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe

import redis

from db.live import LiveEvent, LivePublisher, Progress, job_channel
from tests.bench.common import (
    HOST,
    BenchEnv,
    BenchResult,
    logged_exceptions,
    ms,
    percentile,
    raise_nofile_limit,
)
from tests.bench.procstats import MachineLoad, cpu_seconds, rss_kb
from tests.bench.rawhttp import Connection
from tests.bench.sse_clients import OPEN_ATTEMPTS, ClientPool, OpenReport, receive, sent_ns, spawn, stop
from tests.support.services import free_port, wait_for_http

NAME = "sse_fanout"
GOAL_P99_MS = 100.0
GOAL_KB_PER_STREAM = 30.0
SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class Plan:
    streams: int
    clients: int
    open_rate: float  # new streams per second, all clients together
    open_seconds: float  # cap on the opening phase
    max_pending: int  # streams opening at once, per client
    publish_rate: float
    publish_seconds: float


# 300 streams/s is what one API process keeps up with on a slow 2-core box (2-3 ms of its CPU each; the bare app
# takes about 2 ms there), so 10,000 take about 35 s; the cap keeps a slower run bounded (it then reports how
# many it held). The bare app opens at the same rate, so that its CPU per open compares with ours.
FULL = Plan(
    streams=10_000, clients=2, open_rate=300, open_seconds=75, max_pending=100, publish_rate=1000, publish_seconds=10
)
QUICK = Plan(
    streams=1_000, clients=1, open_rate=300, open_seconds=15, max_pending=100, publish_rate=1000, publish_seconds=3
)


def pubsub_baseline_main(pipe: Pipe, url: str, job_ids: list[str]) -> None:
    """Entry of the baseline process: one plain redis pub/sub subscriber on the same channels."""
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub()
    channels = [job_channel(j) for j in job_ids]
    for i in range(0, len(channels), 1000):
        pubsub.subscribe(*channels[i : i + 1000])
    confirmed = 0
    while confirmed < len(channels):
        message = pubsub.get_message(timeout=5.0)
        if message is None:
            break
        confirmed += message["type"] == "subscribe"
    # As in the SSE clients: the measuring process's own collections are not what is measured.
    gc.collect()
    gc.freeze()
    pipe.send(confirmed)
    latencies: list[int] = []
    while not pipe.poll():
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message is not None and message["type"] == "message":
            sent = sent_ns(message["data"])
            if sent is not None:
                latencies.append(time.time_ns() - sent)
    pipe.recv()
    pipe.send(latencies)
    pubsub.close()
    client.close()


@dataclass
class PublishStats:
    sent: int = 0
    seconds: float = 0.0
    max_behind_ms: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def publish_events(url: str, owner_id: uuid.UUID, job_ids: list[str], rate: float, seconds: float) -> PublishStats:
    """Open loop: one event every 1/rate s to a random job, each stamped with its send time."""
    client = redis.Redis.from_url(url)
    publisher = LivePublisher(client)
    jobs = [uuid.UUID(j) for j in job_ids]
    stats = PublishStats()
    start = time.monotonic()
    try:
        for n in range(int(rate * seconds)):
            due = start + n / rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            else:
                stats.max_behind_ms = max(stats.max_behind_ms, (now - due) * 1000)
            body = Progress(random.choice(jobs), n, 0, 0.0, str(time.time_ns()))
            publisher.publish([LiveEvent(owner_id, body)])
            stats.sent += 1
    finally:
        stats.seconds = time.monotonic() - start
        client.close()
    return stats


def _warm_up(port: int, api_key: str, job_ids: list[str]) -> None:
    """Open and close a few streams so lazy imports and pools are paid before measuring RSS."""

    async def one(job_id: str) -> None:
        conn = await Connection.open(HOST, port)
        try:
            _, events = await conn.open_sse(f"/api/jobs/{job_id}/events", {"Authorization": f"Bearer {api_key}"})
            await events.next_event()
        finally:
            conn.close()

    async def all_of_them() -> None:
        await asyncio.gather(*(one(j) for j in job_ids))

    asyncio.run(all_of_them())
    time.sleep(1.0)


@dataclass
class Bare:
    kb_per_stream: float
    held: int
    cpu_ms_per_open: float


def _bare(env: BenchEnv, plan: Plan, job_ids: list[str]) -> Bare:
    """RSS per idle stream of the bare Litestar SSE app, how many streams it held, and its CPU per open (at the
    same rate as ours: what accepting a connection and starting a Litestar SSE response cost on this machine)."""
    port = free_port()
    app = env.start_module("tests.bench.bare_sse_app", str(port), name=NAME + "-bare-app")
    try:
        wait_for_http(f"http://{HOST}:{port}/api/health", app)  # type: ignore[arg-type]  # same duck type
        _warm_up(port, "", job_ids[:50])
        before, cpu = rss_kb(app.pid), cpu_seconds(app.pid)
        pool = ClientPool(
            plan.clients,
            port,
            "",
            job_ids,
            rate=plan.open_rate,
            seconds=plan.open_seconds,
            max_pending=plan.max_pending,
        )
        try:
            held = pool.wait_open().held
            cpu = cpu_seconds(app.pid) - cpu
            time.sleep(SETTLE_SECONDS)
            after = rss_kb(app.pid)
        finally:
            pool.close()
    finally:
        app.stop()
    if not held:
        return Bare(float("nan"), 0, float("nan"))
    return Bare((after - before) / held, held, cpu * 1000 / held)


@dataclass
class Measured:
    report: OpenReport
    open_cpu_seconds: float
    rss_before: int
    rss_after: int
    stats: PublishStats
    publish_cpu_seconds: float
    ours_ms: list[float]
    ended: dict[str, int]
    subscribed: int
    baseline_ms: list[float]
    machine_busy_cores: float

    @property
    def kb_per_stream(self) -> float:
        return (self.rss_after - self.rss_before) / self.report.held if self.report.held else float("nan")


def _measure(env: BenchEnv, plan: Plan, api_pid: int, port: int, job_ids: list[str]) -> Measured:
    _warm_up(port, env.api_key, job_ids[:50])
    rss_before = rss_kb(api_pid)
    cpu = cpu_seconds(api_pid)
    pool = ClientPool(
        plan.clients,
        port,
        env.api_key,
        job_ids,
        rate=plan.open_rate,
        seconds=plan.open_seconds,
        max_pending=plan.max_pending,
    )
    baseline = None
    try:
        report = pool.wait_open()
        open_cpu = cpu_seconds(api_pid) - cpu
        time.sleep(SETTLE_SECONDS)
        rss_after = rss_kb(api_pid)
        print(
            f"  {NAME}: held {report.held}/{plan.streams} streams after {report.seconds:.1f} s; "
            f"API RSS {rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MiB",
            flush=True,
        )
        if not report.held:
            raise RuntimeError(f"no stream held: {dict(report.open_errors)}")
        baseline = spawn(pubsub_baseline_main, env.redis_url, report.held_ids)
        subscribed = receive(baseline[1], 60, "pub/sub baseline")
        cpu, load = cpu_seconds(api_pid), MachineLoad()
        stats = publish_events(env.redis_url, env.user_id, report.held_ids, plan.publish_rate, plan.publish_seconds)
        publish_cpu = cpu_seconds(api_pid) - cpu
        busy = load.busy_cores()
        time.sleep(SETTLE_SECONDS)  # stragglers
        ours_ns, ended = pool.collect()
        baseline[1].send("stop")
        baseline_ns: list[int] = receive(baseline[1], 30, "pub/sub baseline")
    finally:
        pool.close()
        if baseline is not None:
            stop(*baseline, say_close=False)
    return Measured(
        report,
        open_cpu,
        rss_before,
        rss_after,
        stats,
        publish_cpu,
        [n / 1e6 for n in ours_ns],
        dict(ended),
        subscribed,
        [n / 1e6 for n in baseline_ns],
        busy,
    )


def run(env: BenchEnv, quick: bool) -> BenchResult:
    plan = QUICK if quick else FULL
    raise_nofile_limit()
    job_ids = env.insert_jobs(plan.streams)
    bare = _bare(env, plan, job_ids)
    print(
        f"  {NAME}: bare Litestar SSE app: {bare.kb_per_stream:.1f} KB per idle stream ({bare.held} streams), "
        f"{bare.cpu_ms_per_open:.2f} ms of CPU per open",
        flush=True,
    )
    api, port = env.start_api(name=NAME + "-api")
    try:
        m = _measure(env, plan, api.pid, port, job_ids)
    finally:
        api.stop()

    r = m.report
    server_errors = logged_exceptions(api.log_path)
    p50, p99 = percentile(m.ours_ms, 50), percentile(m.ours_ms, 99)
    b50, b99 = percentile(m.baseline_ms, 50), percentile(m.baseline_ms, 99)
    api_cpu_ms_per_open = m.open_cpu_seconds * 1000 / r.held if r.held else None
    figures = {
        "streams_target": plan.streams,
        "streams_held": r.held,
        "open_seconds": round(r.seconds, 2),
        "open_rate_achieved": round(r.held / r.seconds, 1) if r.seconds else None,
        "open_attempts_failed": dict(r.open_errors),
        "streams_failed_after_retries": r.failed,
        "streams_not_attempted_time_cap": r.not_attempted,
        "streams_dropped_after_snapshot": dict(r.dropped_after_snapshot),
        "api_cpu_ms_per_open": round(api_cpu_ms_per_open, 2) if api_cpu_ms_per_open else None,
        "api_log_errors": server_errors,
        "api_rss_before_kb": m.rss_before,
        "api_rss_after_open_kb": m.rss_after,
        "kb_per_idle_stream": round(m.kb_per_stream, 2),
        "bare_litestar_kb_per_idle_stream": round(bare.kb_per_stream, 2),
        "bare_litestar_streams_held": bare.held,
        "bare_litestar_cpu_ms_per_open": round(bare.cpu_ms_per_open, 2),
        "api_cpu_per_open_ratio_to_bare": round(api_cpu_ms_per_open / bare.cpu_ms_per_open, 2)
        if api_cpu_ms_per_open
        else None,
        "publish_rate_target": plan.publish_rate,
        "published": m.stats.sent,
        "publish_rate_achieved": round(m.stats.rate, 1),
        "publisher_max_behind_ms": round(m.stats.max_behind_ms, 1),
        "api_core_share_during_publish": round(m.publish_cpu_seconds / m.stats.seconds, 2),
        "machine_busy_cores_during_publish": round(m.machine_busy_cores, 2),
        "received": len(m.ours_ms),
        "streams_ended_during_publish": m.ended,
        "latency_p50_ms": round(p50, 2),
        "latency_p90_ms": round(percentile(m.ours_ms, 90), 2),
        "latency_p99_ms": round(p99, 2),
        "latency_max_ms": round(max(m.ours_ms, default=float("nan")), 2),
        "baseline_subscribed_channels": m.subscribed,
        "baseline_received": len(m.baseline_ms),
        "baseline_p50_ms": round(b50, 2),
        "baseline_p99_ms": round(b99, 2),
    }
    summary = (
        f"held {r.held}/{plan.streams} streams; idle RSS {m.kb_per_stream:.1f} KB/stream (bare Litestar SSE "
        f"{bare.kb_per_stream:.1f}); latency p50 {ms(p50)} p99 {ms(p99)} at {m.stats.rate:.0f} ev/s "
        f"({len(m.ours_ms)}/{m.stats.sent} received; redis pub/sub baseline p50 {ms(b50)} p99 {ms(b99)})"
    )
    notes = [
        f"opening took {r.seconds:.0f} s ({figures['open_rate_achieved']} streams/s, "
        f"{figures['api_cpu_ms_per_open']} ms of API CPU each; bare Litestar SSE {bare.cpu_ms_per_open:.2f} ms at the "
        f"same rate: ratio {figures['api_cpu_per_open_ratio_to_bare']})"
    ]
    if r.open_errors or r.held < plan.streams:
        notes.append(
            f"{sum(r.open_errors.values())} open attempt(s) failed ({dict(r.open_errors)}), {r.failed} stream(s) "
            f"failed after {OPEN_ATTEMPTS} attempts, {r.not_attempted} not attempted within {plan.open_seconds:.0f} "
            f"s, {sum(r.dropped_after_snapshot.values())} dropped by the server after their snapshot; "
            f"API log errors: {server_errors or 'none'} ({api.log_path})"
        )
    if m.ended:
        notes.append(f"streams ended while publishing: {m.ended}")
    return BenchResult(
        NAME,
        summary,
        figures,
        goal=f"{plan.streams} streams, p99 < {GOAL_P99_MS:.0f} ms, < {GOAL_KB_PER_STREAM:.0f} KB/idle stream",
        goal_met=r.held == plan.streams and p99 < GOAL_P99_MS and m.kb_per_stream < GOAL_KB_PER_STREAM,
        notes=notes,
    )
