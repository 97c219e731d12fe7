"""``GET /api/queues``: per queue, what waits, is delayed, runs, was dead-lettered, and recent outcomes."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from actors.broker import NAMESPACE
from actors.notify.config import QUEUE as NOTIFY_QUEUE
from actors.payments.refund import REFUND_QUEUE
from actors.registry import all_kinds
from db.models import Job, Notification
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
            counts[NOTIFY_QUEUE] = await _notification_counts(session, day_ago)
        # Refunds have no row of their own to count: what waits in Redis is what is known.
        names |= {NOTIFY_QUEUE, REFUND_QUEUE}
        ordered = sorted(names | set(counts))
        pipe = res.redis.pipeline(transaction=False)
        for name in ordered:
            pipe.zcard(f"{NAMESPACE}:{name}.XQ")
        dead = await pipe.execute()
        refunds_waiting = await res.redis.llen(f"{NAMESPACE}:{REFUND_QUEUE}")
        counts.setdefault(REFUND_QUEUE, (int(refunds_waiting), 0, 0, 0, 0))
        out = []
        for name, dead_lettered in zip(ordered, dead, strict=True):
            waiting, delayed, running, ok, failed = counts.get(name, (0, 0, 0, 0, 0))
            out.append(QueueStats(name, waiting, delayed, running, int(dead_lettered), ok, failed))
        return out


async def _notification_counts(session: AsyncSession, day_ago: Any) -> tuple[int, ...]:
    """The ``notifications`` queue from its rows: due, waiting for a retry, sent and given up on."""
    due = Notification.next_attempt_at <= func.now()
    pending = Notification.status == "pending"
    row = (
        await session.execute(
            select(
                func.count().filter(pending, due),
                func.count().filter(pending, ~due),
                func.count().filter(Notification.status == "sent", Notification.sent_at > day_ago),
                func.count().filter(Notification.status == "failed", Notification.updated_at > day_ago),
            )
        )
    ).one()
    waiting, delayed, sent, failed = (int(v) for v in row)
    # A notification being sent is still pending (its row is locked while it sends): "running" is not known.
    return waiting, delayed, 0, sent, failed
