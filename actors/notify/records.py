"""The ``notifications`` rows: which address a job's event goes to, and claiming a row to deliver it once."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from actors.notify.content import LOCALES, JobFacts
from actors.notify.recipients import normalize_target
from actors.notify.sealing import CLEAR_PREFIX, SecretSeal
from db.base import utcnow
from db.models import Job, Notification, NotificationPreference

WEBHOOK_SECRET_PREFIX = CLEAR_PREFIX


def new_webhook_secret() -> str:
    """A new 256-bit signing secret."""
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


def job_locale(params: dict[str, Any]) -> str:
    locale = params.get("locale")
    return locale if isinstance(locale, str) and locale in LOCALES else "en"


def job_facts(job: Job) -> JobFacts:
    result = job.result or {}
    tracking = result.get("tracking_url")
    message = (job.params or {}).get("message_to_user")
    templates = result.get("notify_templates")
    return JobFacts(
        id=str(job.id),
        kind=job.kind,
        title=job.title,
        status=job.status,
        error=job.error,
        tracking_url=tracking if isinstance(tracking, str) and tracking else None,
        message_to_user=message if isinstance(message, str) else None,
        templates=templates if isinstance(templates, str) else None,
    )


def wants_notification() -> ColumnElement[bool]:
    """SQL: the job chose a channel (``notify`` param) or its owner has a default one.

    A job for which this is false is not notified, so no message is sent for it and no row is made: most jobs
    of most users cost nothing here.
    """
    has_default = exists().where(
        NotificationPreference.user_id == Job.owner_id,
        NotificationPreference.channel.is_not(None),
        NotificationPreference.target.is_not(None),
    )
    # ``->>`` is NULL both without the key and for a JSON null.
    return or_(Job.params["notify"].astext.is_not(None), has_default)


def owner_has_default(session: Session, owner_id: uuid.UUID) -> bool:
    """Whether the user chose a default notification channel."""
    pref = session.get(NotificationPreference, owner_id)
    return pref is not None and bool(pref.channel) and bool(pref.target)


def job_wants_notification(session: Session, job_id: uuid.UUID) -> bool:
    """Whether the finished job has a channel to be notified on (one indexed query)."""
    return bool(session.scalar(select(wants_notification()).select_from(Job).where(Job.id == job_id)))


def chosen_target(session: Session, job: Job) -> tuple[str, str] | None:
    """The job's own ``notify`` param, else the owner's default channel, else None."""
    notify = (job.params or {}).get("notify")
    if isinstance(notify, dict) and notify.get("channel") and notify.get("to"):
        return str(notify["channel"]), str(notify["to"])
    pref = session.get(NotificationPreference, job.owner_id)
    if pref is not None and pref.channel and pref.target:
        return pref.channel, pref.target
    return None


def plan(session: Session, job_id: uuid.UUID, event: str, *, allow_private: bool) -> list[tuple[str, str, str]]:
    """Make the job's row for ``event`` if there is none yet.

    Returns:
        ``(channel, address, error)`` when the row made now failed at once because the chosen address is not
        valid (any more); empty otherwise. A job with no channel chosen gets a ``skipped`` row.
    """
    if session.scalar(select(Notification.id).where(Notification.job_id == job_id, Notification.event == event)):
        return []
    job = session.get(Job, job_id)
    if job is None or (event == "message_to_user" and not job_facts(job).message_to_user):
        return []
    target = chosen_target(session, job)
    values: dict[str, Any] = {"job_id": job_id, "event": event, "locale": job_locale(job.params or {})}
    final: list[tuple[str, str, str]] = []
    if target is None:
        # A row even so: the repair pass then knows this event was handled.
        values.update(channel="none", recipient="", status="skipped", last_error="no notification channel chosen")
    else:
        channel, to = target
        try:
            values.update(channel=channel, recipient=normalize_target(channel, to, allow_private=allow_private))
        except ValueError as exc:
            values.update(channel=channel, recipient=to, status="failed", last_error=str(exc))
            final.append((channel, to, str(exc)))
    inserted = session.execute(
        insert(Notification).values(**values).on_conflict_do_nothing().returning(Notification.id)
    ).scalar()
    return final if inserted is not None else []


def claim_due(session: Session, job_id: uuid.UUID, event: str) -> Notification | None:
    """Lock a pending, due row of the job's event for this transaction.

    A row another worker is delivering right now is skipped (SKIP LOCKED), so a duplicate message never sends
    twice; a row whose retry is not due yet is left for its delayed message.
    """
    return session.scalars(
        select(Notification)
        .where(
            Notification.job_id == job_id,
            Notification.event == event,
            Notification.status == "pending",
            Notification.next_attempt_at <= func.now(),
        )
        .order_by(Notification.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def webhook_secret(session: Session, user_id: uuid.UUID, seal: SecretSeal) -> str:
    """The user's signing secret, made now if they have none (they can see it by rotating it).

    Stored sealed (``seal``); one made before sealing is sealed now.
    """
    made = seal.seal(new_webhook_secret())
    stmt = (
        insert(NotificationPreference)
        .values(user_id=user_id, webhook_secret=made, webhook_secret_created_at=utcnow())
        .on_conflict_do_update(
            index_elements=[NotificationPreference.user_id],
            set_={
                "webhook_secret": func.coalesce(NotificationPreference.webhook_secret, made),
                "webhook_secret_created_at": func.coalesce(
                    NotificationPreference.webhook_secret_created_at, func.now()
                ),
            },
        )
        .returning(NotificationPreference.webhook_secret)
    )
    stored = str(session.execute(stmt).scalar_one())
    if seal.needs_sealing(stored):
        session.execute(
            update(NotificationPreference)
            .where(NotificationPreference.user_id == user_id, NotificationPreference.webhook_secret == stored)
            .values(webhook_secret=seal.seal(stored))
        )
    return seal.open(stored)


def finish(session: Session, row: Notification, status: str, *, error: str | None = None) -> None:
    session.execute(
        update(Notification)
        .where(Notification.id == row.id)
        .values(
            status=status,
            attempts=row.attempts + 1,
            last_error=error,
            updated_at=func.now(),
            sent_at=func.now() if status == "sent" else None,
        )
    )


def postpone(session: Session, row: Notification, *, error: str, delay_seconds: float) -> None:
    session.execute(
        update(Notification)
        .where(Notification.id == row.id)
        .values(
            attempts=row.attempts + 1,
            last_error=error,
            updated_at=func.now(),
            next_attempt_at=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, delay_seconds),
        )
    )
