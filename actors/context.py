"""What job code sees: its params, ``progress()`` and ``check_cancelled()``; for kinds that wait, ``wait()``,
the stored ``state`` and the ``signal`` that resumed the job (``actors.signals``).

Both calls renew the job's lease and stop the job (``JobCancelled``) when it was cancelled or re-claimed.
A short Redis or Postgres outage does not stop the job: Postgres writes are retried (``ride_out``) within
the worker's outage budget, and Redis is only a shortcut here (cancel flags, live progress), so a failed
Redis call is skipped.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from actors.errors import JobCancelled
from actors.registry import get_kind
from actors.retry import is_transient, ride_out
from actors.runtime import WorkerRuntime
from actors.signals import ReceivedSignal, WaitFor
from db import direct
from db.live import LiveEvent, Progress, cancel_flag_key
from db.progress import overall_percent, record_progress, renew_leases

if TYPE_CHECKING:
    from actors.process import ProcessLimits, ProcessResult
    from actors.process.job import JobOutput

log = logging.getLogger("genjobs.worker")
_current = threading.local()


class JobContext:
    def __init__(
        self,
        runtime: WorkerRuntime,
        *,
        job_id: uuid.UUID,
        owner_id: uuid.UUID,
        kind: str,
        params: Any,
        claim_token: uuid.UUID,
        attempt: int,
        max_attempts: int,
        state: dict[str, Any] | None = None,
        signal: ReceivedSignal | None = None,
    ) -> None:
        self.runtime = runtime
        self.job_id = job_id
        self.owner_id = owner_id
        self.kind = kind
        self.params = params
        self.claim_token = claim_token
        self.attempt = attempt
        self.max_attempts = max_attempts
        self.thread_id = threading.get_ident()
        self.cancelled = threading.Event()
        self.cancel_seen_at: float | None = None
        self._last_emit = 0.0
        self._last_cancel_check = time.monotonic()
        self._last_renewal = time.monotonic()
        self._step: str | None = None
        self._pending: tuple[int, int | None, str | None] | None = None
        self.result: dict[str, Any] | None = None
        self._percent = 0.0
        self._output: JobOutput | None = None
        # What the kind stored when the job last waited (empty on a first run), and the signal that resumed it.
        self.state: dict[str, Any] = dict(state or {})
        self.signal = signal

    @property
    def settings(self) -> Any:
        """This job's kind's settings section (``JobKind.settings``), or None."""
        return self.runtime.config.kind_settings.get(self.kind)

    def wait(
        self,
        for_: str,
        *,
        deadline: datetime | timedelta | float | None = None,
        state: dict[str, Any] | None = None,
    ) -> NoReturn:
        """Park the job until a signal its kind declares, or ``deadline`` (an aware datetime, a timedelta or
        seconds; then the ``timeout`` signal) resumes it; the job holds no worker meanwhile and this run uses
        up no attempt. ``state`` replaces the stored state (None keeps it); the next run reads it as ``state``.

        Raises:
            WaitFor: always; let it propagate (the lifecycle middleware parks the job).
        """
        raise WaitFor(for_, deadline=deadline, state=state)

    def progress(self, done: int, total: int | None = None, step: str | None = None) -> None:
        """Report progress; throttled so a big job does not flood Postgres, Redis or browsers.

        Raises:
            JobCancelled: the job was cancelled or is no longer ours; stop.
        """
        self.check_cancelled()
        now = time.monotonic()
        step_changed = step != self._step
        finished = total is not None and done >= total
        if not (step_changed or finished) and now - self._last_emit < self.runtime.config.progress_interval_seconds:
            self._pending = (done, total, step)
            return
        self._emit(done, total, step, step_changed, now)

    def flush_progress(self) -> None:
        """Write a throttled progress report that has not been emitted yet."""
        if self._pending is not None:
            done, total, step = self._pending
            self._emit(done, total, step, False, time.monotonic())

    def _emit(self, done: int, total: int | None, step: str | None, step_changed: bool, now: float) -> None:
        rt = self.runtime
        self._pending = None

        report = functools.partial(
            record_progress,
            job_id=self.job_id,
            claim_token=self.claim_token,
            done=done,
            total=total,
            step=step,
            lease_seconds=rt.config.lease_seconds,
            worker=rt.worker_id,
            step_changed=step_changed,
        )

        def store() -> uuid.UUID | None:
            # One direct statement, a new step's audit row included.
            with direct.sync_connection(rt.direct) as conn:
                return report(conn)

        owner = ride_out(store, what=f"progress of job {self.job_id}", budget_seconds=rt.config.outage_budget_seconds)
        if owner is None:
            self.cancelled.set()
            raise JobCancelled(f"job {self.job_id} was cancelled or re-claimed")
        self._step = step
        self._last_emit = now
        self._last_renewal = now
        # The whole job's percent across its steps, on the wire for every client: always present, and never
        # lower than the last one sent in this run (a step restarting its own count does not move it back).
        kind = get_kind(self.kind)
        measured = overall_percent(kind.phases if kind is not None else (), step, done, total)
        self._percent = max(self._percent, measured if measured is not None else 0.0)
        event = LiveEvent(owner, Progress(self.job_id, done, total, self._percent, step))
        try:
            rt.publisher.publish([event])
        except Exception as exc:
            # Postgres holds the progress; a live report missed while Redis is away is replaced by the next one.
            if not is_transient(exc):
                raise
            log.warning("job %s: live progress not published, Redis unreachable: %s", self.job_id, exc)

    def check_cancelled(self) -> None:
        """Raise ``JobCancelled`` if the job was cancelled; cheap enough to call in tight loops."""
        if self.cancelled.is_set():
            raise JobCancelled(f"job {self.job_id} was cancelled")
        now = time.monotonic()
        cfg = self.runtime.config
        if now - self._last_cancel_check >= cfg.cancel_poll_seconds:
            self._last_cancel_check = now
            if self._cancel_flag_set():
                self.cancelled.set()
                raise JobCancelled(f"job {self.job_id} was cancelled")
        if now - self._last_renewal >= cfg.lease_seconds / 3:
            self._renew(now)

    def run_process(
        self,
        argv: list[str],
        *,
        cwd: Path | str,
        env: Mapping[str, str] | None = None,
        limits: ProcessLimits | None = None,
        timeout: float | None = None,
        network: bool = False,
        check: bool = True,
        writable: tuple[str, ...] = (),
    ) -> ProcessResult:
        """Run a program for this job under supervision (see ``actors.process``) and wait for it.

        Its lines go out as ``log`` events, its last 200 lines are kept on the job, its whole output is the
        job's ``process.log``; it is killed with its whole process group when the job is cancelled, loses its
        lease, times out or the worker stops. With bubblewrap it runs sandboxed: only ``cwd`` (and the
        directories in ``writable``, e.g. a package manager's cache) writable, no network unless ``network``.
        It gets ``env`` over a minimal base, never the worker's environment.

        Raises:
            JobCancelled: the job was cancelled or is no longer ours (the program was killed).
            ProcessFailed: with ``check``, the program failed or crossed a limit (the message names which).
            ProcessTimedOut: with ``check``, it ran past ``timeout``; the job ends ``timed_out``.
        """
        from actors.process.job import JobOutput, run_job_process

        if self._output is None:
            self._output = JobOutput(self)
        return run_job_process(
            self,
            self._output,
            argv,
            cwd=cwd,
            env=env,
            limits=limits,
            timeout=timeout,
            network=network,
            check=check,
            writable=writable,
        )

    def log_line(self, text: str) -> None:
        """A line of the job's own in its log (live ``log`` event, kept tail, ``process.log``), e.g. why a
        step was skipped."""
        from actors.process.job import JobOutput

        if self._output is None:
            self._output = JobOutput(self)
        self._output.note(text)

    def _cancel_flag_set(self) -> bool:
        # The flag is a shortcut: a cancellation is also in Postgres, where the lease renewal sees it.
        try:
            return bool(self.runtime.redis.exists(cancel_flag_key(self.job_id)))
        except Exception as exc:
            if not is_transient(exc):
                raise
            return False

    def _renew(self, now: float) -> None:
        rt = self.runtime

        def renew() -> set[uuid.UUID]:
            with rt.sessions.begin() as session:
                return renew_leases(session, [(self.job_id, self.claim_token)], lease_seconds=rt.config.lease_seconds)

        renewed = ride_out(renew, what=f"lease of job {self.job_id}", budget_seconds=rt.config.outage_budget_seconds)
        self._last_renewal = now
        if self.job_id not in renewed:
            self.cancelled.set()
            raise JobCancelled(f"job {self.job_id} is no longer claimed by this worker")


def current_job() -> JobContext:
    """The context of the job running in this thread."""
    ctx: JobContext | None = getattr(_current, "ctx", None)
    if ctx is None:
        raise RuntimeError("no job is running in this thread")
    return ctx


def current_or_none() -> JobContext | None:
    ctx: JobContext | None = getattr(_current, "ctx", None)
    return ctx


def set_current(ctx: JobContext | None) -> None:
    _current.ctx = ctx
