"""``GET /metrics`` with 100,000 jobs in the table, against the same scrape of an empty table and ``GET
/api/health`` measured in the same run.

The jobs are mostly finished (as in a deployment that has run a while): 96 % succeeded, 2 % failed, 1 % queued,
1 % running, over several kinds and queues. A scrape must not scan them: finished jobs are counted by counters
kept in Redis, active ones by an index range on status. Scrapes are sequential over one keep-alive connection
(Prometheus scrapes one target at a time); the figure is the server's response time as the client sees it.
"""

from __future__ import annotations

import time

import httpx
import psycopg

from tests.bench.common import HOST, BenchEnv, BenchResult, logged_exceptions, ms, percentile
from tests.support.services import free_port, wait_for_http

NAME = "metrics_scrape"
GOAL_MS = 50.0
TOKEN = "bench-metrics-token"
JOBS = 100_000


def _fill(env: BenchEnv, count: int) -> None:
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO jobs (id, owner_id, kind, params, status, priority, queue, max_attempts, attempts,
                              queued_at, started_at, finished_at)
            SELECT gen_random_uuid(), %s,
                   (ARRAY['test_noop', 'test_sleep', 'word_count'])[1 + i %% 3], '{}'::jsonb,
                   CASE WHEN i %% 100 = 0 THEN 'queued' WHEN i %% 100 = 1 THEN 'running'
                        WHEN i %% 50 = 2 THEN 'failed' ELSE 'succeeded' END,
                   'normal', (ARRAY['noop', 'test', 'words'])[1 + i %% 3], 3, 1,
                   now() - interval '1 hour', now() - interval '59 minutes',
                   CASE WHEN i %% 100 > 1 THEN now() - interval '58 minutes' END
            FROM generate_series(1, %s) AS i
            """,
            (env.user_id, count),
        )
        conn.execute("ANALYZE jobs")


def _timed(client: httpx.Client, path: str, count: int, headers: dict[str, str] | None = None) -> list[float]:
    for _ in range(5):  # warm up: connections, prepared plans
        client.get(path, headers=headers)
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")
    return latencies


def run(env: BenchEnv, quick: bool) -> BenchResult:
    count = 40 if quick else 200
    jobs = JOBS // 10 if quick else JOBS
    port = free_port()
    api = env.start_service(
        "api", "--host", HOST, "--port", str(port), name=NAME + "-api", env={"METRICS_TOKEN": TOKEN}
    )
    wait_for_http(f"http://{HOST}:{port}/api/health", api)
    scraper = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        empty = _timed(client, "/metrics", count, scraper)
        _fill(env, jobs)
        full = _timed(client, "/metrics", count, scraper)
        health = _timed(client, "/api/health", count)
        body = client.get("/metrics", headers=scraper).text
    p50, p99 = percentile(full, 50), percentile(full, 99)
    e50, h50 = percentile(empty, 50), percentile(health, 50)
    figures = {
        "jobs": jobs,
        "scrapes": count,
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "empty_table_p50_ms": round(e50, 2),
        "empty_table_p99_ms": round(percentile(empty, 99), 2),
        "health_p50_ms": round(h50, 2),
        "ratio_p50_vs_empty": round(p50 / e50, 2) if e50 else None,
        "ratio_p50_vs_health": round(p50 / h50, 2) if h50 else None,
        "body_bytes": len(body),
        "series": sum(1 for line in body.splitlines() if line and not line.startswith("#")),
        "api_log_errors": logged_exceptions(api.log_path),
    }
    summary = (
        f"/metrics with {jobs:,} jobs: p50 {ms(p50)} p99 {ms(p99)}; empty table p50 {ms(e50)} "
        f"(x{figures['ratio_p50_vs_empty']}); /api/health p50 {ms(h50)} (x{figures['ratio_p50_vs_health']})"
    )
    return BenchResult(
        NAME,
        summary,
        figures,
        goal=f"p50 under {GOAL_MS:.0f} ms with {JOBS:,} jobs",
        goal_met=p50 < GOAL_MS,
        notes=[f"{figures['series']} series, {len(body):,} bytes per scrape"],
    )
