"""The settings sections of the optional features: Stripe payments and notifications.

The notification section extends the configuration struct its worker code reads (actors never import
service settings), so each field is declared once and the worker is handed the section itself. Job kinds
read their own sections (``JobKind.settings``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from actors.env import flag, number
from actors.notify.config import NotifyConfig


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
