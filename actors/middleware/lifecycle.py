"""Claim, finish, fail, retry, time out and hand back jobs, all through the state machine.

Job code only does its own work and calls ``progress()``/``check_cancelled()``; everything about a job's
status happens here, around the actor:

* before: take the job's advisory lock and claim it (``queued|retrying -> running``), or, for the next poll
  of a polling job, take it over by its continuation token (``db.polls``); a job that is already terminal,
  cancelled or running elsewhere is skipped, so a duplicate message is harmless;
* after: ``succeeded`` with the result, ``timed_out`` past the kind's time limit, ``retrying`` with
  exponential backoff (a new delayed message) while attempts remain, else ``failed`` and dead-lettered;
  on worker shutdown the job is handed back at once without using up an attempt; ``PollAgain`` schedules
  the job's next poll (``actors.polling``) and ``JobTimedOut`` ends it ``timed_out``; ``WaitFor`` (``ctx.wait``)
  parks it ``waiting`` (``actors.signals``), holding no worker;
* fair scheduling: a claim over the owner's running limit holds the job instead (``db.fairness``), and a job
  leaving ``running`` wakes its owner's oldest held one.

Every bookkeeping step is one repeatable unit run through ``ride_out``: a Redis restart or a Postgres outage
shorter than the worker's outage budget delays it, and never fails the job. A job that itself failed on such
an outage is retried without using up an attempt.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import dramatiq
import msgspec
from dramatiq.middleware import Middleware, Shutdown, SkipMessage, TimeLimitExceeded

from actors.broker import send_job
from actors.context import JobContext, current_or_none, set_current
from actors.errors import JobCancelled, JobTimedOut, PermanentJobError
from actors.fairness import owner_limit, wake_held
from actors.finished import announce_finished
from actors.holder import RuntimeHolder
from actors.polling import PollAgain, schedule_next_poll
from actors.registry import JobKind, all_kinds, get_kind, resolve
from actors.retry import is_transient, ride_out
from actors.signals import ReceivedSignal, WaitFor
from db import state_machine as sm
from db.fairness import Admission, admit
from db.live import LiveEvent
from db.locks import lock_job
from db.polls import resume_claim

log = logging.getLogger("genjobs.worker")
# Set while this middleware sends a job's next message itself (it records the id in the same transaction).
_sending = threading.local()
_MAX_ERROR_CHARS = 2000
T = TypeVar("T")


def parse_actor_name(actor_name: str) -> tuple[JobKind, str] | None:
    """``job:<kind>:<queue>`` -> (kind, queue); None for actors that are not jobs."""
    prefix, _, rest = actor_name.partition(":")
    kind_name, _, queue = rest.partition(":")
    if prefix != "job" or not kind_name or not queue:
        return None
    kind = get_kind(kind_name)
    return (kind, queue) if kind is not None else None


def params_of(ctx: JobContext) -> dict[str, Any]:
    """The job's params as plain data, for the finished-job hooks."""
    params = ctx.params
    if isinstance(params, msgspec.Struct):
        return dict(msgspec.to_builtins(params))
    return dict(params) if isinstance(params, dict) else {}


def describe_error(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, PermanentJobError) else f"{type(exc).__name__}: {exc}"
    return text[:_MAX_ERROR_CHARS]


