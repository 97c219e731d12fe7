"""``GET /api/queues``: per queue, what waits, is delayed, runs, was dead-lettered, and recent outcomes."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get
from sqlalchemy import and_, func, or_, select, text

from actors.broker import NAMESPACE
from actors.registry import all_kinds
from db.models import Job
from db.statuses import JobStatus
from service.auth.principal import Principal
from service.resources import get_resources

FAILED_VALUES = [JobStatus.FAILED.value, JobStatus.TIMED_OUT.value]


class QueueStats(msgspec.Struct):
    queue: str
    waiting: int
    delayed: int
    running: int
    dead_lettered: int
    succeeded_24h: int
    failed_24h: int


class QueuesController(Controller):
    tags = ("system",)

    @get("/api/queues", operation_id="queueStats")
    async def queues(self, request: Request[Principal, Any, Any]) -> list[QueueStats]:
        """Every known queue. Job counts come from Postgres (the truth: a worker's prefetched messages are
        not in Redis's queue list but still waiting); dead letters from the broker."""
        res = get_resources(request.app)
        names = {q for k in all_kinds().values() for q in k.all_queues()}
        day_ago = func.now() - text("interval '24 hours'")
        retry_due = Job.run_after <= func.now()
        async with res.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        Job.queue,
                        func.count().filter(
                            or_(
                                Job.status == JobStatus.QUEUED.value,
                                and_(Job.status == JobStatus.RETRYING.value, retry_due),
                            )
                        ),
                        func.count().filter(Job.status == JobStatus.RETRYING.value, ~retry_due),
                        func.count().filter(Job.status == JobStatus.RUNNING.value),
                        func.count().filter(Job.status == JobStatus.SUCCEEDED.value, Job.finished_at > day_ago),
                        func.count().filter(Job.status.in_(FAILED_VALUES), Job.finished_at > day_ago),
                    ).group_by(Job.queue)
                )
            ).all()
        counts = {r[0]: tuple(r[1:]) for r in rows}
        ordered = sorted(names | set(counts))
        pipe = res.redis.pipeline(transaction=False)
        for name in ordered:
            pipe.zcard(f"{NAMESPACE}:{name}.XQ")
        dead = await pipe.execute()
        out = []
        for name, dead_lettered in zip(ordered, dead, strict=True):
            waiting, delayed, running, ok, failed = counts.get(name, (0, 0, 0, 0, 0))
            out.append(QueueStats(name, waiting, delayed, running, int(dead_lettered), ok, failed))
        return out
