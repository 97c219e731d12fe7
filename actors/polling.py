"""Polling an external service without holding a worker: "poll again in N seconds".

A kind's handler that must wait on an external service raises ``PollAgain(seconds)`` instead of sleeping.
The lifecycle middleware then calls ``schedule_next_poll``: in one transaction it sends the job's next
message with that delay (carrying the claim token as continuation), and stretches the lease over the wait
plus a grace period. The job stays ``running`` and uses up no attempt. If the worker holding the delayed
message dies, the lease runs out and the sweeper re-claims the job like any lost job; the handler then
resumes from its polling state in Postgres (``db.polls``).

``PollAgain`` derives from Dramatiq's ``Retry`` only so the worker does not log every poll as an error;
no Retries middleware runs, the lifecycle middleware alone decides what happens.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from actors.broker import send_job
from actors.context import JobContext
from actors.registry import JobKind
from db.locks import lock_job
from db.polls import await_next_poll

log = logging.getLogger("genjobs.polling")


class PollAgain(dramatiq.Retry):
    """Raised by a handler: run this job's handler again in ``seconds``, keeping the job running."""

    def __init__(self, seconds: float, reason: str = "poll") -> None:
        self.delay_ms = max(1, int(seconds * 1000))
        super().__init__(f"{reason}: poll again in {seconds:.3f} s", delay=self.delay_ms)
        self.seconds = seconds
        self.reason = reason


def schedule_next_poll(broker: dramatiq.Broker, kind: JobKind, queue: str, ctx: JobContext, signal: PollAgain) -> None:
    """Send the job's next poll message and leave the job running until then (see the module docstring)."""
    rt = ctx.runtime
    with rt.sessions.begin() as session:
        lock_job(session, ctx.job_id)
        assert isinstance(broker, RedisBroker)
        message_id = send_job(broker, kind, ctx.job_id, queue, delay_ms=signal.delay_ms, continuation=ctx.claim_token)
        waiting = await_next_poll(
            session,
            ctx.job_id,
            ctx.claim_token,
            message_id=message_id,
            wait_seconds=signal.seconds,
            grace_seconds=rt.config.lease_seconds,
        )
    if waiting:
        log.debug("job %s: %s", ctx.job_id, signal)
    else:
        # Cancelled or taken over meanwhile: the message just sent finds the token gone and does nothing.
        log.info("job %s is no longer ours; not polling again", ctx.job_id)
