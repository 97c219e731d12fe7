"""How a run ended, recorded: the one place that maps an outcome to the job's next status.

``succeeded`` with the result, ``timed_out`` past the kind's time limit, ``retrying`` with backoff (a new
delayed message) while attempts remain, else ``failed`` and dead-lettered; on worker shutdown the job is handed
back at once without using up an attempt; ``PollAgain`` schedules the next poll, ``WaitFor`` parks the job
``waiting``. Every step runs through ``ride_out`` (an outage shorter than the budget delays it, never fails the
job), and its live events are published after the commit.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import dramatiq
import msgspec
from dramatiq.middleware import Shutdown, TimeLimitExceeded

from actors.broker import send_job
from actors.context import JobContext
from actors.errors import JobCancelled, JobTimedOut, PermanentJobError
from actors.event_sender import AckAfterCommit
from actors.fairness import owner_limit, wake_held
from actors.finished import announce_finished
from actors.holder import RuntimeHolder
from actors.pause import PausableRedisBroker
from actors.polling import PollAgain, schedule_next_poll
from actors.registry import JobKind
from actors.retry import is_transient, ride_out
from actors.signals import WaitFor
from db import state_machine as sm
from db.live import LiveEvent
from db.locks import lock_job

log = logging.getLogger("genjobs.worker")
# Set while a job's next message is sent from here (its id is recorded in the same transaction).
_sending = threading.local()
_MAX_ERROR_CHARS = 2000
T = TypeVar("T")


def sending_now() -> bool:
    """True on the thread that is sending a job's message from here (``after_enqueue`` must not record it)."""
    return bool(getattr(_sending, "active", False))


def params_of(ctx: JobContext) -> dict[str, Any]:
    """The job's params as plain data, for the finished-job hooks."""
    params = ctx.params
    if isinstance(params, msgspec.Struct):
        return dict(msgspec.to_builtins(params))
    return dict(params) if isinstance(params, dict) else {}


def describe_error(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, PermanentJobError) else f"{type(exc).__name__}: {exc}"
    return text[:_MAX_ERROR_CHARS]


