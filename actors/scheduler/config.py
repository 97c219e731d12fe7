"""What the scheduler process needs, as plain data built from the settings by its entry point
(``python -m service scheduler``): the scheduler is a worker-side role and never imports the service."""

from __future__ import annotations

import msgspec

from actors.payments.stripe_client import StripeConfig


class SchedulerConfig(msgspec.Struct, frozen=True):
    database_url: str
    redis_url: str
    kind_modules: tuple[str, ...] = ()
    sweep_interval_seconds: float = 10.0
    lost_message_grace_seconds: float = 10.0
    lease_seconds: float = 15.0
    # Fair scheduling: the default limit of running jobs per owner and kind (0: unlimited).
    max_running_per_owner: int = 0
    broker_heartbeat_timeout_ms: int = 30_000
    broker_maintenance_chance: int = 1000
    stream_maxlen: int = 1000
    stream_ttl_seconds: int = 86_400
    artifacts_dir: str = ".data/artifacts"
    artifact_retention_days: int = 30
    notify_repair_interval_seconds: float = 60.0
    notify_repair_window_hours: float = 24.0
    notify_repair_grace_seconds: float = 60.0
    # None: Stripe is not configured, so there is nothing to reconcile.
    stripe: StripeConfig | None = None
    refund_grace_seconds: float = 60.0
