"""The scheduler's pass that sends notifications that went missing.

A job's final transition is committed before its notification message is sent, so a crash in between (or a
lost Redis) leaves a finished job with no notification; a pending retry whose delayed message was lost
stays pending. This pass, run periodically by the scheduler, finds both among recent jobs and sends the
message again; delivery itself is exactly-once (see ``actors.notify.delivery``), so a repeat is harmless.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import dramatiq
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from actors.notify.hook import FINISHED_EVENTS, MESSAGE_TO_USER, enqueue_notification
from actors.notify.records import wants_notification
from db.models import Job, Notification

log = logging.getLogger("genjobs.notify.repair")
BATCH = 200


@dataclass
class RepairReport:
    resent: list[tuple[uuid.UUID, str]] = field(default_factory=list)


def repair_notifications(
    sessions: sessionmaker[Session], broker: dramatiq.Broker, *, window_hours: float, grace_seconds: float
) -> RepairReport:
    """Send the messages of notifications missing or overdue among jobs of the last ``window_hours``.

    Only events older than ``grace_seconds`` are looked at, so the normal path (hook, then worker) has
    time to do its work first.
    """
    window = func.now() - timedelta(hours=window_hours)
    settled = func.now() - timedelta(seconds=grace_seconds)
    has_row = exists().where(Notification.job_id == Job.id, Notification.event == Job.status)
    has_message_row = exists().where(Notification.job_id == Job.id, Notification.event == MESSAGE_TO_USER)
    with sessions() as session:
        finished = session.execute(
            select(Job.id, Job.status)
            .where(
                Job.status.in_(sorted(FINISHED_EVENTS)),
                Job.finished_at > window,
                Job.finished_at < settled,
                Job.deleted_at.is_(None),
                ~has_row,
                wants_notification(),
            )
            .limit(BATCH)
        ).all()
        messages = session.execute(
            select(Job.id)
            .where(
                Job.params["message_to_user"].astext != "",
                Job.created_at > window,
                Job.created_at < settled,
                Job.deleted_at.is_(None),
                ~has_message_row,
            )
            .limit(BATCH)
        ).all()
        overdue = session.execute(
            select(Notification.job_id, Notification.event)
            .join(Job, Job.id == Notification.job_id)
            .where(
                and_(Notification.status == "pending", Notification.next_attempt_at < settled),
                Job.created_at > window,
            )
            .limit(BATCH)
        ).all()
    report = RepairReport()
    wanted = [(r[0], r[1]) for r in finished] + [(r[0], MESSAGE_TO_USER) for r in messages]
    wanted += [(r[0], r[1]) for r in overdue]
    for job_id, event in dict.fromkeys(wanted):
        enqueue_notification(broker, job_id, event)
        report.resent.append((job_id, event))
    if report.resent:
        log.info("notification repair: sent %d missing or overdue notification(s)", len(report.resent))
    return report
