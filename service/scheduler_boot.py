"""The scheduler's configuration from the settings: ``python -m service scheduler`` hands it to
``actors.scheduler.runner`` (the scheduler is a worker-side role and reads no service settings itself)."""

from __future__ import annotations

from actors.scheduler.config import SchedulerConfig
from service.payments.client import stripe_config
from service.settings import Settings


def scheduler_config(settings: Settings) -> SchedulerConfig:
    return SchedulerConfig(
        database_url=settings.database.sync_url,
        redis_url=settings.redis.url,
        kind_modules=settings.worker.kind_modules,
        sweep_interval_seconds=settings.scheduler.sweep_interval_seconds,
        lost_message_grace_seconds=settings.scheduler.lost_message_grace_seconds,
        lease_seconds=settings.worker.lease_seconds,
        max_running_per_owner=settings.worker.max_running_per_owner,
        broker_heartbeat_timeout_ms=settings.worker.broker_heartbeat_timeout_ms,
        broker_maintenance_chance=settings.worker.broker_maintenance_chance,
        stream_maxlen=settings.redis.stream_maxlen,
        stream_ttl_seconds=settings.redis.stream_ttl_seconds,
        artifacts_dir=settings.artifacts_dir,
        artifact_retention_days=settings.quota.artifact_retention_days,
        notify_repair_interval_seconds=settings.notify.repair_interval_seconds,
        notify_repair_window_hours=settings.notify.repair_window_hours,
        notify_repair_grace_seconds=settings.notify.repair_grace_seconds,
        stripe=stripe_config(settings) if settings.stripe.configured else None,
        refund_grace_seconds=settings.stripe.refund_grace_seconds,
    )
