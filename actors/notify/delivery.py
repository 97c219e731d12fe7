"""The ``notify:deliver`` actor: deliver one job event's notification, once, with retries and an audit trail.

Each call plans the row (``records.plan``), locks it (``records.claim_due``) and sends while holding the
lock, then writes the outcome and the job's history in the same transaction. A transient failure schedules
the next attempt as a new delayed message with exponential backoff; a permanent one ends at once. History
event types: ``notification_sent``, ``notification_attempt_failed`` (will retry) and ``notification_failed``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import dramatiq
import httpx
from dramatiq.middleware import Middleware

from actors.holder import RuntimeHolder
from actors.notify import records
from actors.notify.channels import email, ultramsg, webhook, whatsapp
from actors.notify.channels.base import DeliveryError, Outgoing, PermanentDeliveryError, TransientDeliveryError
from actors.notify.config import ACTOR_NAME, QUEUE, NotifyConfig, scrub
from actors.notify.content import job_link, plain_error, render
from actors.notify.hook import enqueue_notification, use_sessions
from actors.notify.recipients import redact
from actors.notify.sealing import SecretSeal
from actors.outbound import tls_context
from db import state_machine as sm
from db.models import Job, Notification
from db.observe import catalog
from db.observe.recorder import inc

log = logging.getLogger("genjobs.notify")
_MAX_ERROR_CHARS = 500


class Notifier(Middleware):
    """Owns the worker process's HTTP client for notifications (opened at boot, closed at shutdown)."""

    def __init__(self, holder: RuntimeHolder, config: NotifyConfig) -> None:
        self.holder = holder
        self.config = config
        self.seal = SecretSeal(config.secret_key)
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self.config.timeout_seconds, follow_redirects=False, verify=tls_context()
                )
            return self._client

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def deliver(self, broker: dramatiq.Broker, job_id: uuid.UUID, event: str) -> None:
        """Deliver the notification of ``event`` for the job if it is due and not delivered yet."""
        rt = self.holder.runtime
        actor = f"worker:{rt.worker_id}"
        with rt.sessions.begin() as session:
            for channel, to, error in records.plan(session, job_id, event, allow_private=self.config.allow_private):
                detail = {"event": event, "channel": channel, "to": redact(channel, to), "error": error}
                sm.record_event(session, job_id, "notification_failed", actor=actor, detail=detail)
        with rt.sessions.begin() as session:
            row = records.claim_due(session, job_id, event)
            if row is None:
                return
            job = session.get(Job, job_id)
            if job is None:
                return
            self._attempt(broker, session, job, row, actor)

    def _attempt(self, broker: dramatiq.Broker, session: Any, job: Job, row: Notification, actor: str) -> None:
        cfg = self.config
        attempt = row.attempts + 1
        detail: dict[str, Any] = {
            "event": row.event,
            "channel": row.channel,
            "to": redact(row.channel, row.recipient),
            "attempt": attempt,
        }
        try:
            secret = records.webhook_secret(session, job.owner_id, self.seal) if row.channel == "webhook" else None
            self._send(self._outgoing(job, row, secret))
        except DeliveryError as exc:
            error = scrub(str(exc), cfg.secrets())[:_MAX_ERROR_CHARS]
            retry_after = exc.retry_after if isinstance(exc, TransientDeliveryError) else None
            permanent = isinstance(exc, PermanentDeliveryError)
        except Exception as exc:
            # Our own bug or an unexpected library error: retried like a passing failure, and logged in full.
            log.exception("notification %s of job %s failed unexpectedly", row.id, job.id)
            error = scrub(f"{type(exc).__name__}: {exc}", cfg.secrets())[:_MAX_ERROR_CHARS]
            retry_after, permanent = None, False
        else:
            records.finish(session, row, "sent")
            sm.record_event(session, job.id, "notification_sent", actor=actor, detail=detail)
            log.info("notification %s of job %s sent by %s", row.event, job.id, row.channel)
            inc(catalog.NOTIFICATIONS, row.channel, "sent")
            return
        detail["error"] = error
        if permanent or attempt >= cfg.max_attempts:
            records.finish(session, row, "failed", error=error)
            detail["gave_up"] = not permanent
            sm.record_event(session, job.id, "notification_failed", actor=actor, detail=detail)
            log.warning("notification %s of job %s by %s failed: %s", row.event, job.id, row.channel, error)
            inc(catalog.NOTIFICATIONS, row.channel, "failed")
            return
        delay = max(cfg.backoff_seconds(attempt), min(retry_after or 0.0, cfg.max_backoff_seconds))
        records.postpone(session, row, error=error, delay_seconds=delay)
        inc(catalog.NOTIFICATIONS, row.channel, "retrying")
        detail["retry_in_seconds"] = round(delay, 3)
        sm.record_event(session, job.id, "notification_attempt_failed", actor=actor, detail=detail)
        # Sent inside the transaction: if the commit fails the row stays due and the repair pass resends.
        enqueue_notification(broker, job.id, row.event, delay_ms=int(delay * 1000))

    def _outgoing(self, job: Job, row: Notification, secret: str | None) -> Outgoing:
        facts = records.job_facts(job)
        content = render(facts, row.event, row.locale, self.config.public_url)
        payload = {
            "event": f"job.{row.event}",
            "notification_id": row.id,
            "sent_at": datetime.now(UTC).isoformat(),
            "locale": row.locale,
            "message": content.short,
            "job": {
                "id": facts.id,
                "kind": facts.kind,
                "title": facts.title,
                "status": facts.status,
                "url": job_link(facts, self.config.public_url),
                "error": plain_error(facts.error, row.locale) if row.event in ("failed", "timed_out") else None,
            },
            "message_to_user": facts.message_to_user if row.event == "message_to_user" else None,
        }
        return Outgoing(row.channel, row.recipient, row.event, content, payload, secret)

    def _send(self, outgoing: Outgoing) -> None:
        if outgoing.channel == "email":
            email.send(self.config, outgoing)
        elif outgoing.channel == "webhook":
            webhook.send(self.config, self.client, outgoing)
        elif outgoing.channel == "ultramsg":
            ultramsg.send(self.config, self.client, outgoing)
        elif outgoing.channel == "whatsapp":
            whatsapp.send(self.config, self.client, outgoing)
        else:
            raise PermanentDeliveryError(f"unknown channel {outgoing.channel!r}")


def declare_notify_actor(broker: dramatiq.Broker, holder: RuntimeHolder, config: NotifyConfig) -> str:
    """Add the notifier to the worker's broker and declare its actor; returns the queue it consumes.

    The worker's broker has no Dramatiq ``Retries`` middleware: retries are scheduled by ``Notifier`` itself,
    with their own backoff and a history entry for each attempt."""
    notifier = Notifier(holder, config)
    broker.add_middleware(notifier)
    use_sessions(lambda: holder.runtime.sessions)

    def deliver(job_id: str, event: str) -> None:
        notifier.deliver(broker, uuid.UUID(job_id), event)

    dramatiq.actor(
        actor_name=ACTOR_NAME,
        queue_name=QUEUE,
        broker=broker,
        time_limit=int((config.timeout_seconds * 4 + 30) * 1000),
    )(deliver)
    return QUEUE
