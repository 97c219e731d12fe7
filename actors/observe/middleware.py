"""Starts this worker process's metrics recorder, tracing and log format at boot, and flushes at shutdown.

Every line logged by a thread while it runs a job (the job's own lines, httpx's line per outbound request)
carries that job's ``job_id``, ``kind`` and ``attempt``."""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.middleware import Middleware

from actors.context import current_or_none
from actors.observe.tracing import configure_tracing
from db.observe.logs import BatchedStreamHandler, configure_logging
from db.observe.recorder import RECORDER


class JobFieldsFilter(logging.Filter):
    """Adds the running job's id, kind and attempt to records logged in its thread."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = current_or_none()
        if ctx is not None and not hasattr(record, "job_id"):
            record.job_id = str(ctx.job_id)
            record.kind = ctx.kind
            record.attempt = ctx.attempt
        return True


class Observability(Middleware):
    def __init__(self, redis_url: str, *, log_format: str, log_level: str) -> None:
        self.redis_url = redis_url
        self.log_format = log_format
        self.log_level = log_level

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Before the worker's threads start: the first message they take is already logged and traced.
        configure_logging(self.log_level, self.log_format, batched=True)
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, JobFieldsFilter) for f in handler.filters):
                handler.addFilter(JobFieldsFilter())
        configure_tracing("genjobs-worker")
        RECORDER.start(self.redis_url)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # From now on every line is written as it is logged: a Dramatiq worker process runs no atexit handlers,
        # and closes its log pipe as soon as its worker has stopped.
        for handler in logging.getLogger().handlers:
            if isinstance(handler, BatchedStreamHandler):
                handler.stop_batching()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        RECORDER.stop()
