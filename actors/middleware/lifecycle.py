"""Claim jobs and hand their outcomes to ``outcomes``, all through the state machine.

Job code only does its own work and calls ``progress()``/``check_cancelled()``; everything about a job's
status happens here, around the actor:

* before: take the job's advisory lock and claim it (``queued|retrying -> running``), or, for the next poll
  of a polling job, take it over by its continuation token (``db.polls``); a job that is already terminal,
  cancelled or running elsewhere is skipped, so a duplicate message is harmless;
* after: ``actors.middleware.outcomes`` records how the run ended (succeeded, timed out, retrying, failed,
  handed back, next poll, parked waiting);
* fair scheduling: a claim over the owner's running limit holds the job instead (``db.fairness``), and a job
  leaving ``running`` wakes its owner's oldest held one.

Every bookkeeping step is one repeatable unit run through ``ride_out``: a Redis restart or a Postgres outage
shorter than the worker's outage budget delays it, and never fails the job.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import dramatiq
import msgspec
from dramatiq.middleware import Middleware, SkipMessage

from actors.context import JobContext, current_or_none, set_current
from actors.errors import JobCancelled
from actors.fairness import owner_limit
from actors.holder import RuntimeHolder
from actors.middleware.outcomes import Outcomes, sending_now
from actors.registry import JobKind, all_kinds, get_kind, resolve
from actors.signals import ReceivedSignal, WaitFor
from db import state_machine as sm
from db.fairness import Admission, admit
from db.locks import lock_job
from db.polls import resume_claim

log = logging.getLogger("genjobs.worker")


def parse_actor_name(actor_name: str) -> tuple[JobKind, str] | None:
    """``job:<kind>:<queue>`` -> (kind, queue); None for actors that are not jobs."""
    prefix, _, rest = actor_name.partition(":")
    kind_name, _, queue = rest.partition(":")
    if prefix != "job" or not kind_name or not queue:
        return None
    kind = get_kind(kind_name)
    return (kind, queue) if kind is not None else None


class JobLifecycle(Middleware):
    """Claims a job before its actor runs and concludes it after (``Outcomes``)."""

    def __init__(self, holder: RuntimeHolder) -> None:
        self.holder = holder
        self.outcomes = Outcomes(holder)
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
        if delay is not None or sending_now() or parse_actor_name(message.actor_name) is None:
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
            self.outcomes.pass_on(broker, kind, queue, job_id)
            raise SkipMessage()
        continuation = message.options.get("continuation")
        # Set when the job was held behind its owner's older held jobs while a slot is free: they are woken.
        behind: list[uuid.UUID] = []

        limit = owner_limit(kind, rt.config.max_running_per_owner)

        def claim() -> tuple[sm.Changed | None, str | None]:
            if continuation is None and limit <= 0:
                # The common case in one statement, without the job's lock: a job whose row is committed and
                # claimable is claimed here. Only when it is not (not yet committed by a sender that holds the
                # lock, or really not claimable) does the locked path below wait for that sender and decide.
                # With the claims of other threads that arrive meanwhile, in one statement (``actors.grouped``).
                fast = sm.claimed(rt.claims(job_id), job_id, worker=rt.worker_id)
                if fast is not None:
                    return fast, None
            with rt.sessions.begin() as session:
                lock_job(session, job_id)
                if continuation is None:
                    verdict, owner_id = admit(session, job_id, limit=limit)
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

        changed, status = self.outcomes.ride_out(claim, f"claiming job {job_id}")
        if behind:
            self.outcomes.wake_held(broker, kind, behind[0])
        if changed is None or changed.claim_token is None:
            log.info("skipping message for job %s: %s", job_id, status or "no such job")
            raise SkipMessage()
        # A claim also returns the job's stored state and resuming signal; a poll's takeover does not.
        stored_params, max_attempts, *resumed = changed.extra
        state, last_signal = resumed if resumed else (None, None)
        self.outcomes.publish(changed.events)
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
        self.outcomes.conclude(broker, message, kind, queue, ctx, exception)
        self.outcomes.wake_held(broker, kind, ctx.owner_id)
