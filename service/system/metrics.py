"""``GET /metrics``: Prometheus text, cheap whatever the number of jobs.

* Counters and histograms (transitions, queue wait and run time, retries, sweeper, leases, SSE, notifications,
  payments) are added to Redis by every process where things happen (``db.observe``): one ``HGETALL`` each.
* Gauges come from indexed queries and small Redis reads: active jobs (``status IN (active)`` on
  ``ix_jobs_status_kind``: finished jobs are never scanned), messages waiting and dead-lettered per queue,
  paused queues, live workers, and this process's open SSE streams.

Off (404) unless configured: ``METRICS_TOKEN`` makes it answer scrapers that send ``Authorization: Bearer
<token>``; ``METRICS_PUBLIC=1`` opens it to anyone (for a port only the monitoring network reaches).
"""

from __future__ import annotations

import hmac
from typing import Any

import anyio
from litestar import Controller, Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from actors.broker import NAMESPACE
from actors.observe.presence import live_workers
from actors.pause import PAUSED_KEY
from db.models import Job
from db.observe.recorder import RECORDER
from db.statuses import TERMINAL, JobStatus
from service.errors import NotFound, Unauthorized
from service.resources import Resources, get_resources
from service.settings import MetricsSettings
from service.system.queue_names import known_queues
from service.system.recorded import recorded_families

ACTIVE = [s.value for s in JobStatus if s not in TERMINAL]


class _Snapshot:
    """A collector that yields metrics computed just before rendering."""

    def __init__(self, families: list[Any]) -> None:
        self._families = families

    def collect(self) -> list[Any]:
        return self._families


async def _job_gauges(res: Resources) -> list[Any]:
    async with res.sessions() as session:
        rows = (
            await session.execute(
                select(Job.kind, Job.queue, Job.status, func.count())
                .where(Job.status.in_(ACTIVE))
                .group_by(Job.kind, Job.queue, Job.status)
            )
        ).all()
    jobs = GaugeMetricFamily(
        "genjobs_jobs", "Active jobs (not finished) by kind, queue and status.", labels=["kind", "queue", "status"]
    )
    for kind, queue, status, count in rows:
        jobs.add_metric([kind, queue, status], count)
    return [jobs]


async def _broker_gauges(res: Resources) -> list[Any]:
    queues = sorted(known_queues())
    pipe = res.redis.pipeline(transaction=False)
    for name in queues:
        pipe.llen(f"{NAMESPACE}:{name}")
        pipe.zcard(f"{NAMESPACE}:{name}.DQ")
        pipe.zcard(f"{NAMESPACE}:{name}.XQ")
    pipe.smembers(PAUSED_KEY)
    *counts, paused_raw = await pipe.execute()
    paused = {p.decode() if isinstance(p, bytes) else str(p) for p in paused_raw}
    waiting = GaugeMetricFamily("genjobs_queue_messages", "Messages waiting in the broker's queue.", labels=["queue"])
    delayed = GaugeMetricFamily("genjobs_queue_delayed_messages", "Delayed messages (retries).", labels=["queue"])
    dead = GaugeMetricFamily("genjobs_dead_letters", "Dead-lettered messages kept by the broker.", labels=["queue"])
    paused_family = GaugeMetricFamily("genjobs_queue_paused", "1 while the queue is paused.", labels=["queue"])
    for i, name in enumerate(queues):
        waiting.add_metric([name], counts[3 * i])
        delayed.add_metric([name], counts[3 * i + 1])
        dead.add_metric([name], counts[3 * i + 2])
        paused_family.add_metric([name], 1.0 if name in paused else 0.0)
    workers = await live_workers(res.redis)
    live = GaugeMetricFamily("genjobs_workers_live", "Worker processes heard from recently.")
    live.add_metric([], len(workers))
    by_queue = GaugeMetricFamily("genjobs_queue_workers", "Live worker processes consuming a queue.", labels=["queue"])
    busy = GaugeMetricFamily("genjobs_worker_threads_busy", "Worker threads running a job, all workers.")
    threads = GaugeMetricFamily("genjobs_worker_threads", "Worker threads, all live workers.")
    for name in queues:
        by_queue.add_metric([name], sum(1 for w in workers if name in w.queues))
    busy.add_metric([], sum(w.busy for w in workers))
    threads.add_metric([], sum(w.threads for w in workers))
    return [waiting, delayed, dead, paused_family, live, by_queue, busy, threads]


async def _families(res: Resources) -> list[Any]:
    # This process's own increments first, so a scrape sees what it just did.
    await anyio.to_thread.run_sync(RECORDER.flush)
    streams = GaugeMetricFamily("genjobs_sse_streams_open", "SSE subscriptions open in this API process.")
    streams.add_metric([], res.hub.subscription_count)
    return [
        *(await _job_gauges(res)),
        *(await _broker_gauges(res)),
        *(await recorded_families(res.redis)),
        streams,
    ]


def check_scraper(config: MetricsSettings, authorization: str | None) -> None:
    """Let the request through if the settings allow it.

    Raises:
        NotFound: metrics are off (no token, not public): nothing tells a stranger they exist.
        Unauthorized: a token is configured and the request does not carry it.
    """
    if config.token:
        scheme, _, credential = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), config.token.encode()):
            raise Unauthorized(
                "Metrics need 'Authorization: Bearer <METRICS_TOKEN>'.", headers={"WWW-Authenticate": "Bearer"}
            )
    elif not config.public:
        raise NotFound("Not found.")


class MetricsController(Controller):
    tags = ("system",)

    @get("/metrics", operation_id="metrics", include_in_schema=False)
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        res = get_resources(request.app)
        check_scraper(res.settings.metrics, request.headers.get("authorization"))
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Snapshot(await _families(res)))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
