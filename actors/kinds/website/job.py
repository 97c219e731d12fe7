"""The website job: create a project at the generator, then poll it until it is done, one message per poll.

Each run of the handler does one step and returns or raises:

* no project yet: create it (idempotent on the job id), show its tracking URL as the job's result at once,
  and poll again after the schedule's first interval;
* a project: check its status once; ``completed`` -> the job succeeds, ``failed`` -> it fails, still working
  -> ``PollAgain`` after the adaptive interval;
* network errors and 5xx -> ``PollAgain`` after an exponential backoff; 429 -> after its ``Retry-After``;
  another 4xx -> the job fails with a message the user understands;
* past the deadline -> ``JobTimedOut``.

The polling state (project id, counters, deadline) lives in Postgres (``db.polls``), so any worker can run
the next step, including one that takes over after the previous worker was killed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, NoReturn

from actors.context import JobContext
from actors.errors import JobCancelled, JobTimedOut, PermanentJobError
from actors.kinds.website.client import (
    GeneratorClient,
    GeneratorRateLimited,
    GeneratorRejected,
    GeneratorUnavailable,
    Project,
)
from actors.kinds.website.messages import duration, user_message
from actors.kinds.website.params import WebsiteParams
from actors.kinds.website.schedule import clamp_to_deadline, poll_interval
from actors.kinds.website.settings import WebsiteConfig
from actors.links import tracking_result
from actors.polling import PollAgain
from actors.retry import backoff_seconds
from db.polls import PollState, load_poll, save_poll, set_partial_result, start_poll

log = logging.getLogger("genjobs.website")
STEP = "generating"


def run_website(ctx: JobContext, params: WebsiteParams) -> dict[str, Any]:
    """The kind's handler (a Dramatiq worker thread): one step of the generation, see the module docstring."""
    config: WebsiteConfig = ctx.settings
    if not config.generator_url:
        raise PermanentJobError(user_message("not_configured", params.locale))
    return WebsiteStep(ctx, params, config).run()


class WebsiteStep:
    def __init__(self, ctx: JobContext, params: WebsiteParams, config: WebsiteConfig) -> None:
        self.ctx = ctx
        self.params = params
        self.config = config
        self.poll = self._load_or_start()

    def _load_or_start(self) -> PollState:
        ctx = self.ctx
        with ctx.runtime.sessions.begin() as session:
            poll = load_poll(session, ctx.job_id) or start_poll(
                session, ctx.job_id, ctx.claim_token, deadline_seconds=self.config.deadline_seconds
            )
        if poll is None:
            raise JobCancelled(f"job {ctx.job_id} is no longer ours")
        return poll

    @property
    def remaining(self) -> float:
        return (self.poll.deadline_at - datetime.now(UTC)).total_seconds()

    @property
    def elapsed(self) -> float:
        return (datetime.now(UTC) - self.poll.started_at).total_seconds()

    def run(self) -> dict[str, Any]:
        self.ctx.check_cancelled()
        cfg = self.config
        project_id = self.poll.state.get("project_id")
        try:
            with GeneratorClient(cfg.generator_url, cfg.generator_api_key, timeout=cfg.http_timeout_seconds) as client:
                if project_id is None:
                    project = client.create_project(self.params.prompt, idempotency_key=str(self.ctx.job_id))
                    self._remember_project(project)
                else:
                    project = client.get_project(str(project_id))
                    self.poll.polls += 1
        except GeneratorUnavailable as exc:
            self._wait(self._backoff(), f"generator unavailable ({exc}); failure {self.poll.failures} in a row")
        except GeneratorRateLimited as exc:
            # Honour the generator's own wait; without one, back off as for any passing failure.
            wait = exc.retry_after if exc.retry_after is not None else self._backoff()
            self._wait(wait, f"generator rate limit; Retry-After {exc.retry_after}")
        except GeneratorRejected as exc:
            self._rejected(exc, creating=project_id is None)
        self.poll.failures = 0
        return self._after_status(project)

    def _after_status(self, project: Project) -> dict[str, Any]:
        locale = self.params.locale
        if project.status == "completed":
            self._save()
            return {
                **self._tracking(project),
                "url": project.url,
                "polls": self.poll.polls,
                "seconds": round(self.elapsed, 1),
            }
        if project.status == "failed":
            self._save()
            reason = " ".join((project.error or "").split())[:300] or user_message("no_reason", locale)
            raise PermanentJobError(user_message("generation_failed", locale, reason=reason))
        self._wait(poll_interval(self.elapsed, self.config.poll_schedule), f"project {project.status}")

    def _backoff(self) -> float:
        """Count one more passing failure; the wait before trying again."""
        self.poll.failures += 1
        cfg = self.config
        return backoff_seconds(self.poll.failures, base=cfg.backoff_initial_seconds, cap=cfg.backoff_max_seconds)

    def _wait(self, delay: float, why: str) -> NoReturn:
        """Poll again after ``delay`` seconds, or time out when the deadline has come."""
        if self.remaining <= 0:
            self._save()
            locale = self.params.locale
            tracking = self.poll.state.get("tracking_url") or user_message("no_tracking", locale)
            within = duration(self.config.deadline_seconds, locale)
            raise JobTimedOut(user_message("timed_out", locale, duration=within, tracking_url=tracking))
        self._save()
        raise PollAgain(clamp_to_deadline(delay, self.remaining), why)

    def _rejected(self, exc: GeneratorRejected, *, creating: bool) -> NoReturn:
        self._save()
        locale = self.params.locale
        log.warning("job %s: the generator rejected the request: %s", self.ctx.job_id, exc)
        # 400/422 on create are about the prompt; anything else (401, 403, 404, ...) is not the user's doing.
        key = "prompt_rejected" if creating and exc.status_code in (400, 413, 422) else "refused"
        raise PermanentJobError(user_message(key, locale, reason=exc.reason))

    def _remember_project(self, project: Project) -> None:
        ctx = self.ctx
        self.poll.state = {"project_id": project.id, "tracking_url": project.tracking_url}
        with ctx.runtime.sessions.begin() as session:
            if not save_poll(session, ctx.job_id, ctx.claim_token, self.poll):
                raise JobCancelled(f"job {ctx.job_id} is no longer ours")
            events = set_partial_result(
                session,
                ctx.job_id,
                ctx.claim_token,
                {**self._tracking(project), "status": project.status},
                step=STEP,
                actor=f"worker:{ctx.runtime.worker_id}",
            )
        try:
            ctx.runtime.publisher.publish(events)
        except Exception:
            log.exception("could not publish the tracking URL of job %s", ctx.job_id)

    def _tracking(self, project: Project) -> dict[str, Any]:
        # ``tracking_url`` stays the job's own page, given from creation (also by the tool API); the
        # generator's page for the project is shown beside it.
        return {
            **tracking_result(self.config.public_url, self.ctx.job_id),
            "generator_tracking_url": project.tracking_url or self.poll.state.get("tracking_url"),
            "project_id": project.id,
        }

    def _save(self) -> None:
        ctx = self.ctx
        with ctx.runtime.sessions.begin() as session:
            if not save_poll(session, ctx.job_id, ctx.claim_token, self.poll):
                raise JobCancelled(f"job {ctx.job_id} is no longer ours")
