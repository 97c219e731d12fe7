"""Starts this worker process's metrics recorder, tracing and log format at boot, and flushes at shutdown."""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import Middleware

from actors.observe.tracing import configure_tracing
from db.observe.logs import configure_logging
from db.observe.recorder import RECORDER


class Observability(Middleware):
    def __init__(self, redis_url: str, *, log_format: str, log_level: str) -> None:
        self.redis_url = redis_url
        self.log_format = log_format
        self.log_level = log_level

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        configure_logging(self.log_level, self.log_format)
        configure_tracing("genjobs-worker")
        RECORDER.start(self.redis_url)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        RECORDER.stop()
