"""``GET /api/queues``: per queue, what waits, is delayed, runs, was dead-lettered, and recent outcomes."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get
from sqlalchemy import func, select, text

from actors.broker import NAMESPACE
from actors.registry import PRIORITIES, all_kinds
from db.models import Job
from db.statuses import JobStatus
from service.auth.principal import Principal
from service.resources import get_resources


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
        """Every known queue; broker counts come from Redis, job counts from Postgres."""
        res = get_resources(request.app)
        names = sorted({k.queue_for(p) for k in all_kinds().values() for p in PRIORITIES})
        async with res.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        Job.queue,
                        func.count().filter(Job.status == JobStatus.RUNNING.value),
                        func.count().filter(
                            Job.status == JobStatus.SUCCEEDED.value,
                            Job.finished_at > func.now() - text("interval '24 hours'"),
                        ),
                        func.count().filter(
                            Job.status.in_([JobStatus.FAILED.value, JobStatus.TIMED_OUT.value]),
                            Job.finished_at > func.now() - text("interval '24 hours'"),
                        ),
                    ).group_by(Job.queue)
                )
            ).all()
        db_counts = {r[0]: (r[1], r[2], r[3]) for r in rows}
        names = sorted(set(names) | set(db_counts))
        pipe = res.redis.pipeline(transaction=False)
        for name in names:
            pipe.llen(f"{NAMESPACE}:{name}")
            pipe.hlen(f"{NAMESPACE}:{name}.DQ.msgs")
            pipe.zcard(f"{NAMESPACE}:{name}.XQ")
        counts = await pipe.execute()
        out = []
        for i, name in enumerate(names):
            running, ok, failed = db_counts.get(name, (0, 0, 0))
            out.append(QueueStats(name, counts[3 * i], counts[3 * i + 1], running, counts[3 * i + 2], ok, failed))
        return out
