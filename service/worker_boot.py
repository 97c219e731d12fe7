"""The module the Dramatiq worker imports: configure the broker from settings and declare job actors.

``python -m service worker`` runs ``dramatiq service.worker_boot``; each worker process imports this.
Nothing connects here: the runtime (database, Redis clients) is created when the worker boots.
"""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage, ShutdownNotifications, TimeLimit

from actors.broker import build_broker
from actors.declare import declare_job_actors
from actors.holder import RuntimeHolder
from actors.middleware.lease import LeaseKeeper
from actors.middleware.lifecycle import JobLifecycle
from actors.middleware.processes import ProcessReaper
from actors.notify.delivery import declare_notify_actor
from actors.observe.middleware import Observability
from actors.observe.presence import PresenceBeat
from actors.observe.tracing import TraceContext
from actors.payments.refund import declare_refund_actor
from actors.registry import all_kinds, load_kind_modules
from actors.runtime import WorkerConfig
from service.payments.client import stripe_config
from service.settings import Settings, get_settings


def worker_config(settings: Settings) -> WorkerConfig:
    w = settings.worker
    return WorkerConfig(
        database_url=settings.database.sync_url,
        redis_url=settings.redis.url,
        lease_seconds=w.lease_seconds,
        heartbeat_seconds=w.heartbeat_seconds,
        progress_interval_seconds=w.progress_interval_seconds,
        outage_budget_seconds=w.outage_budget_seconds,
        stream_maxlen=settings.redis.stream_maxlen,
        stream_ttl_seconds=settings.redis.stream_ttl_seconds,
        pool_size=max(2, w.threads + 2),
        artifacts_dir=settings.artifacts_dir,
        kind_settings={name: kind.load_settings(settings.kind_env()) for name, kind in all_kinds().items()},
        max_running_per_owner=w.max_running_per_owner,
    )


def configure_worker_broker(settings: Settings) -> dramatiq.Broker:
    """Build the worker's broker with the job middlewares and declare every kind's actors."""
    # Kinds first: the worker's configuration carries each kind's own settings section.
    load_kind_modules(settings.worker.kind_modules)
    holder = RuntimeHolder(worker_config(settings))
    broker = build_broker(
        settings.redis.url,
        middleware=[
            Observability(settings.redis.url, log_format=settings.log_format, log_level=settings.log_level),
            # Before the lifecycle: a job is claimed and finished inside the span of its run.
            TraceContext(),
            PresenceBeat(holder),
            TimeLimit(),
            ShutdownNotifications(),
            CurrentMessage(),
            JobLifecycle(holder),
            LeaseKeeper(holder),
            ProcessReaper(),
        ],
        heartbeat_timeout_ms=settings.worker.broker_heartbeat_timeout_ms,
        maintenance_chance=settings.worker.broker_maintenance_chance,
    )
    dramatiq.set_broker(broker)
    declare_job_actors(broker)
    declare_refund_actor(broker, lambda: holder.runtime.sessions, stripe_config(settings))
    declare_notify_actor(broker, holder, settings.notify)
    return broker


broker = configure_worker_broker(get_settings())
