"""``GET /metrics``: Prometheus text built at scrape time from Postgres (shared by every process) and
this process's SSE hub.

Off (404) unless configured: ``METRICS_TOKEN`` makes it answer scrapers that send ``Authorization: Bearer
<token>``; ``METRICS_PUBLIC=1`` opens it to anyone (for a port only the monitoring network reaches).
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Controller, Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import func, select

from db.models import Job
from db.statuses import TERMINAL
from service.errors import NotFound, Unauthorized
from service.resources import Resources, get_resources
from service.settings import MetricsSettings

DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 600.0, 1200.0, 3600.0)


class _Snapshot:
    """A collector that yields metrics computed just before rendering."""

    def __init__(self, families: list[Any]) -> None:
        self._families = families

    def collect(self) -> list[Any]:
        return self._families


async def _families(res: Resources) -> list[Any]:
    async with res.sessions() as session:
        by_status = (
            await session.execute(
                select(Job.kind, Job.status, func.count())
                .where(Job.deleted_at.is_(None))
                .group_by(Job.kind, Job.status)
            )
        ).all()
        duration = func.extract("epoch", Job.finished_at - Job.started_at)
        bucket_cols = [func.count().filter(duration <= le) for le in DURATION_BUCKETS]
        hist = (
            await session.execute(
                select(Job.kind, func.count(), func.coalesce(func.sum(duration), 0), *bucket_cols)
                .where(
                    Job.status.in_([s.value for s in TERMINAL]),
                    Job.started_at.is_not(None),
                    Job.finished_at.is_not(None),
                )
                .group_by(Job.kind)
            )
        ).all()
    jobs = GaugeMetricFamily("genjobs_jobs", "Jobs by kind and status.", labels=["kind", "status"])
    for kind, status, count in by_status:
        jobs.add_metric([kind, status], count)
    durations = HistogramMetricFamily("genjobs_job_duration_seconds", "Run time of finished jobs.", labels=["kind"])
    for kind, count, total, *cumulative in hist:
        buckets = [(str(le), c) for le, c in zip(DURATION_BUCKETS, cumulative, strict=True)]
        durations.add_metric([kind], [*buckets, ("+Inf", count)], float(total))
    streams = GaugeMetricFamily("genjobs_sse_streams_open", "SSE subscriptions open in this API process.")
    streams.add_metric([], res.hub.subscription_count)
    return [jobs, durations, streams]


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
