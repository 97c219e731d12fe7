"""One settings object for every process, read once from the environment.

Every external base URL is configurable so tests point it at a local server. Secrets live only here
and are never logged or returned: `Settings.__repr__` is not used in logs, and `redacted()` exists for
diagnostics.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec


class DatabaseSettings(msgspec.Struct, frozen=True):
    url: str = "postgresql://postgres@127.0.0.1:5432/genjobs"
    pool_size: int = 10
    echo: bool = False

    @property
    def async_url(self) -> str:
        """SQLAlchemy URL for the async engine (psycopg 3 in async mode)."""
        return _with_driver(self.url, "postgresql+psycopg")

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
    # Dramatiq's own requeue of a dead worker's unacked messages (ms); we do not rely on it alone.
    broker_heartbeat_timeout_ms: int = 30_000
    broker_maintenance_chance: int = 100
    # How long an idle consumer waits between polls (ms): lower means faster pickup.
    poll_timeout_ms: int = 100
    # Extra modules that register job kinds (comma-separated), e.g. test kinds.
    kind_modules: tuple[str, ...] = ()


class SchedulerSettings(msgspec.Struct, frozen=True):
    sweep_interval_seconds: float = 30.0
    # A queued job whose message has been missing this long is re-sent.
    lost_message_grace_seconds: float = 10.0


class SseSettings(msgspec.Struct, frozen=True):
    heartbeat_seconds: float = 15.0


class CrawlSettings(msgspec.Struct, frozen=True):
    # Off in production: only public addresses are fetched. Tests and local benchmarks turn it on.
    allow_private: bool = False
    concurrency: int = 8
    timeout_seconds: float = 15.0
    max_page_bytes: int = 5_000_000
    user_agent: str = "genjobs-llms-txt/0.1 (+https://github.com/genjobs)"
    # Processes extracting pages beside each crawl worker: the other cores (0 extracts in the crawl's process).
    extract_processes: int = max(0, min(4, (os.cpu_count() or 1) - 1))


class ProviderSettings(msgspec.Struct, frozen=True):
    ollama_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.2"
    gemini_api_base: str = "https://generativelanguage.googleapis.com"
    gemini_api_key: str = ""
    gemini_model: str = "gemini-2.0-flash"


class QuotaSettings(msgspec.Struct, frozen=True):
    monthly_generation_limit: int = 20
    artifact_retention_days: int = 30


class AuthSettings(msgspec.Struct, frozen=True):
    session_cookie: str = "genjobs_session"
    session_days: int = 14
    cookie_secure: bool = False


class StripeSettings(msgspec.Struct, frozen=True):
    """Stripe Checkout for paid jobs (issue 5)."""

    api_key: str = ""
    webhook_secret: str = ""
    api_base: str = "https://api.stripe.com"
    # How long a Checkout Session accepts payment (Stripe allows 30 min to 24 h).
    checkout_expiry_seconds: int = 86_400
    # A webhook whose signed timestamp is older than this is refused (replay protection).
    webhook_tolerance_seconds: int = 300
    timeout_seconds: float = 20.0
    # The scheduler refunds a paid failed job its refund actor has not refunded within this time.
    refund_grace_seconds: float = 60.0
    # Prices per kind and provider as JSON (see service/payments/pricing.py); empty means the default table.
    pricing: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.api_key)


def _stripe_settings(e: dict[str, str]) -> StripeSettings:
    d = StripeSettings()
    return StripeSettings(
        api_key=e.get("STRIPE_API_KEY", ""),
        webhook_secret=e.get("STRIPE_WEBHOOK_SECRET", ""),
        api_base=(e.get("STRIPE_API_BASE") or d.api_base).rstrip("/"),
        checkout_expiry_seconds=_number(e, "STRIPE_CHECKOUT_EXPIRY_SECONDS", d.checkout_expiry_seconds, int),
        webhook_tolerance_seconds=_number(e, "STRIPE_WEBHOOK_TOLERANCE_SECONDS", d.webhook_tolerance_seconds, int),
        timeout_seconds=_number(e, "STRIPE_TIMEOUT_SECONDS", d.timeout_seconds, float),
        refund_grace_seconds=_number(e, "STRIPE_REFUND_GRACE_SECONDS", d.refund_grace_seconds, float),
        pricing=e.get("PRICING", "").strip(),
    )


class NotifySettings(msgspec.Struct, frozen=True):
    """Notification channels: email, signed webhook, UltraMsg, WhatsApp Cloud API (issue 6)."""

    # smtp://user:pass@host:587?starttls=1, smtps://user:pass@host:465, smtp://host:25 (empty: no email).
    smtp_url: str = ""
    email_from: str = "genjobs <no-reply@localhost>"
    ultramsg_api_base: str = "https://api.ultramsg.com"
    ultramsg_instance_id: str = ""
    ultramsg_token: str = ""
    whatsapp_api_base: str = "https://graph.facebook.com/v21.0"
    whatsapp_phone_number_id: str = ""
    whatsapp_token: str = ""
    # Delivery attempts per notification and the exponential backoff between them.
    max_attempts: int = 5
    min_backoff_seconds: float = 10.0
    max_backoff_seconds: float = 600.0
    timeout_seconds: float = 15.0
    # Webhooks to http:// and to private/loopback addresses (tests and local setups only).
    allow_private: bool = False
    # The scheduler's pass that sends notifications lost between a job's commit and the send.
    repair_interval_seconds: float = 60.0
    repair_grace_seconds: float = 60.0
    repair_window_hours: float = 24.0


def _notify_settings(e: dict[str, str]) -> NotifySettings:
    d = NotifySettings()

    def num(name: str, default: float, kind: type[int] | type[float]) -> Any:
        return _number(e, name, default, kind)

    return NotifySettings(
        smtp_url=e.get("SMTP_URL", ""),
        email_from=e.get("NOTIFY_EMAIL_FROM") or d.email_from,
        ultramsg_api_base=(e.get("ULTRAMSG_API_BASE") or d.ultramsg_api_base).rstrip("/"),
        ultramsg_instance_id=e.get("ULTRAMSG_INSTANCE_ID", ""),
        ultramsg_token=e.get("ULTRAMSG_TOKEN", ""),
        whatsapp_api_base=(e.get("WHATSAPP_API_BASE") or d.whatsapp_api_base).rstrip("/"),
        whatsapp_phone_number_id=e.get("WHATSAPP_PHONE_NUMBER_ID", ""),
        whatsapp_token=e.get("WHATSAPP_TOKEN", ""),
        max_attempts=max(1, num("NOTIFY_MAX_ATTEMPTS", d.max_attempts, int)),
        min_backoff_seconds=num("NOTIFY_MIN_BACKOFF_SECONDS", d.min_backoff_seconds, float),
        max_backoff_seconds=num("NOTIFY_MAX_BACKOFF_SECONDS", d.max_backoff_seconds, float),
        timeout_seconds=num("NOTIFY_TIMEOUT_SECONDS", d.timeout_seconds, float),
        allow_private=_flag(e.get("NOTIFY_ALLOW_PRIVATE"), False),
        repair_interval_seconds=num("NOTIFY_REPAIR_INTERVAL_SECONDS", d.repair_interval_seconds, float),
        repair_grace_seconds=num("NOTIFY_REPAIR_GRACE_SECONDS", d.repair_grace_seconds, float),
        repair_window_hours=num("NOTIFY_REPAIR_WINDOW_HOURS", d.repair_window_hours, float),
    )


class WebsiteSettings(msgspec.Struct, frozen=True):
    """The external website generator (issue 6)."""

    generator_url: str = ""
    generator_api_key: str = ""
    # (poll every N s, while less than M s have passed since polling began); the last step has no end.
    poll_schedule: tuple[tuple[float, float | None], ...] = ((30, 120), (45, 600), (60, 1080), (90, None))
    deadline_seconds: float = 1200.0
    # Network errors and 5xx: exponential backoff from the first value, capped at the second.
    backoff_initial_seconds: float = 30.0
    backoff_max_seconds: float = 300.0
    http_timeout_seconds: float = 30.0
    # Website jobs a user may start per window (0: no limit); administrators are not limited.
    rate_limit: int = 10
    rate_limit_window_seconds: float = 3600.0


def parse_poll_schedule(raw: str) -> tuple[tuple[float, float | None], ...]:
    """``"30@120,45@600,60@1080,90"`` -> every 30 s until 120 s, ..., then every 90 s (seconds, floats)."""
    steps: list[tuple[float, float | None]] = []
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    for i, part in enumerate(parts):
        every, _, until = part.partition("@")
        try:
            step = (float(every), float(until) if until else None)
        except ValueError:
            raise SettingsError(f"WEBSITE_POLL_SCHEDULE: {part!r} is not <seconds>[@<until seconds>]") from None
        if step[0] <= 0 or (step[1] is None and i != len(parts) - 1):
            raise SettingsError(f"WEBSITE_POLL_SCHEDULE: bad step {part!r} (positive interval; only the last is open)")
        steps.append(step)
    if not steps or steps[-1][1] is not None:
        raise SettingsError("WEBSITE_POLL_SCHEDULE must end with an open step, e.g. '30@120,45@600,60@1080,90'")
    return tuple(steps)


def _website_settings(e: dict[str, str]) -> WebsiteSettings:
    d = WebsiteSettings()
    schedule = e.get("WEBSITE_POLL_SCHEDULE", "").strip()
    return WebsiteSettings(
        generator_url=(e.get("WEBSITE_GENERATOR_URL") or "").rstrip("/"),
        generator_api_key=e.get("WEBSITE_GENERATOR_API_KEY", ""),
        poll_schedule=parse_poll_schedule(schedule) if schedule else d.poll_schedule,
        deadline_seconds=_number(e, "WEBSITE_DEADLINE_SECONDS", d.deadline_seconds, float),
        backoff_initial_seconds=_number(e, "WEBSITE_BACKOFF_INITIAL_SECONDS", d.backoff_initial_seconds, float),
        backoff_max_seconds=_number(e, "WEBSITE_BACKOFF_MAX_SECONDS", d.backoff_max_seconds, float),
        http_timeout_seconds=_number(e, "WEBSITE_HTTP_TIMEOUT_SECONDS", d.http_timeout_seconds, float),
        rate_limit=_number(e, "WEBSITE_RATE_LIMIT", d.rate_limit, int),
        rate_limit_window_seconds=_number(e, "WEBSITE_RATE_LIMIT_WINDOW_SECONDS", d.rate_limit_window_seconds, float),
    )


class Settings(msgspec.Struct, frozen=True):
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    worker: WorkerSettings = WorkerSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    sse: SseSettings = SseSettings()
    auth: AuthSettings = AuthSettings()
    crawl: CrawlSettings = CrawlSettings()
    providers: ProviderSettings = ProviderSettings()
    quota: QuotaSettings = QuotaSettings()
    stripe: StripeSettings = StripeSettings()
    notify: NotifySettings = NotifySettings()
    website: WebsiteSettings = WebsiteSettings()
    secret_key: str = ""
    artifacts_dir: str = ".data/artifacts"
    data_dir: str = ".data"
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Build settings from environment variables (unset ones keep their defaults)."""
        e = dict(os.environ if env is None else env)
        d = DatabaseSettings()
        r = RedisSettings()
        w = WorkerSettings()
        s = SchedulerSettings()
        cs, ps, qs = CrawlSettings(), ProviderSettings(), QuotaSettings()

        def num(name: str, default: float, kind: type[int] | type[float]) -> Any:
            return _number(e, name, default, kind)

        return cls(
            database=DatabaseSettings(
                url=e.get("DATABASE_URL", d.url),
                pool_size=num("DATABASE_POOL_SIZE", d.pool_size, int),
                echo=_flag(e.get("DATABASE_ECHO"), d.echo),
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
                poll_timeout_ms=num("WORKER_POLL_TIMEOUT_MS", w.poll_timeout_ms, int),
                kind_modules=tuple(m.strip() for m in e.get("JOB_KIND_MODULES", "").split(",") if m.strip()),
            ),
            scheduler=SchedulerSettings(
                sweep_interval_seconds=num("SWEEP_INTERVAL_SECONDS", s.sweep_interval_seconds, float),
                lost_message_grace_seconds=num("LOST_MESSAGE_GRACE_SECONDS", s.lost_message_grace_seconds, float),
            ),
            sse=SseSettings(heartbeat_seconds=num("SSE_HEARTBEAT_SECONDS", SseSettings().heartbeat_seconds, float)),
            auth=AuthSettings(cookie_secure=_flag(e.get("COOKIE_SECURE"), False)),
            crawl=CrawlSettings(
                allow_private=_flag(e.get("CRAWL_ALLOW_PRIVATE"), False),
                concurrency=num("CRAWL_CONCURRENCY", cs.concurrency, int),
                timeout_seconds=num("CRAWL_TIMEOUT_SECONDS", cs.timeout_seconds, float),
                max_page_bytes=num("CRAWL_MAX_PAGE_BYTES", cs.max_page_bytes, int),
                user_agent=e.get("CRAWL_USER_AGENT") or cs.user_agent,
                extract_processes=num("CRAWL_EXTRACT_PROCESSES", cs.extract_processes, int),
            ),
            providers=ProviderSettings(
                ollama_url=(e.get("OLLAMA_URL") or ps.ollama_url).rstrip("/"),
                ollama_model=e.get("OLLAMA_MODEL") or ps.ollama_model,
                gemini_api_base=(e.get("GEMINI_API_BASE") or ps.gemini_api_base).rstrip("/"),
                gemini_api_key=e.get("GEMINI_API_KEY", ""),
                gemini_model=e.get("GEMINI_MODEL") or ps.gemini_model,
            ),
            quota=QuotaSettings(
                monthly_generation_limit=num("MONTHLY_GENERATION_LIMIT", qs.monthly_generation_limit, int),
                artifact_retention_days=num("ARTIFACT_RETENTION_DAYS", qs.artifact_retention_days, int),
            ),
            stripe=_stripe_settings(e),
            notify=_notify_settings(e),
            website=_website_settings(e),
            secret_key=e.get("SECRET_KEY", ""),
            artifacts_dir=e.get("ARTIFACTS_DIR", ".data/artifacts"),
            data_dir=e.get("DATA_DIR", ".data"),
            public_url=e.get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            log_level=e.get("LOG_LEVEL", "INFO").upper(),
        )

    def redacted(self) -> dict[str, object]:
        """Settings as a dict with secrets and URL passwords masked, safe to print."""
        raw = msgspec.to_builtins(self)
        raw["database"]["url"] = redact_url(self.database.url)
        raw["redis"]["url"] = redact_url(self.redis.url)
        raw["secret_key"] = "***" if self.secret_key else ""
        raw["providers"]["gemini_api_key"] = "***" if self.providers.gemini_api_key else ""
        raw["stripe"]["api_key"] = "***" if self.stripe.api_key else ""
        raw["stripe"]["webhook_secret"] = "***" if self.stripe.webhook_secret else ""
        raw["notify"]["smtp_url"] = redact_url(self.notify.smtp_url)
        raw["notify"]["ultramsg_token"] = "***" if self.notify.ultramsg_token else ""
        raw["notify"]["whatsapp_token"] = "***" if self.notify.whatsapp_token else ""
        raw["website"]["generator_api_key"] = "***" if self.website.generator_api_key else ""
        return dict(raw)


def redact_url(url: str) -> str:
    """Mask the password in a URL, if any."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


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


class SettingsError(ValueError):
    """An environment variable has a value that cannot be used."""


def _number(env: dict[str, str], name: str, default: float, kind: type[int] | type[float]) -> Any:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {raw!r}") from None


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings.from_env()
