"""One settings object for every process, read once from the environment.

Every external base URL is configurable so tests point it at a local server. Secrets live only here
and are never logged or returned: `Settings.__repr__` is not used in logs, and `redacted()` exists for
diagnostics.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import msgspec

from actors.env import KindEnv, SettingsError, flag, number, redact_url

# Re-exported: tests and callers read them from here.
__all__ = ["Settings", "SettingsError", "get_settings", "redact_url"]

from service.feature_settings import (
    NotifySettings,
    StripeSettings,
    notify_settings,
    stripe_settings,
)


class DatabaseSettings(msgspec.Struct, frozen=True):
    url: str = "postgresql://postgres@127.0.0.1:5432/genjobs"
    pool_size: int = 10
    echo: bool = False

    @property
    def async_url(self) -> str:
        """SQLAlchemy URL for the async engine (psycopg 3 in async mode)."""
        return _with_driver(self.url, "postgresql+psycopg")

    @property
    def libpq_url(self) -> str:
        """The URL for psycopg itself (``db.direct``)."""
        return _with_driver(self.url, "postgresql")

    @property
    def sync_url(self) -> str:
        """SQLAlchemy URL for the sync engine used by workers, the scheduler and migrations."""
        return _with_driver(self.url, "postgresql+psycopg")


class RedisSettings(msgspec.Struct, frozen=True):
    url: str = "redis://127.0.0.1:6379/0"
    # Per-job Redis Stream length: old entries are trimmed (MAXLEN ~); a resume older than that gets a snapshot.
    stream_maxlen: int = 1000
    # Streams of finished jobs are kept this long for late reconnects, then expire.
    stream_ttl_seconds: int = 86_400


class WorkerSettings(msgspec.Struct, frozen=True):
    processes: int = 2
    threads: int = 8
    # Running jobs hold a lease renewed by the worker's heartbeat; the sweeper re-claims expired ones.
    lease_seconds: float = 15.0
    heartbeat_seconds: float = 3.0
    # Minimum interval between two progress events of one job.
    progress_interval_seconds: float = 0.25
    # A worker whose broker heartbeat is older than this (ms) is taken for dead: the sweeper returns the
    # messages it held to their queues on its next pass.
    broker_heartbeat_timeout_ms: int = 30_000
    # Dramatiq's own, random, return of dead workers' messages (per million commands; its default). The
    # sweeper does not depend on it.
    broker_maintenance_chance: int = 1000
    # How long a running job waits out a Redis or Postgres outage (retrying its bookkeeping) before giving up.
    outage_budget_seconds: float = 60.0
    # How often a worker process looks for new messages for its idle consumers (ms, ``actors.queue_watch``):
    # the longest pickup delay of a message whose enqueuer did not ring the doorbell (a new job's does).
    poll_timeout_ms: int = 50
    # Extra modules that register job kinds (comma-separated), e.g. test kinds.
    kind_modules: tuple[str, ...] = ()
    # Fair scheduling: running jobs of one kind per owner, for kinds that set no limit of their own (0: unlimited).
    max_running_per_owner: int = 0


class SchedulerSettings(msgspec.Struct, frozen=True):
    sweep_interval_seconds: float = 10.0
    # A queued job whose message has been missing this long is re-sent.
    lost_message_grace_seconds: float = 10.0


class SseSettings(msgspec.Struct, frozen=True):
    heartbeat_seconds: float = 15.0


class QuotaSettings(msgspec.Struct, frozen=True):
    monthly_generation_limit: int = 20
    artifact_retention_days: int = 30


class AuthSettings(msgspec.Struct, frozen=True):
    session_cookie: str = "genjobs_session"
    session_days: int = 14
    cookie_secure: bool = False
    # Login attempts allowed per window, per account (email) and per client address; then 429.
    login_attempts_per_account: int = 10
    login_attempts_per_address: int = 50
    login_window_seconds: int = 900
    # Password hashes (argon2, 64 MiB each) computed at once per API process.
    password_hash_concurrency: int = 2


class MetricsSettings(msgspec.Struct, frozen=True):
    """Who may read ``GET /metrics``: holders of ``token`` (bearer), anyone when ``public``, else nobody (404)."""

    token: str = ""
    public: bool = False


class Settings(msgspec.Struct, frozen=True):
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    worker: WorkerSettings = WorkerSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    sse: SseSettings = SseSettings()
    auth: AuthSettings = AuthSettings()
    quota: QuotaSettings = QuotaSettings()
    stripe: StripeSettings = StripeSettings()
    notify: NotifySettings = NotifySettings()
    metrics: MetricsSettings = MetricsSettings()
    secret_key: str = ""
    artifacts_dir: str = ".data/artifacts"
    # Largest multipart/form-data body ``POST /api/jobs`` takes (files and fields together); larger is 413.
    upload_max_bytes: int = 50 * 1024 * 1024
    data_dir: str = ".data"
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    # ``text`` or ``json`` (one JSON object per line, with job ids and trace ids: ``db.observe.logs``).
    log_format: str = "text"
    # The environment the settings were read from: job kinds read their own sections from it (``kind_env``).
    environment: dict[str, str] = msgspec.field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Build settings from environment variables (unset ones keep their defaults)."""
        e = dict(os.environ if env is None else env)
        public_url = e.get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
        d = DatabaseSettings()
        r = RedisSettings()
        w = WorkerSettings()
        s = SchedulerSettings()
        qs, au = QuotaSettings(), AuthSettings()

        def num(name: str, default: float, kind: type[int] | type[float]) -> Any:
            return number(e, name, default, kind)

        return cls(
            database=DatabaseSettings(
                url=e.get("DATABASE_URL", d.url),
                pool_size=num("DATABASE_POOL_SIZE", d.pool_size, int),
                echo=flag(e.get("DATABASE_ECHO"), d.echo),
            ),
            redis=RedisSettings(
                url=e.get("REDIS_URL", r.url),
                stream_maxlen=num("EVENT_STREAM_MAXLEN", r.stream_maxlen, int),
                stream_ttl_seconds=num("EVENT_STREAM_TTL_SECONDS", r.stream_ttl_seconds, int),
            ),
            worker=WorkerSettings(
                processes=num("WORKER_PROCESSES", w.processes, int),
                threads=num("WORKER_THREADS", w.threads, int),
                lease_seconds=num("JOB_LEASE_SECONDS", w.lease_seconds, float),
                heartbeat_seconds=num("JOB_HEARTBEAT_SECONDS", w.heartbeat_seconds, float),
                progress_interval_seconds=num("PROGRESS_INTERVAL_SECONDS", w.progress_interval_seconds, float),
                broker_heartbeat_timeout_ms=num("BROKER_HEARTBEAT_TIMEOUT_MS", w.broker_heartbeat_timeout_ms, int),
                broker_maintenance_chance=num("BROKER_MAINTENANCE_CHANCE", w.broker_maintenance_chance, int),
                outage_budget_seconds=num("WORKER_OUTAGE_BUDGET_SECONDS", w.outage_budget_seconds, float),
                poll_timeout_ms=num("WORKER_POLL_TIMEOUT_MS", w.poll_timeout_ms, int),
                kind_modules=tuple(m.strip() for m in e.get("JOB_KIND_MODULES", "").split(",") if m.strip()),
                max_running_per_owner=num("MAX_RUNNING_PER_OWNER", w.max_running_per_owner, int),
            ),
            scheduler=SchedulerSettings(
                sweep_interval_seconds=num("SWEEP_INTERVAL_SECONDS", s.sweep_interval_seconds, float),
                lost_message_grace_seconds=num("LOST_MESSAGE_GRACE_SECONDS", s.lost_message_grace_seconds, float),
            ),
            sse=SseSettings(heartbeat_seconds=num("SSE_HEARTBEAT_SECONDS", SseSettings().heartbeat_seconds, float)),
            auth=AuthSettings(
                cookie_secure=flag(e.get("COOKIE_SECURE"), False),
                login_attempts_per_account=num("LOGIN_ATTEMPTS_PER_ACCOUNT", au.login_attempts_per_account, int),
                login_attempts_per_address=num("LOGIN_ATTEMPTS_PER_ADDRESS", au.login_attempts_per_address, int),
                login_window_seconds=num("LOGIN_WINDOW_SECONDS", au.login_window_seconds, int),
                password_hash_concurrency=max(1, num("PASSWORD_HASH_CONCURRENCY", au.password_hash_concurrency, int)),
            ),
            quota=QuotaSettings(
                monthly_generation_limit=num("MONTHLY_GENERATION_LIMIT", qs.monthly_generation_limit, int),
                artifact_retention_days=num("ARTIFACT_RETENTION_DAYS", qs.artifact_retention_days, int),
            ),
            stripe=stripe_settings(e),
            notify=notify_settings(e, public_url),
            metrics=MetricsSettings(token=e.get("METRICS_TOKEN", ""), public=flag(e.get("METRICS_PUBLIC"), False)),
            secret_key=e.get("SECRET_KEY", ""),
            artifacts_dir=e.get("ARTIFACTS_DIR", ".data/artifacts"),
            upload_max_bytes=num("UPLOAD_MAX_BYTES", 50 * 1024 * 1024, int),
            data_dir=e.get("DATA_DIR", ".data"),
            public_url=public_url,
            log_level=e.get("LOG_LEVEL", "INFO").upper(),
            log_format=_log_format(e.get("LOG_FORMAT", "text")),
            environment=e,
        )

    def kind_env(self) -> KindEnv:
        """What job kinds read their own settings sections from (``JobKind.settings``)."""
        return KindEnv(self.environment, public_url=self.public_url, artifacts_dir=self.artifacts_dir)

    def redacted(self) -> dict[str, object]:
        """Settings as a dict with secrets and URL passwords masked, safe to print."""
        raw = msgspec.to_builtins(self)
        raw["database"]["url"] = redact_url(self.database.url)
        raw["redis"]["url"] = redact_url(self.redis.url)
        raw["secret_key"] = "***" if self.secret_key else ""
        raw["metrics"]["token"] = "***" if self.metrics.token else ""
        raw["stripe"]["api_key"] = "***" if self.stripe.api_key else ""
        raw["stripe"]["webhook_secret"] = "***" if self.stripe.webhook_secret else ""
        raw["notify"]["smtp_url"] = redact_url(self.notify.smtp_url)
        raw["notify"]["ultramsg_token"] = "***" if self.notify.ultramsg_token else ""
        raw["notify"]["whatsapp_token"] = "***" if self.notify.whatsapp_token else ""
        raw["notify"]["secret_key"] = "***" if self.notify.secret_key else ""
        del raw["environment"]
        return dict(raw)


def _log_format(value: str) -> str:
    fmt = value.strip().lower() or "text"
    if fmt not in {"text", "json"}:
        raise SettingsError(f"LOG_FORMAT must be 'text' or 'json', got {value!r}")
    return fmt


def _with_driver(url: str, driver: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in {
        "postgres",
        "postgresql",
        "postgresql+psycopg",
        "postgresql+asyncpg",
        "postgresql+psycopg2",
    }:
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got scheme {scheme!r}")
    return f"{driver}://{rest}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings.from_env()
