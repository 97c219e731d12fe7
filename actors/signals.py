"""Jobs that wait for a person, an event or a time: the signals a kind accepts, and parking a job.

A handler parks its job with ``ctx.wait(for_="customer_review", deadline=..., state={...})``. That raises
``WaitFor``, which the lifecycle middleware turns into ``running -> waiting`` (``db.state_machine.park``): the
job then holds no worker thread, lease or message, and its attempt is given back. A **signal** resumes it
(``waiting -> queued``, a new message): one its kind declares (``JobKind.signals``), sent through
``POST /api/jobs/{id}/signals/{name}`` by those the declaration allows, or the reserved ``timeout`` signal the
scheduler sends when the wait's deadline passes. The next run sees the signal as ``ctx.signal`` and the stored
state as ``ctx.state``, and may wait again (a multi-stage flow keeps its stage in the state).

Who may send a signal (``SignalSpec.senders``):

* ``"owner"``   the job's owner (another user gets 404, as for any job of theirs);
* ``"admin"``   any admin;
* ``"webhook"`` an outside system, through ``POST /api/webhooks/signals/{job_id}/{name}``, signing the request
  with the kind's webhook key (``webhook_key``; see the README).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import dramatiq
import msgspec

Sender = Literal["owner", "admin", "webhook"]
TIMEOUT = "timeout"
_MAX_WAITING_FOR = 200


class SignalSpec(msgspec.Struct, frozen=True):
    """A signal a kind's waiting jobs accept."""

    name: str
    # The body's shape; None takes no body (an empty or ``{}`` body).
    payload: type[msgspec.Struct] | None = None
    senders: tuple[Sender, ...] = ("owner",)
    # Resume at this priority (its queue); None keeps the job's own.
    priority: Literal["low", "normal", "high"] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.name == TIMEOUT or not self.name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"invalid signal name {self.name!r} (letters, digits, _ and -; not {TIMEOUT!r})")
        if not self.senders:
            raise ValueError(f"signal {self.name!r} names nobody who may send it")


class ReceivedSignal(msgspec.Struct, frozen=True):
    """The signal that resumed a job, as its next run sees it (``ctx.signal``)."""

    name: str
    payload: dict[str, Any] | None
    # "user:<id>", "admin:<id>", "webhook" or "scheduler" (the deadline's timeout).
    sender: str
    at: datetime

    def payload_as(self, struct: type[msgspec.Struct]) -> Any:
        """The payload as the declared Struct."""
        return msgspec.convert(self.payload or {}, struct)


def find_signal(signals: tuple[SignalSpec, ...], name: str) -> SignalSpec | None:
    return next((spec for spec in signals if spec.name == name), None)


def signal_record(name: str, payload: dict[str, Any] | None, sender: str, at: datetime) -> dict[str, Any]:
    """The stored and published form of a signal (``jobs.last_signal``, the ``signal`` live event)."""
    return {"name": name, "payload": payload, "sender": sender, "at": at.isoformat()}


class WaitFor(dramatiq.Retry):
    """Raised by ``ctx.wait``: park the job until a signal or the deadline.

    Derives from Dramatiq's ``Retry`` only so the worker does not log it as an error; no Retries middleware
    runs, the lifecycle middleware alone decides what happens."""

    def __init__(
        self, waiting_for: str, *, deadline: datetime | timedelta | float | None, state: dict[str, Any] | None
    ) -> None:
        if not waiting_for or len(waiting_for) > _MAX_WAITING_FOR:
            raise ValueError(f"waiting_for must be 1 to {_MAX_WAITING_FOR} characters")
        if isinstance(deadline, int | float):
            deadline = timedelta(seconds=deadline)
        if isinstance(deadline, timedelta):
            deadline = datetime.now(UTC) + deadline
        if deadline is not None and deadline.tzinfo is None:
            raise ValueError("the deadline must be timezone-aware")
        super().__init__(f"waiting for {waiting_for}")
        self.waiting_for = waiting_for
        self.deadline: datetime | None = deadline
        self.state = state


def webhook_key(secret_key: str, kind: str) -> str:
    """The key an outside system signs a kind's webhook signals with: one per kind and deployment, derived from
    the deployment's ``SECRET_KEY`` (so it is never stored, and one kind's key opens no other kind's jobs)."""
    return hmac.new(secret_key.encode(), f"genjobs-signal-webhook:{kind}".encode(), hashlib.sha256).hexdigest()


def webhook_signature(key: str, timestamp: int, job_id: str, name: str, body: bytes) -> str:
    """HMAC-SHA256 (hex) of ``<timestamp>.<job id>.<signal name>.<raw body>`` with the kind's webhook key."""
    message = f"{timestamp}.{job_id}.{name}.".encode() + body
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
