"""All models, imported here so Alembic and the app see one complete metadata."""

from __future__ import annotations

from db.models.api_key import ApiKey
from db.models.job import Job
from db.models.job_event import JobEvent
from db.models.job_log import JobLog
from db.models.job_poll import JobPoll
from db.models.notification import Notification
from db.models.notification_preference import NotificationPreference
from db.models.payment import Payment
from db.models.scheduler_run import SchedulerRun
from db.models.stripe_event import StripeEvent
from db.models.user import User
from db.models.user_session import UserSession

__all__ = [
    "ApiKey",
    "Job",
    "JobEvent",
    "JobLog",
    "JobPoll",
    "Notification",
    "NotificationPreference",
    "Payment",
    "SchedulerRun",
    "StripeEvent",
    "User",
    "UserSession",
]