class JobLifecycle(Middleware):
    def __init__(self, holder: RuntimeHolder) -> None:
        self.holder = holder
        # Set when the worker begins to stop: its idle threads must not start jobs it is handing back.
        self._stopping = threading.Event()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stopping.clear()
        rt = self.holder.start()
        for kind in all_kinds().values():
            if kind.warm_up is not None:
                try:
                    resolve(kind.warm_up)(rt.config.kind_settings.get(kind.name))
                except Exception:
                    log.exception("warming up job kind %s failed; its jobs will start cold", kind.name)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stopping.set()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        for kind in all_kinds().values():
            if kind.shut_down is not None:
                try:
                    resolve(kind.shut_down)()
                except Exception:
                    log.exception("shutting down job kind %s failed", kind.name)
        self.holder.stop()

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        # A delayed retry that came due is re-enqueued by Dramatiq under a new broker id: keep the job's
        # message id current so the sweeper does not take the job for lost and send it twice.
        if delay is not None or getattr(_sending, "active", False) or parse_actor_name(message.actor_name) is None:
            return
        try:
            with self.holder.runtime.sessions.begin() as session:
                sm.set_message_id(session, uuid.UUID(message.args[0]), str(message.options["redis_message_id"]))
        except Exception:
            log.exception("could not record the new message id of job %s", message.args[0])

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        parsed = parse_actor_name(message.actor_name)
        if parsed is None:
            return
        kind, queue = parsed
        rt = self.holder.runtime
        job_id = uuid.UUID(message.args[0])
        if self._stopping.is_set():
            self._pass_on(broker, kind, queue, job_id)
            raise SkipMessage()
        continuation = message.options.get("continuation")
        # Set when the job was held behind its owner's older held jobs while a slot is free: they are woken.
        behind: list[uuid.UUID] = []

        def claim() -> tuple[sm.Changed | None, str | None]:
            with rt.sessions.begin() as session:
                lock_job(session, job_id)
                if continuation is None:
                    verdict, owner_id = admit(session, job_id, limit=owner_limit(kind, rt.config.max_running_per_owner))
                    if verdict is Admission.BEHIND and owner_id is not None:
                        behind.append(owner_id)
                    if verdict is not Admission.RUN:
                        return None, f"held by fair scheduling ({verdict.value})"
                    changed = sm.claim(session, job_id, worker=rt.worker_id, lease_seconds=rt.config.lease_seconds)
                else:
                    # The next poll of a polling job takes over the still-running job by its token (db.polls).
                    changed = resume_claim(
                        session,
                        job_id,
                        uuid.UUID(continuation),
                        worker=rt.worker_id,
                        lease_seconds=rt.config.lease_seconds,
                    )
                return changed, (sm.current_status(session, job_id) if changed is None else None)

        changed, status = self._ride_out(claim, f"claiming job {job_id}")
        if behind:
            self._wake_held(broker, kind, behind[0])
        if changed is None or changed.claim_token is None:
            log.info("skipping message for job %s: %s", job_id, status or "no such job")
            raise SkipMessage()
        # A claim also returns the job's stored state and resuming signal; a poll's takeover does not.
        stored_params, max_attempts, *resumed = changed.extra
        state, last_signal = resumed if resumed else (None, None)
        self._publish(changed.events)
        try:
            params: Any = msgspec.convert(stored_params, kind.params)
        except msgspec.ValidationError as exc:
            params = exc  # reported as a permanent failure once the actor runs
        ctx = JobContext(
            rt,
            job_id=job_id,
            owner_id=changed.owner_id,
            kind=kind.name,
            params=params,
            claim_token=changed.claim_token,
            attempt=changed.attempts,
            max_attempts=max_attempts,
            state=state,
            signal=msgspec.convert(last_signal, ReceivedSignal) if last_signal else None,
        )
        set_current(ctx)
        rt.add_running(ctx)

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        set_current(None)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        parsed = parse_actor_name(message.actor_name)
        if parsed is None:
            return
        kind, queue = parsed
        rt = self.holder.runtime
        ctx = current_or_none()
        set_current(None)
        if ctx is None:
            return
        rt.remove_running(ctx)
        if exception is None or isinstance(exception, WaitFor):
            try:
                ctx.flush_progress()
            except JobCancelled as exc:
                exception = exc
        self._conclude(broker, message, kind, queue, ctx, exception)
        self._wake_held(broker, kind, ctx.owner_id)

    def _conclude(
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
            self._succeed(broker, ctx, ctx.result)
        elif isinstance(exception, JobCancelled):
            log.info("job %s stopped: %s", ctx.job_id, exception)
        elif isinstance(exception, PollAgain):
            schedule_next_poll(broker, kind, queue, ctx, exception)
        elif isinstance(exception, WaitFor):
            self._park(ctx, exception)
        elif isinstance(exception, JobTimedOut):
            self._fail(broker, ctx, describe_error(exception), timed_out=True)
        elif isinstance(exception, TimeLimitExceeded):
            self._fail(broker, ctx, f"the job ran past its time limit of {kind.time_limit_seconds:g} s", timed_out=True)
        elif isinstance(exception, Shutdown):
            self._hand_back(broker, kind, queue, ctx)
        elif is_transient(exception):
            # Redis or Postgres was away for longer than the job could wait: not the job's fault.
            self._retry(broker, kind, queue, ctx, describe_error(exception), counts_attempt=False)
        elif isinstance(exception, PermanentJobError) or ctx.attempt >= ctx.max_attempts:
            self._fail(broker, ctx, describe_error(exception))
            message.fail()
        else:
            self._retry(broker, kind, queue, ctx, describe_error(exception))

    # -- outcomes ---------------------------------------------------------------------------------------

    def _succeed(self, broker: dramatiq.Broker, ctx: JobContext, result: Any) -> None:
        rt = self.holder.runtime
        if result is not None and not isinstance(result, dict):
            result = {"value": result}

        def succeed() -> sm.Changed | None:
            with rt.sessions.begin() as session:
                return sm.succeed(session, ctx.job_id, ctx.claim_token, result, worker=rt.worker_id)

        changed = self._ride_out(succeed, f"finishing job {ctx.job_id}")
        if changed is None:
            log.warning("job %s finished but was no longer ours (cancelled or re-claimed)", ctx.job_id)
            return
        self._publish(changed.events)
        announce_finished(broker, ctx.job_id, changed.to_status, owner_id=ctx.owner_id, params=params_of(ctx))

    def _fail(self, broker: dramatiq.Broker, ctx: JobContext, error: str, *, timed_out: bool = False) -> None:
        rt = self.holder.runtime

        def fail() -> sm.Changed | None:
            with rt.sessions.begin() as session:
                return sm.fail(
                    session, ctx.job_id, ctx.claim_token, error, actor=f"worker:{rt.worker_id}", timed_out=timed_out
                )

        changed = self._ride_out(fail, f"failing job {ctx.job_id}")
        if changed is not None:
            self._publish(changed.events)
            announce_finished(broker, ctx.job_id, changed.to_status, owner_id=ctx.owner_id, params=params_of(ctx))

    def _retry(
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
                message_id = self._send(broker, kind, ctx.job_id, queue, delay_ms=int(delay * 1000) or None)
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

        changed = self._ride_out(schedule, f"scheduling the retry of job {ctx.job_id}")
        if changed is not None:
            log.info("job %s attempt %d failed (%s); retrying in %.1f s", ctx.job_id, ctx.attempt, error, delay)
            self._publish(changed.events)

    def _park(self, ctx: JobContext, wait: WaitFor) -> None:
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

        changed = self._ride_out(park, f"parking job {ctx.job_id}")
        if changed is None:
            log.info("job %s was to wait for %s but is no longer ours", ctx.job_id, wait.waiting_for)
            return
        self._publish(changed.events)

    def _wake_held(self, broker: dramatiq.Broker, kind: JobKind, owner_id: uuid.UUID) -> None:
        # A job left ``running`` (or one was held behind older ones): a slot of the owner may be free.
        rt = self.holder.runtime
        limit = owner_limit(kind, rt.config.max_running_per_owner)
        if limit <= 0:
            return

        def send(k: JobKind, job_id: uuid.UUID, queue: str) -> str:
            return self._send(broker, k, job_id, queue, delay_ms=None)

        def wake() -> list[uuid.UUID]:
            return wake_held(rt.sessions, send, kind, owner_id, limit=limit)

        try:
            woken = self._ride_out(wake, f"waking held jobs of owner {owner_id}")
        except Exception:
            # The scheduler's fairness pass wakes them within a sweep interval.
            log.exception("could not wake the held jobs of owner %s", owner_id)
            return
        if woken:
            log.info("released %d held job(s) of owner %s", len(woken), owner_id)

    def _hand_back(self, broker: dramatiq.Broker, kind: JobKind, queue: str, ctx: JobContext) -> None:
        # A hand-back is not the job's fault: it does not use up an attempt.
        self._retry(broker, kind, queue, ctx, "worker shut down; handed back", counts_attempt=False, delay=0.0)

    def _send(
        self, broker: dramatiq.Broker, kind: JobKind, job_id: uuid.UUID, queue: str, *, delay_ms: int | None
    ) -> str:
        _sending.active = True
        try:
            return send_job(broker, kind, job_id, queue, delay_ms=delay_ms)  # type: ignore[arg-type]
        finally:
            _sending.active = False

    def _pass_on(self, broker: dramatiq.Broker, kind: JobKind, queue: str, job_id: uuid.UUID) -> None:
        """Give a message that reached a stopping worker back to the queue, for another worker."""
        rt = self.holder.runtime
        with rt.sessions.begin() as session:
            lock_job(session, job_id)
            sm.set_message_id(session, job_id, self._send(broker, kind, job_id, queue, delay_ms=None))
        log.info("worker stopping: passed job %s on to another worker", job_id)

    def _ride_out(self, work: Callable[[], T], what: str) -> T:
        return ride_out(work, what=what, budget_seconds=self.holder.runtime.config.outage_budget_seconds)

    def _publish(self, events: list[LiveEvent]) -> None:
        # Postgres already holds the change; a Redis outage delays the live event, and one longer than the
        # budget loses it (a reconnecting client gets a snapshot from Postgres) but never fails the job.
        publisher = self.holder.runtime.publisher
        try:
            self._ride_out(lambda: publisher.publish(events), f"publishing {len(events)} live event(s)")
        except Exception:
            log.exception("could not publish %d live event(s)", len(events))
