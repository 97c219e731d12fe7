"""Keeps running jobs' leases alive and enforces cancellation, from one thread per worker process.

* Every ``heartbeat_seconds`` it renews the lease of every job running here; a job whose claim is gone
  (cancelled, or re-claimed by the sweeper) is told to stop.
* Every ``cancel_poll_seconds`` it reads the cancel flags of those jobs; a job that does not stop by itself
  within ``cancel_grace_seconds`` (stuck in code that never calls ``progress()``) is interrupted.
* Every ``heartbeat_seconds`` it also refreshes this process's broker heartbeat (the one Dramatiq's fetches
  write), so a process alive enough to keep its leases is never taken for dead and has its messages
  returned by the sweeper (``actors.broker.requeue_dead_workers``), even while its consumers are all busy.
"""

from __future__ import annotations

import logging
import threading
import time

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware
from dramatiq.middleware.threading import raise_thread_exception

from actors.broker import refresh_heartbeat
from actors.context import JobContext
from actors.errors import JobCancelled
from actors.holder import RuntimeHolder
from actors.retry import is_transient
from db.live import cancel_flag_key
from db.observe import catalog
from db.observe.recorder import inc
from db.progress import renew_leases

log = logging.getLogger("genjobs.lease")


class LeaseKeeper(Middleware):
    def __init__(self, holder: RuntimeHolder) -> None:
        self.holder = holder
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._broker: dramatiq.Broker | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._broker = broker
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="genjobs-lease-keeper", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        cfg = self.holder.config
        last_renewal = time.monotonic()
        last_heartbeat = 0.0
        while not self._stop.wait(cfg.cancel_poll_seconds):
            if time.monotonic() - last_heartbeat >= cfg.heartbeat_seconds:
                try:
                    self._beat()
                    last_heartbeat = time.monotonic()
                except Exception as exc:
                    self._report(exc, "refreshing the broker heartbeat")
            running = self.holder.runtime.running()
            if not running:
                continue
            # Two independent duties: Redis being away must never stop the leases (kept in Postgres) from
            # being renewed, nor the reverse. A failed renewal is tried again on the next tick, not a
            # heartbeat later.
            try:
                self._watch_cancellations(running)
            except Exception as exc:
                self._report(exc, "reading cancel flags")
            if time.monotonic() - last_renewal >= cfg.heartbeat_seconds:
                try:
                    self._renew(running)
                    last_renewal = time.monotonic()
                except Exception as exc:
                    self._report(exc, "renewing leases")

    def _beat(self) -> None:
        if isinstance(self._broker, RedisBroker):
            refresh_heartbeat(self._broker)

    @staticmethod
    def _report(exc: Exception, what: str) -> None:
        if is_transient(exc):
            log.warning("lease keeper: %s failed, Redis or Postgres unreachable: %s", what, exc)
        else:
            log.exception("lease keeper: %s failed", what)

    def _watch_cancellations(self, running: list[JobContext]) -> None:
        rt = self.holder.runtime
        now = time.monotonic()
        # Jobs already told to stop (by a lost claim seen in Postgres) are followed up even with Redis away.
        for ctx in running:
            if ctx.cancelled.is_set():
                self._stop_job(ctx, now)
        flags = rt.redis.mget([cancel_flag_key(ctx.job_id) for ctx in running])
        for ctx, flag in zip(running, flags, strict=True):
            if flag is not None and not ctx.cancelled.is_set():
                self._stop_job(ctx, now)

    def _stop_job(self, ctx: JobContext, now: float) -> None:
        ctx.cancelled.set()
        if ctx.cancel_seen_at is None:
            ctx.cancel_seen_at = now
            return
        overdue = now - ctx.cancel_seen_at >= self.holder.config.cancel_grace_seconds
        # Only interrupt a thread that is still running this very job.
        if overdue and any(c is ctx for c in self.holder.runtime.running()):
            log.warning("interrupting job %s: it did not stop after cancellation", ctx.job_id)
            ctx.cancel_seen_at = float("inf")
            raise_thread_exception(ctx.thread_id, JobCancelled)  # type: ignore[no-untyped-call]

    def _renew(self, running: list[JobContext]) -> None:
        rt = self.holder.runtime
        with rt.sessions.begin() as session:
            renewed = renew_leases(
                session, [(c.job_id, c.claim_token) for c in running], lease_seconds=rt.config.lease_seconds
            )
        for ctx in running:
            if ctx.job_id not in renewed and not ctx.cancelled.is_set():
                log.warning("job %s lost its claim; stopping it", ctx.job_id)
                inc(catalog.LEASE_LOSSES, ctx.kind)
                ctx.cancelled.set()
