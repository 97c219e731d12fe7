"""The deadline pass: a waiting job whose deadline passed is resumed with the ``timeout`` signal.

Like a signal sent through the API, the resume (``waiting -> queued`` with the signal kept on the job and
audited) is committed with the id of the message that runs it, sent under the job's lock; ``due_only`` makes
the transition match nothing when a person's signal resumed the job first.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from actors.broker import send_job
from actors.registry import get_kind
from actors.signals import TIMEOUT, signal_record
from db import state_machine as sm
from db.live import LivePublisher
from db.locks import lock_job
from db.models import Job
from db.statuses import JobStatus

log = logging.getLogger("genjobs.deadlines")
BATCH = 500


@dataclass
class DeadlinePass:
    sessions: sessionmaker[Session]
    broker: RedisBroker
    publisher: LivePublisher

    def run(self) -> list[uuid.UUID]:
        """Resume every waiting job whose deadline has passed (oldest deadline first); returns their ids."""
        with self.sessions() as session:
            rows = session.execute(
                select(Job.id, Job.kind, Job.queue, Job.priority)
                .where(Job.status == JobStatus.WAITING.value, Job.wait_deadline <= func.now())
                .order_by(Job.wait_deadline)
                .limit(BATCH)
            ).all()
        resumed: list[uuid.UUID] = []
        for job_id, kind_name, queue, priority in rows:
            kind = get_kind(kind_name)
            if kind is None:
                log.warning("job %s waits past its deadline but its kind %s is not loaded", job_id, kind_name)
                continue
            signal = signal_record(TIMEOUT, None, "scheduler", datetime.now(UTC))
            with self.sessions.begin() as session:
                lock_job(session, job_id)
                changed = sm.resume(
                    session, job_id, signal=signal, sender="scheduler", queue=queue, priority=priority, due_only=True
                )
                if changed is None:
                    continue
                sm.set_message_id(session, job_id, send_job(self.broker, kind, job_id, queue))
            self.publisher.publish(changed.events)
            resumed.append(job_id)
        if resumed:
            log.info("resumed %d waiting job(s) past their deadline", len(resumed))
        return resumed