class Outcomes:
    """Records outcomes for the worker's ``JobLifecycle`` middleware."""

    def __init__(self, holder: RuntimeHolder) -> None:
        self.holder = holder

    def conclude(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        kind: JobKind,
        queue: str,
        ctx: JobContext,
        exception: BaseException | None,
    ) -> None:
        """Record how the run ended: the one place that maps an outcome to the job's next status."""
        if exception is None:
            # A kind with a running limit per owner waits for its success: the owner's held jobs are woken
            # right after, and count the running ones.
            wait = owner_limit(kind, self.holder.runtime.config.max_running_per_owner) > 0
            self.succeed(broker, ctx, ctx.result, message, wait=wait)
        elif isinstance(exception, JobCancelled):
            log.info("job %s stopped: %s", ctx.job_id, exception)
        elif isinstance(exception, PollAgain):
            schedule_next_poll(broker, kind, queue, ctx, exception)
        elif isinstance(exception, WaitFor):
            self.park(ctx, exception)
        elif isinstance(exception, JobTimedOut):
            self.fail(broker, ctx, describe_error(exception), timed_out=True)
        elif isinstance(exception, TimeLimitExceeded):
            self.fail(broker, ctx, f"the job ran past its time limit of {kind.time_limit_seconds:g} s", timed_out=True)
        elif isinstance(exception, Shutdown):
            self.hand_back(broker, kind, queue, ctx)
        elif is_transient(exception):
            # Redis or Postgres was away for longer than the job could wait: not the job's fault.
            self.retry(broker, kind, queue, ctx, describe_error(exception), counts_attempt=False)
        elif isinstance(exception, PermanentJobError) or ctx.attempt >= ctx.max_attempts:
            self.fail(broker, ctx, describe_error(exception))
            message.fail()
        else:
            self.retry(broker, kind, queue, ctx, describe_error(exception))

    def succeed(
        self,
        broker: dramatiq.Broker,
        ctx: JobContext,
        result: Any,
        message: dramatiq.MessageProxy | None = None,
        *,
        wait: bool = False,
    ) -> None:
        """Record the success: with the successes of other threads in one statement (``actors.grouped``); the
        job's last events go to Redis with its message's acknowledgement, once the success is committed.

        The thread does not wait for that commit (its next message runs meanwhile): the acknowledgement waits
        for it instead (``AckAfterCommit``), so a worker that dies before the commit leaves the message in
        flight, to be delivered again, and the job's claim token still lets only one success through. With
        ``wait`` (or no acknowledgement to hold back) the thread waits for the commit."""
        rt = self.holder.runtime
        if result is not None and not isinstance(result, dict):
            result = {"value": result}
        success = (ctx.job_id, ctx.claim_token, result)
        message_id = message.options.get("redis_message_id") if message is not None else None
        ack = None
        if isinstance(broker, PausableRedisBroker) and message_id is not None:
            ack = AckAfterCommit(rt.publisher)
            broker.ride(str(message_id), ack.ride)
        if wait or ack is None:
            try:
                row = rt.successes(success)  # its group rides an outage out (``WorkerRuntime._succeed_many``)
            except BaseException:
                if ack is not None:
                    ack.committed([])  # the message is acknowledged anyway, as it would be without a rider
                raise
            self._succeeded(broker, ctx, result, row, ack)
            return
        # The job's trace (the finish span) and log context, for the follow-up on the group's thread.
        context = contextvars.copy_context()
        rt.successes.submit(success, lambda row: context.run(self._succeeded, broker, ctx, result, row, ack))

    def _succeeded(
        self,
        broker: dramatiq.Broker,
        ctx: JobContext,
        result: dict[str, Any] | None,
        row: sm.Row | BaseException | None,
        ack: AckAfterCommit | None,
    ) -> None:
        rt = self.holder.runtime
        changed = None
        if isinstance(row, BaseException):
            # Postgres refused it or stayed away past the outage budget: the lease runs out and the sweeper
            # takes the job back.
            log.error("could not record the success of job %s: %s", ctx.job_id, row)
        else:
            changed = sm.succeeded(row, ctx.job_id, result, worker=rt.worker_id)
            if changed is None:
                log.warning("job %s finished but was no longer ours (cancelled or re-claimed)", ctx.job_id)
        events = changed.events if changed is not None else []
        if ack is not None:
            ack.committed(events)
        elif events:
            self.publish(events)
        if changed is not None:
            announce_finished(broker, ctx.job_id, changed.to_status, owner_id=ctx.owner_id, params=params_of(ctx))

    def fail(self, broker: dramatiq.Broker, ctx: JobContext, error: str, *, timed_out: bool = False) -> None:
        rt = self.holder.runtime

        def fail() -> sm.Changed | None:
            with rt.sessions.begin() as session:
                return sm.fail(
                    session, ctx.job_id, ctx.claim_token, error, actor=f"worker:{rt.worker_id}", timed_out=timed_out
                )

        changed = self.ride_out(fail, f"failing job {ctx.job_id}")
        if changed is not None:
            self.publish(changed.events)
            announce_finished(broker, ctx.job_id, changed.to_status, owner_id=ctx.owner_id, params=params_of(ctx))

    def retry(
        self,
        broker: dramatiq.Broker,
        kind: JobKind,
        queue: str,
        ctx: JobContext,
        error: str,
        *,
        counts_attempt: bool = True,
        delay: float | None = None,
    ) -> None:
        rt = self.holder.runtime
        if delay is None:
            delay = kind.backoff_seconds(ctx.attempt)

        def schedule() -> sm.Changed | None:
            with rt.sessions.begin() as session:
                lock_job(session, ctx.job_id)
                message_id = self.send(broker, kind, ctx.job_id, queue, delay_ms=int(delay * 1000) or None)
                return sm.schedule_retry(
                    session,
                    ctx.job_id,
                    ctx.claim_token,
                    error=error,
                    run_after=datetime.now(UTC) + timedelta(seconds=delay),
                    message_id=message_id,
                    actor=f"worker:{rt.worker_id}",
                    counts_attempt=counts_attempt,
                )

        changed = self.ride_out(schedule, f"scheduling the retry of job {ctx.job_id}")
        if changed is not None:
            log.info("job %s attempt %d failed (%s); retrying in %.1f s", ctx.job_id, ctx.attempt, error, delay)
            self.publish(changed.events)

    def park(self, ctx: JobContext, wait: WaitFor) -> None:
        rt = self.holder.runtime

        def park() -> sm.Changed | None:
            with rt.sessions.begin() as session:
                return sm.park(
                    session,
                    ctx.job_id,
                    ctx.claim_token,
                    waiting_for=wait.waiting_for,
                    deadline=wait.deadline,
                    state=wait.state,
                    worker=rt.worker_id,
                )

        changed = self.ride_out(park, f"parking job {ctx.job_id}")
        if changed is None:
            log.info("job %s was to wait for %s but is no longer ours", ctx.job_id, wait.waiting_for)
            return
        self.publish(changed.events)

    def wake_held(self, broker: dramatiq.Broker, kind: JobKind, owner_id: uuid.UUID) -> None:
        # A job left ``running`` (or one was held behind older ones): a slot of the owner may be free.
        rt = self.holder.runtime
        limit = owner_limit(kind, rt.config.max_running_per_owner)
        if limit <= 0:
            return

        def send(k: JobKind, job_id: uuid.UUID, queue: str) -> str:
            return self.send(broker, k, job_id, queue, delay_ms=None)

        def wake() -> list[uuid.UUID]:
            return wake_held(rt.sessions, send, kind, owner_id, limit=limit)

        try:
            woken = self.ride_out(wake, f"waking held jobs of owner {owner_id}")
        except Exception:
            # The scheduler's fairness pass wakes them within a sweep interval.
            log.exception("could not wake the held jobs of owner %s", owner_id)
            return
        if woken:
            log.info("released %d held job(s) of owner %s", len(woken), owner_id)

    def hand_back(self, broker: dramatiq.Broker, kind: JobKind, queue: str, ctx: JobContext) -> None:
        # A hand-back is not the job's fault: it does not use up an attempt.
        self.retry(broker, kind, queue, ctx, "worker shut down; handed back", counts_attempt=False, delay=0.0)

    def send(
        self, broker: dramatiq.Broker, kind: JobKind, job_id: uuid.UUID, queue: str, *, delay_ms: int | None
    ) -> str:
        _sending.active = True
        try:
            return send_job(broker, kind, job_id, queue, delay_ms=delay_ms)  # type: ignore[arg-type]
        finally:
            _sending.active = False

    def pass_on(self, broker: dramatiq.Broker, kind: JobKind, queue: str, job_id: uuid.UUID) -> None:
        """Give a message that reached a stopping worker back to the queue, for another worker."""
        rt = self.holder.runtime
        with rt.sessions.begin() as session:
            lock_job(session, job_id)
            sm.set_message_id(session, job_id, self.send(broker, kind, job_id, queue, delay_ms=None))
        log.info("worker stopping: passed job %s on to another worker", job_id)

    def ride_out(self, work: Callable[[], T], what: str) -> T:
        return ride_out(work, what=what, budget_seconds=self.holder.runtime.config.outage_budget_seconds)

    def publish(self, events: list[LiveEvent]) -> None:
        # Postgres already holds the change; a Redis outage delays the live event, and one longer than the
        # budget loses it (a reconnecting client gets a snapshot from Postgres) but never fails the job.
        publisher = self.holder.runtime.publisher
        try:
            self.ride_out(lambda: publisher.publish(events), f"publishing {len(events)} live event(s)")
        except Exception:
            log.exception("could not publish %d live event(s)", len(events))
