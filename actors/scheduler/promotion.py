"""The promotion pass (aging): a queued job of a kind that declares ``promote_after_seconds`` moves up one
priority for each such period it has waited (low -> normal -> high), so a steady stream of high jobs never
starves a low one forever.

A promotion changes the job's ``priority`` and ``queue`` and sends a message on the new queue, under the job's
lock, with a ``promoted`` audit event. The message left on the old queue is harmless: whichever of the two a
worker takes first claims the job, the other finds it no longer queued and does nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from actors.broker import send_job
from actors.registry import PRIORITIES, all_kinds
from db import state_machine as sm
from db.locks import lock_job
from db.models import Job
from db.statuses import JobStatus

log = logging.getLogger("genjobs.promotion")
BATCH = 200


_BY_AGE = ("low", "normal", "high")


def due_priority(priority: str, waited_seconds: float, every: float) -> str:
    """The priority a job queued at ``priority`` has earned after waiting ``waited_seconds``: normal after
    ``every``, high after twice that; never lower than it was."""
    if every <= 0 or priority not in _BY_AGE:
        return priority
    earned = _BY_AGE[min(2, int(waited_seconds // every))]
    return earned if _BY_AGE.index(earned) > _BY_AGE.index(priority) else priority


@dataclass
class PromotionPass:
    sessions: sessionmaker[Session]
    broker: RedisBroker

    def run(self) -> list[uuid.UUID]:
        """Promote the jobs that have waited long enough; returns their ids."""
        kinds = {name: kind for name, kind in all_kinds().items() if kind.promote_after_seconds}
        if not kinds:
            return []
        promoted: list[uuid.UUID] = []
        waiting_since = func.coalesce(Job.queued_at, Job.created_at)
        with self.sessions() as session:
            rows = session.execute(
                select(Job.id, Job.kind, Job.priority, Job.params, waiting_since)
                .where(
                    Job.kind.in_(list(kinds)),
                    Job.status == JobStatus.QUEUED.value,
                    Job.priority != PRIORITIES[0],
                    Job.deleted_at.is_(None),
                    Job.held_since.is_(None),
                )
                .order_by(waiting_since)
                .limit(BATCH)
            ).all()
        now = datetime.now(UTC)
        for job_id, kind_name, priority, params, since in rows:
            kind = kinds[kind_name]
            every = float(kind.promote_after_seconds or 0)
            target = due_priority(priority, (now - since).total_seconds(), every)
            if target == priority:
                continue
            lane = kind.lane_of(msgspec.convert(params, kind.params)) if kind.lane_of else None
            queue = kind.queue_for(target, lane)
            with self.sessions.begin() as session:
                lock_job(session, job_id)
                changed = session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == JobStatus.QUEUED.value, Job.priority == priority)
                    .values(priority=target, queue=queue)
                    .returning(Job.id)
                ).one_or_none()
                if changed is None:
                    continue
                sm.set_message_id(session, job_id, send_job(self.broker, kind, job_id, queue))
                sm.record_event(
                    session,
                    job_id,
                    "promoted",
                    actor="scheduler",
                    detail={"from": priority, "to": target, "waited_seconds": round((now - since).total_seconds())},
                )
            promoted.append(job_id)
        if promoted:
            log.info("promoted %d waiting job(s)", len(promoted))
        return promoted
