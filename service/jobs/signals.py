"""Signals to waiting jobs, sent by a user (owner or admin, as the kind declares) or a signed webhook.

Checks, in order: the caller sees the job (404), its kind declares the signal (409), the caller may send it
(403), the body is the declared payload (400 naming each wrong field), the job is waiting (409). Then one
transaction under the job's lock: ``waiting -> queued`` with the signal kept on the job and audited
(``db.state_machine.resume``), the message that runs it sent and its id stored, as when a job is created; the
live events (``signal``, then ``status``) are published after the commit. The kinds' side is
``actors.signals``.
"""

from __future__ import annotations

import hmac
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.registry import JobKind, get_kind
from actors.signals import SignalSpec, find_signal, signal_record, webhook_key, webhook_signature
from db import state_machine as sm
from db.live import LiveEvent
from db.locks import lock_job
from db.models import Job
from db.statuses import JobStatus
from service.auth.principal import Principal
from service.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from service.jobs.enqueue import publish, send_message
from service.jobs.params import field_errors
from service.jobs.schemas import JobOut, job_out
from service.jobs.service import get_job_row
from service.resources import Resources

# A signed webhook request older (or newer) than this is refused, so a captured request cannot be replayed.
WEBHOOK_TOLERANCE_SECONDS = 300


async def signal_job(res: Resources, user: Principal, job_id: uuid.UUID, name: str, raw: bytes) -> JobOut:
    """A user's signal: owner or admin, as the kind's declaration of the signal allows."""
    async with res.sessions() as session, session.begin():
        # The job's lock first, as a worker's claim and the deadline pass take it: no lock-order deadlock.
        await session.run_sync(lock_job, job_id)
        job = await get_job_row(session, user, job_id, for_update=True)
        kind = get_kind(job.kind)
        spec = _declared(kind, name)
        role = _sender_role(spec, job, user)
        assert kind is not None
        out, events = await _resume(res, session, job, kind, spec, raw, f"{role}:{user.id}")
    await publish(res, events)
    return out


async def signal_job_by_webhook(
    res: Resources, job_id: uuid.UUID, name: str, raw: bytes, *, timestamp: str | None, signature: str | None
) -> JobOut:
    """An outside system's signal, signed with the kind's webhook key (``actors.signals.webhook_signature``).

    A job that does not exist, or whose kind takes no webhook signal of that name, is a 404 either way."""
    async with res.sessions() as session, session.begin():
        await session.run_sync(lock_job, job_id)
        job = await session.scalar(select(Job).where(Job.id == job_id, Job.deleted_at.is_(None)).with_for_update())
        kind = get_kind(job.kind) if job is not None else None
        spec = find_signal(kind.signals, name) if kind is not None else None
        if job is None or kind is None or spec is None or "webhook" not in spec.senders:
            raise NotFound(f"No job {job_id} takes the webhook signal {name!r}.", code="job_not_found")
        _check_signature(res, kind, job_id, name, raw, timestamp, signature)
        out, events = await _resume(res, session, job, kind, spec, raw, "webhook")
    await publish(res, events)
    return out


def _check_signature(
    res: Resources,
    kind: JobKind,
    job_id: uuid.UUID,
    name: str,
    raw: bytes,
    timestamp: str | None,
    signature: str | None,
) -> None:
    if not res.settings.secret_key:
        raise Unauthorized("Webhook signals are off: this deployment has no SECRET_KEY.", code="webhook_disabled")
    try:
        sent_at = int(timestamp or "")
    except ValueError:
        raise Unauthorized("X-Genjobs-Timestamp is missing or not a Unix time.", code="bad_signature") from None
    if abs(time.time() - sent_at) > WEBHOOK_TOLERANCE_SECONDS:
        raise Unauthorized(
            f"X-Genjobs-Timestamp is more than {WEBHOOK_TOLERANCE_SECONDS} s from now.", code="bad_signature"
        )
    expected = webhook_signature(webhook_key(res.settings.secret_key, kind.name), sent_at, str(job_id), name, raw)
    if not hmac.compare_digest(expected, (signature or "").strip().lower()):
        raise Unauthorized("X-Genjobs-Signature does not match the body.", code="bad_signature")


def _declared(kind: JobKind | None, name: str) -> SignalSpec:
    spec = find_signal(kind.signals, name) if kind is not None else None
    if spec is None:
        accepted = [s.name for s in kind.signals] if kind is not None else []
        raise Conflict(
            f"Jobs of this kind do not accept the signal {name!r}.",
            code="signal_not_accepted",
            details={"signal": name, "accepted": accepted},
        )
    return spec


def _sender_role(spec: SignalSpec, job: Job, user: Principal) -> str:
    if "owner" in spec.senders and job.owner_id == user.id:
        return "owner"
    if "admin" in spec.senders and user.is_admin:
        return "admin"
    raise Forbidden(
        f"Signal {spec.name!r} may be sent by: {', '.join(spec.senders)}.",
        code="signal_not_allowed",
        details={"signal": spec.name, "senders": list(spec.senders)},
    )


def _decode_payload(spec: SignalSpec, raw: bytes) -> dict[str, Any] | None:
    try:
        body: Any = msgspec.json.decode(raw) if raw.strip() else {}
    except msgspec.DecodeError as exc:
        raise BadRequest(f"The body is not JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest(
            "The body must be a JSON object.",
            code="invalid_payload",
            details=[{"field": "body", "message": "expected an object"}],
        )
    if spec.payload is None:
        if body:
            raise BadRequest(
                f"Signal {spec.name!r} takes no payload.",
                code="invalid_payload",
                details=[{"field": name, "message": "unknown field"} for name in body],
            )
        return None
    try:
        return dict(msgspec.to_builtins(msgspec.convert(body, spec.payload)))
    except msgspec.ValidationError as whole:
        errors = field_errors(spec.payload, body) or [{"field": "payload", "message": str(whole)}]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise BadRequest(
            f"Invalid payload for signal {spec.name!r}: {summary}", code="invalid_payload", details=errors
        ) from None


def _not_waiting(job: Job, name: str) -> Conflict:
    return Conflict(
        f"Job {job.id} is {job.status}, not waiting; it takes no signal now.",
        code="not_waiting",
        details={"status": job.status, "signal": name},
    )


async def _resume(
    res: Resources, session: AsyncSession, job: Job, kind: JobKind, spec: SignalSpec, raw: bytes, sender: str
) -> tuple[JobOut, list[LiveEvent]]:
    """Validate the payload and resume the job in the caller's transaction (the job's lock held, so a worker that
    gets the message first waits for the commit); returns the job and the live events to publish after it."""
    payload = _decode_payload(spec, raw)
    if job.status != JobStatus.WAITING:
        raise _not_waiting(job, spec.name)
    priority = spec.priority or job.priority
    queue = job.queue
    if priority != job.priority:
        queue = kind.queue_for_params(msgspec.convert(job.params, kind.params), priority)
    signal = signal_record(spec.name, payload, sender, datetime.now(UTC))
    job_id = job.id
    changed = await session.run_sync(
        lambda s: sm.resume(s, job_id, signal=signal, sender=sender, queue=queue, priority=priority)
    )
    if changed is None:
        raise _not_waiting(job, spec.name)
    await session.run_sync(sm.set_message_id, job_id, await send_message(res, kind.name, job_id, queue))
    await session.refresh(job)
    return job_out(job), changed.events
