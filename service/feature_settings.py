"""The settings sections of the optional features: Stripe payments, notifications, website generation.

The notification and website sections extend the configuration structs their worker code reads (actors
never import service settings), so each field is declared once and the worker is handed the section itself.
"""

from __future__ import annotations

from typing import Any

import msgspec

from actors.notify.config import NotifyConfig
from actors.website_config import WebsiteConfig
from service.env import SettingsError, flag, number


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


def stripe_settings(e: dict[str, str]) -> StripeSettings:
    d = StripeSettings()
    return StripeSettings(
        api_key=e.get("STRIPE_API_KEY", ""),
        webhook_secret=e.get("STRIPE_WEBHOOK_SECRET", ""),
        api_base=(e.get("STRIPE_API_BASE") or d.api_base).rstrip("/"),
        checkout_expiry_seconds=number(e, "STRIPE_CHECKOUT_EXPIRY_SECONDS", d.checkout_expiry_seconds, int),
        webhook_tolerance_seconds=number(e, "STRIPE_WEBHOOK_TOLERANCE_SECONDS", d.webhook_tolerance_seconds, int),
        timeout_seconds=number(e, "STRIPE_TIMEOUT_SECONDS", d.timeout_seconds, float),
        refund_grace_seconds=number(e, "STRIPE_REFUND_GRACE_SECONDS", d.refund_grace_seconds, float),
        pricing=e.get("PRICING", "").strip(),
    )


class NotifySettings(NotifyConfig, frozen=True):
    """Notification channels (the delivery fields are ``actors.notify.config.NotifyConfig``'s, so the worker
    uses this section as it is), plus the scheduler's repair pass: it sends notifications lost between a
    job's commit and the send."""

    repair_interval_seconds: float = 60.0
    repair_grace_seconds: float = 60.0
    repair_window_hours: float = 24.0


def notify_settings(e: dict[str, str], public_url: str) -> NotifySettings:
    d = NotifySettings()

    def num(name: str, default: float, kind: type[int] | type[float]) -> Any:
        return number(e, name, default, kind)

    return NotifySettings(
        public_url=public_url,
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
        allow_private=flag(e.get("NOTIFY_ALLOW_PRIVATE"), False),
        secret_key=e.get("SECRET_KEY", ""),
        repair_interval_seconds=num("NOTIFY_REPAIR_INTERVAL_SECONDS", d.repair_interval_seconds, float),
        repair_grace_seconds=num("NOTIFY_REPAIR_GRACE_SECONDS", d.repair_grace_seconds, float),
        repair_window_hours=num("NOTIFY_REPAIR_WINDOW_HOURS", d.repair_window_hours, float),
    )


class WebsiteSettings(WebsiteConfig, frozen=True):
    """The external website generator (the worker's fields are ``actors.website_config.WebsiteConfig``'s,
    so the worker gets this section as it is), plus the API's per-user limit on starting website jobs."""

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


def website_settings(e: dict[str, str], public_url: str) -> WebsiteSettings:
    d = WebsiteSettings()
    schedule = e.get("WEBSITE_POLL_SCHEDULE", "").strip()
    return WebsiteSettings(
        public_url=public_url,
        generator_url=(e.get("WEBSITE_GENERATOR_URL") or "").rstrip("/"),
        generator_api_key=e.get("WEBSITE_GENERATOR_API_KEY", ""),
        poll_schedule=parse_poll_schedule(schedule) if schedule else d.poll_schedule,
        deadline_seconds=number(e, "WEBSITE_DEADLINE_SECONDS", d.deadline_seconds, float),
        backoff_initial_seconds=number(e, "WEBSITE_BACKOFF_INITIAL_SECONDS", d.backoff_initial_seconds, float),
        backoff_max_seconds=number(e, "WEBSITE_BACKOFF_MAX_SECONDS", d.backoff_max_seconds, float),
        http_timeout_seconds=number(e, "WEBSITE_HTTP_TIMEOUT_SECONDS", d.http_timeout_seconds, float),
        rate_limit=number(e, "WEBSITE_RATE_LIMIT", d.rate_limit, int),
        rate_limit_window_seconds=number(e, "WEBSITE_RATE_LIMIT_WINDOW_SECONDS", d.rate_limit_window_seconds, float),
    )
