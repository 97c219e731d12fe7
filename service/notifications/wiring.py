"""How the worker and the scheduler set up notifications from the settings (actors never read settings)."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.orm import Session, sessionmaker

from actors.notify.config import NotifyConfig
from actors.notify.repair import RepairReport, repair_notifications
from service.settings import Settings


def notify_config(settings: Settings) -> NotifyConfig:
    """The worker's notification configuration."""
    n = settings.notify
    return NotifyConfig(
        public_url=settings.public_url,
        smtp_url=n.smtp_url,
        email_from=n.email_from,
        ultramsg_api_base=n.ultramsg_api_base,
        ultramsg_instance_id=n.ultramsg_instance_id,
        ultramsg_token=n.ultramsg_token,
        whatsapp_api_base=n.whatsapp_api_base,
        whatsapp_phone_number_id=n.whatsapp_phone_number_id,
        whatsapp_token=n.whatsapp_token,
        max_attempts=n.max_attempts,
        min_backoff_seconds=n.min_backoff_seconds,
        max_backoff_seconds=n.max_backoff_seconds,
        timeout_seconds=n.timeout_seconds,
        allow_private=n.allow_private,
    )


def repair_task(settings: Settings, sessions: sessionmaker[Session], broker: RedisBroker) -> RepairReport:
    """One pass of the scheduler's notification repair with the configured window and grace."""
    n = settings.notify
    return repair_notifications(
        sessions, broker, window_hours=n.repair_window_hours, grace_seconds=n.repair_grace_seconds
    )
