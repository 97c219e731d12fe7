"""Per queue counts for the dashboard, from indexed queries (active jobs, failures of the last hour) and the
broker (dead letters, paused flags), plus the live workers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select, text

from actors.broker import NAMESPACE
from actors.observe.presence import live_workers
from actors.pause import PAUSED_KEY
from db.models import Job
from db.statuses import JobStatus
from service.admin.schemas import Overview, QueueOverview
from service.resources import Resources
from service.system.queue_names import known_queues

_FAILED = [JobStatus.FAILED.value, JobStatus.TIMED_OUT.value]
_COUNTED = [JobStatus.QUEUED.value, JobStatus.RUNNING.value, JobStatus.RETRYING.value, *_FAILED]


async def overview(res: Resources) -> Overview:
    due = Job.run_after <= func.now()
    hour_ago = func.now() - text("interval '1 hour'")
    is_retrying = Job.status == JobStatus.RETRYING.value
    async with res.sessions() as session:
        rows = (
            await session.execute(
                select(
                    Job.queue,
                    func.count().filter(or_(Job.status == JobStatus.QUEUED.value, and_(is_retrying, due))),
                    func.count().filter(is_retrying, ~due),
                    func.count().filter(Job.status == JobStatus.RUNNING.value),
                    func.count().filter(is_retrying),
                    func.count().filter(Job.status.in_(_FAILED)),
                )
                # Only active jobs and recent failures: an index range on status, never the whole table.
                .where(
                    Job.status.in_(_COUNTED),
                    or_(~Job.status.in_(_FAILED), Job.finished_at > hour_ago),
                )
                .group_by(Job.queue)
            )
        ).all()
    counts = {r[0]: tuple(int(v) for v in r[1:]) for r in rows}
    names = sorted(known_queues() | set(counts))
    pipe = res.redis.pipeline(transaction=False)
    for name in names:
        pipe.zcard(f"{NAMESPACE}:{name}.XQ")
    pipe.smembers(PAUSED_KEY)
    *dead, paused_raw = await pipe.execute()
    paused = {p.decode() if isinstance(p, bytes) else str(p) for p in paused_raw}
    workers = await live_workers(res.redis)
    queues = []
    for name, dead_letters in zip(names, dead, strict=True):
        waiting, delayed, running, retrying, failed = counts.get(name, (0, 0, 0, 0, 0))
        consumers = sum(1 for w in workers if name in w.queues)
        queues.append(
            QueueOverview(
                name, name in paused, waiting, delayed, running, retrying, failed, int(dead_letters), consumers
            )
        )
    return Overview(datetime.now(UTC), queues, workers)


async def set_paused(res: Resources, queue: str, paused: bool) -> None:
    if paused:
        await res.redis.sadd(PAUSED_KEY, queue)
    else:
        await res.redis.srem(PAUSED_KEY, queue)
