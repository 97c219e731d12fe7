"""The scheduler's notification repair pass, from the settings (the worker is handed ``settings.notify``)."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.orm import Session, sessionmaker

from actors.notify.repair import RepairReport, repair_notifications
from service.settings import Settings


def repair_task(settings: Settings, sessions: sessionmaker[Session], broker: RedisBroker) -> RepairReport:
    """One pass of the scheduler's notification repair with the configured window and grace."""
    n = settings.notify
    return repair_notifications(
        sessions, broker, window_hours=n.repair_window_hours, grace_seconds=n.repair_grace_seconds
    )
