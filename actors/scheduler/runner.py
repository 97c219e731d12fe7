"""The scheduler loop: while holding the leader lock, run each periodic task when it is due."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import redis

from actors.broker import build_broker
from actors.notify.hook import use_sessions
from actors.notify.repair import repair_notifications
from actors.payments.reconcile import PaymentReconciler
from actors.payments.stripe_client import StripeConnection
from actors.registry import load_kind_modules
from actors.scheduler.calendar import CalendarTask, daily_at, monthly_on_first, run_due
from actors.scheduler.config import SchedulerConfig
from actors.scheduler.deadlines import DeadlinePass
from actors.scheduler.fairness import FairnessPass
from actors.scheduler.leader import LeaderLock
from actors.scheduler.maintenance import delete_old_artifacts, reset_quotas
from actors.scheduler.promotion import PromotionPass
from actors.scheduler.sweeper import Sweeper
from db.engine import make_engine, make_sessionmaker
from db.live import LivePublisher

log = logging.getLogger("genjobs.scheduler")
TICK_SECONDS = 0.5
# Calendar tasks are due at most once a day; checking every minute runs them within a minute of their time.
CALENDAR_CHECK_SECONDS = 60.0


@dataclass
class PeriodicTask:
    name: str
    interval_seconds: float
    run: Callable[[], object]
    next_run: float = 0.0


def run_scheduler(config: SchedulerConfig, stop: threading.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():

        def _on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)

    load_kind_modules(config.kind_modules)
    engine = make_engine(config.database_url, pool_size=2)
    client = redis.Redis.from_url(config.redis_url, socket_connect_timeout=3, socket_timeout=10)
    broker = build_broker(
        config.redis_url,
        heartbeat_timeout_ms=config.broker_heartbeat_timeout_ms,
        maintenance_chance=config.broker_maintenance_chance,
    )
    sessions = make_sessionmaker(engine)
    # The sweeper finishes jobs too (a lost worker's last attempt): its notification hook reads the database.
    use_sessions(lambda: sessions)
    sweeper = Sweeper(
        sessions=sessions,
        broker=broker,
        publisher=LivePublisher(client, maxlen=config.stream_maxlen, ttl_seconds=config.stream_ttl_seconds),
        lost_message_grace_seconds=config.lost_message_grace_seconds,
        lease_seconds=config.lease_seconds,
    )
    artifacts_dir = Path(config.artifacts_dir)
    retention = config.artifact_retention_days
    calendar = [
        CalendarTask("quota_reset", monthly_on_first, lambda at: reset_quotas(sessions, at)),
        CalendarTask(
            "artifact_cleanup", daily_at(2), lambda at: delete_old_artifacts(sessions, artifacts_dir, retention, at)
        ),
    ]
    tasks = [
        PeriodicTask("sweeper", config.sweep_interval_seconds, sweeper.sweep),
        PeriodicTask("calendar", CALENDAR_CHECK_SECONDS, lambda: run_due(sessions, calendar)),
        PeriodicTask("deadlines", TICK_SECONDS * 2, DeadlinePass(sessions, broker, sweeper.publisher).run),
        PeriodicTask(
            "fairness",
            config.sweep_interval_seconds,
            FairnessPass(sessions, broker, config.max_running_per_owner).run,
        ),
        PeriodicTask("promotion", config.sweep_interval_seconds, PromotionPass(sessions, broker).run),
        PeriodicTask(
            "notify_repair",
            config.notify_repair_interval_seconds,
            lambda: repair_notifications(
                sessions,
                broker,
                window_hours=config.notify_repair_window_hours,
                grace_seconds=config.notify_repair_grace_seconds,
            ),
        ),
    ]
    stripe_connection = StripeConnection(config.stripe) if config.stripe is not None else None
    if stripe_connection is not None:
        reconciler = PaymentReconciler(
            sessions, broker, sweeper.publisher, stripe_connection, config.refund_grace_seconds
        )
        tasks.append(PeriodicTask("payments", config.sweep_interval_seconds, reconciler.run))
    lock = LeaderLock(client, ttl_ms=int(max(10.0, config.sweep_interval_seconds) * 1000))
    log.info("scheduler started: %s", ", ".join(f"{t.name} every {t.interval_seconds:g}s" for t in tasks))
    leading = False
    try:
        while not stop.is_set():
            try:
                now_leading = lock.hold()
            except redis.RedisError as exc:
                log.warning("scheduler cannot reach Redis: %s", exc)
                now_leading = False
            if now_leading != leading:
                log.info("scheduler %s", "is the leader" if now_leading else "is standing by")
                leading = now_leading
            if leading:
                _run_due(tasks)
            stop.wait(TICK_SECONDS)
    finally:
        with contextlib.suppress(redis.RedisError):
            lock.release()
        broker.client.close()
        client.close()
        if stripe_connection is not None:
            stripe_connection.close()
        engine.dispose()
    log.info("scheduler stopped")
    return 0


def _run_due(tasks: list[PeriodicTask]) -> None:
    now = time.monotonic()
    for task in tasks:
        if now < task.next_run:
            continue
        task.next_run = now + task.interval_seconds
        started = time.monotonic()
        try:
            task.run()
        except Exception:
            log.exception("periodic task %s failed", task.name)
        else:
            log.debug("periodic task %s took %.3f s", task.name, time.monotonic() - started)
