"""A supervised program run for a job: its output as live ``log`` events, its last lines kept on the job
(table ``job_logs``), its whole output in the job's ``process.log`` artifact, and the job's cancel state
(cancel, lost lease) as the reason to stop it.

Errors (both are ``PermanentJobError``s, so the job fails at once without retries)::

    PermanentJobError
     ├── ProcessFailed        the program exited non-zero, was killed by a signal or crossed a limit
     └── JobTimedOut
          └── ProcessTimedOut  the program ran past its time limit; the job ends ``timed_out``
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import redis
from sqlalchemy.dialects.postgresql import insert

from actors.errors import JobTimedOut, PermanentJobError
from actors.process.limits import ProcessLimits
from actors.process.result import ProcessResult, StopReason
from actors.process.runner import run_process
from actors.process.sandbox import SandboxPolicy
from actors.registry import Artifact
from db.live import LiveEvent, LogLines
from db.models import JobLog
from db.state_machine import record_event

if TYPE_CHECKING:
    from actors.context import JobContext

log = logging.getLogger("genjobs.process")

TAIL_LINES = 200
# The whole output of a job's programs, under the job's folder; served for jobs of any kind.
PROCESS_LOG = Artifact("process.log", "process-{title}.log", "text/plain; charset=utf-8")
# Lines per ``log`` event: a burst of output becomes a few events, never one line per event.
_LINES_PER_EVENT = 200
_SAVE_TAIL_SECONDS = 2.0


class ProcessFailed(PermanentJobError):
    """A program the job ran failed; the message names the command and what ended it."""

    def __init__(self, result: ProcessResult) -> None:
        super().__init__(result.describe())
        self.result = result


class ProcessTimedOut(JobTimedOut):
    """A program the job ran went past its time limit and was killed."""

    def __init__(self, result: ProcessResult) -> None:
        super().__init__(result.describe())
        self.result = result


def job_files_dir(artifacts_dir: str, job_id: object) -> Path:
    """The job's own files (its process log) under ``ARTIFACTS_DIR``."""
    return Path(artifacts_dir) / str(job_id)


class JobOutput:
    """The output of every program one job runs: batched live events and the saved tail."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._pending: list[str] = []
        self._command = ""
        self._last_publish = 0.0
        self._last_save = time.monotonic()
        self._unsaved = False

    def start(self, command: str) -> None:
        self._command = command
        self.line("stdout", f"$ {command}")

    def line(self, stream: str, text: str) -> None:
        self.tail.append(text)
        self._pending.append(text)
        self._unsaved = True
        self.tick()

    def note(self, text: str) -> None:
        """A line from the job itself (not a program), in the live log, the tail and ``process.log``."""
        files = job_files_dir(self.ctx.runtime.config.artifacts_dir, self.ctx.job_id)
        files.mkdir(parents=True, exist_ok=True)
        with (files / PROCESS_LOG.name).open("a", encoding="utf-8") as log_file:
            log_file.write(f"# {text}\n")
        self._command = ""
        self.line("stdout", f"# {text}")
        self.finish()

    def tick(self) -> None:
        """Publish and save what is due (called for each line and about ten times a second)."""
        now = time.monotonic()
        if self._pending and now - self._last_publish >= self.ctx.runtime.config.progress_interval_seconds:
            self.publish()
        if self._unsaved and now - self._last_save >= _SAVE_TAIL_SECONDS:
            self.save()

    def publish(self) -> None:
        lines, self._pending = self._pending, []
        self._last_publish = time.monotonic()
        ctx = self.ctx
        events = [
            LiveEvent(ctx.owner_id, LogLines(ctx.job_id, self._command, lines[i : i + _LINES_PER_EVENT]))
            for i in range(0, len(lines), _LINES_PER_EVENT)
        ]
        try:
            ctx.runtime.publisher.publish(events)
        except redis.RedisError:
            # Live lines are a convenience: the tail in Postgres and the log file still have them.
            log.warning("could not publish %d log line(s) of job %s", len(lines), ctx.job_id)

    def save(self) -> None:
        self._unsaved = False
        self._last_save = time.monotonic()
        lines = list(self.tail)
        stmt = insert(JobLog).values(job_id=self.ctx.job_id, lines=lines)
        stmt = stmt.on_conflict_do_update(
            index_elements=[JobLog.job_id], set_={"lines": lines, "updated_at": stmt.excluded.updated_at}
        )
        with self.ctx.runtime.sessions.begin() as session:
            session.execute(stmt)

    def finish(self) -> None:
        if self._pending:
            self.publish()
        self.save()


def run_job_process(
    ctx: JobContext,
    output: JobOutput,
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str] | None,
    limits: ProcessLimits | None,
    timeout: float | None,
    network: bool,
    check: bool,
    writable: tuple[str, ...] = (),
) -> ProcessResult:
    """``run_process`` for a job; see ``JobContext.run_process``."""
    files = job_files_dir(ctx.runtime.config.artifacts_dir, ctx.job_id)
    files.mkdir(parents=True, exist_ok=True)
    # Only the job's working directory is writable; the service's files (other jobs' uploads and results
    # included) are hidden from the program.
    policy = SandboxPolicy(writable=(str(cwd), *writable), network=network, hidden=(ctx.runtime.config.artifacts_dir,))
    output.start(" ".join(argv))

    def should_stop() -> bool:
        output.tick()
        ctx.check_cancelled()  # raises JobCancelled on a cancel or a lost lease: the runner kills the group
        return False

    try:
        result = run_process(
            argv,
            cwd=cwd,
            env=env,
            limits=limits,
            timeout=timeout,
            on_line=output.line,
            should_stop=should_stop,
            sandbox=policy,
            log_path=files / PROCESS_LOG.name,
            tail_lines=TAIL_LINES,
        )
    finally:
        try:
            output.finish()
        except Exception:
            log.exception("could not save the log tail of job %s", ctx.job_id)
    if not result.ok and result.stopped is not StopReason.CANCELLED:
        record_failed_program(ctx, result)
    if check and result.stopped is StopReason.TIMEOUT:
        raise ProcessTimedOut(result)
    if check and not result.ok:
        raise ProcessFailed(result)
    return result


# The audit event of a program that failed; ``GET /api/jobs/{id}`` shows the one the job's error names.
PROCESS_FAILED_EVENT = "process_failed"


def record_failed_program(ctx: JobContext, result: ProcessResult) -> None:
    """Note in the job's audit trail which program failed and how (command, exit code or signal, the limit
    it crossed), for the API to show beside the job's error. A failure to note it never fails the job."""
    detail = {
        "command": result.command,
        "exit_code": result.returncode,
        "signal": result.signal,
        "stopped": result.stopped.value if result.stopped is not None else None,
    }
    try:
        with ctx.runtime.sessions.begin() as session:
            actor = f"worker:{ctx.runtime.worker_id}"
            record_event(session, ctx.job_id, PROCESS_FAILED_EVENT, actor=actor, detail=detail)
    except Exception:
        log.exception("could not record the failed program of job %s", ctx.job_id)
