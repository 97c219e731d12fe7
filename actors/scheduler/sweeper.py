"""The sweeper: closes the gaps between Postgres (the truth) and the broker.

* ``running`` jobs whose lease expired (their worker was killed or hung): re-claimed as ``retrying`` with a
  new message, or ``failed`` when that was their last attempt;
* messages held by a worker whose broker heartbeat stopped (killed with its prefetched messages and
  delayed retries in hand): put back on their queues every pass, not at Dramatiq's random maintenance;
* ``queued`` / ``retrying`` jobs whose message is no longer in Redis (lost with Redis, or never sent
  because the process died between commit and send): sent again. Jobs held by fair scheduling
  (``db.fairness``) have no message on purpose and are left to the fairness pass; ``waiting`` jobs hold no
  lease and no message, so no pass here touches them (their deadline is ``actors.scheduler.deadlines``).

Re-sending is safe because actors claim jobs with a conditional update: a duplicate message does nothing.

After an outage the sweeper waits before judging: leases are only re-claimed once Postgres has answered
for a whole lease period, and workers only declared dead once Redis has answered for a whole heartbeat
timeout, so live workers that could not renew during the outage get the chance to first.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from actors.broker import decode_job_message, message_exists, requeue_dead_workers, send_job
from actors.finished import announce_finished
from actors.registry import get_kind
from actors.retry import is_transient
from db import state_machine as sm
from db.live import LiveEvent, LivePublisher
from db.locks import lock_job
from db.models import Job
from db.observe import catalog
from db.observe.recorder import inc
from db.statuses import JobStatus

log = logging.getLogger("genjobs.sweeper")
BATCH = 500


@dataclass
class SweepReport:
    reclaimed: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    resent: list[uuid.UUID] = field(default_factory=list)
    requeued: list[uuid.UUID] = field(default_factory=list)


@dataclass
class _Reachability:
    """Since when (monotonic) a server has answered without a break; None right after a failure."""

    since: float | None = None

    def answered(self) -> float:
        if self.since is None:
            self.since = time.monotonic()
        return time.monotonic() - self.since

    def failed(self) -> None:
        self.since = None


@dataclass
class Sweeper:
    sessions: sessionmaker[Session]
    broker: RedisBroker
    publisher: LivePublisher
    lost_message_grace_seconds: float = 10.0
    lease_seconds: float = 15.0
    _postgres: _Reachability = field(default_factory=_Reachability)
    _redis: _Reachability = field(default_factory=_Reachability)

    def sweep(self) -> SweepReport:
        report = SweepReport()
        try:
            self._postgres_up_for = self._ping_postgres()
            self._redis_up_for = self._ping_redis()
            if self._postgres_up_for >= self.lease_seconds:
                self._reclaim_expired_leases(report)
            if self._redis_up_for * 1000 >= self.broker.heartbeat_timeout:
                self._requeue_dead_workers(report)
            self._resend_lost_messages(report)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("sweep interrupted, Redis or Postgres unreachable: %s", exc)
        if report.reclaimed or report.failed or report.resent or report.requeued:
            log.info(
                "sweep: reclaimed %d, failed %d, resent %d, returned from dead workers %d",
                len(report.reclaimed),
                len(report.failed),
                len(report.resent),
                len(report.requeued),
            )
        return report

    def _ping_postgres(self) -> float:
        try:
            with self.sessions() as session:
                session.execute(select(1))
        except Exception:
            self._postgres.failed()
            raise
        return self._postgres.answered()

    def _ping_redis(self) -> float:
        try:
            self.broker.client.ping()
        except Exception:
            self._redis.failed()
            raise
        return self._redis.answered()

    def _requeue_dead_workers(self, report: SweepReport) -> None:
        """Put a dead worker's messages back on their queues, and say so in each job's history."""
        for queue, message_ids in requeue_dead_workers(self.broker).items():
            for message_id in message_ids:
                decoded = decode_job_message(self.broker, queue, message_id)
                if decoded is None or not decoded[0].startswith("job:"):
                    continue
                job_id = uuid.UUID(decoded[1])
                try:
                    with self.sessions.begin() as session:
                        sm.record_event(
                            session,
                            job_id,
                            "message_requeued",
                            actor="scheduler",
                            detail={"reason": "the worker holding its message stopped heartbeating", "queue": queue},
                        )
                except IntegrityError:
                    continue  # the job row is gone; its message will find nothing to run
                report.requeued.append(job_id)
                inc(catalog.SWEEPER_REQUEUED, queue)

    def _reclaim_expired_leases(self, report: SweepReport) -> None:
        with self.sessions() as session:
            rows = session.execute(
                select(Job.id, Job.kind, Job.queue, Job.attempts, Job.max_attempts)
                .where(Job.status == JobStatus.RUNNING.value, Job.lease_expires_at < func.now())
                .limit(BATCH)
            ).all()
        for job_id, kind_name, queue, attempts, max_attempts in rows:
            kind = get_kind(kind_name)
            events: list[LiveEvent] = []
            with self.sessions.begin() as session:
                lock_job(session, job_id)
                if kind is None or attempts >= max_attempts:
                    reason = "the worker running it stopped responding on its last attempt"
                    changed = sm.fail_lost(session, job_id, error=reason if kind else f"unknown kind {kind_name}")
                    if changed is not None:
                        report.failed.append(job_id)
                        inc(catalog.SWEEPER_RECLAIMS, "failed")
                else:
                    message_id = send_job(self.broker, kind, job_id, queue)
                    changed = sm.reclaim_lost(session, job_id, message_id=message_id)
                    if changed is not None:
                        report.reclaimed.append(job_id)
                        inc(catalog.SWEEPER_RECLAIMS, "retried")
                if changed is not None:
                    events = changed.events
            self.publisher.publish(events)
            if job_id in report.failed:
                announce_finished(self.broker, job_id, JobStatus.FAILED.value)

    def _resend_lost_messages(self, report: SweepReport) -> None:
        grace = timedelta(seconds=self.lost_message_grace_seconds)
        with self.sessions() as session:
            rows = session.execute(
                select(Job.id, Job.kind, Job.queue, Job.status, Job.message_id)
                .where(
                    Job.deleted_at.is_(None),
                    # A job held by fair scheduling has no message on purpose (the fairness pass wakes it).
                    Job.held_since.is_(None),
                    or_(
                        and_(
                            Job.status == JobStatus.QUEUED.value,
                            func.coalesce(Job.queued_at, Job.created_at) < func.now() - grace,
                        ),
                        and_(Job.status == JobStatus.RETRYING.value, Job.run_after < func.now() - grace),
                    ),
                )
                .order_by(Job.created_at)
                .limit(BATCH)
            ).all()
        for job_id, kind_name, queue, status, message_id in rows:
            kind = get_kind(kind_name)
            if kind is None or (message_id and message_exists(self.broker, queue, message_id)):
                continue
            with self.sessions.begin() as session:
                lock_job(session, job_id)
                # Only if nothing changed since we looked.
                current = session.execute(
                    select(Job.status, Job.message_id).where(Job.id == job_id).with_for_update()
                ).one_or_none()
                if current is None or tuple(current) != (status, message_id):
                    continue
                new_id = send_job(self.broker, kind, job_id, queue)
                sm.set_message_id(session, job_id, new_id)
                sm.record_event(
                    session,
                    job_id,
                    "message_resent",
                    actor="scheduler",
                    detail={"reason": "message missing from the broker", "status": status},
                )
            report.resent.append(job_id)
            inc(catalog.SWEEPER_RESENDS, queue)
