"""Request and response shapes of ``/api/me/notifications``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from actors.notify.target import Channel


class UpdateNotificationSettings(msgspec.Struct, forbid_unknown_fields=True):
    """The default channel for jobs that do not choose one; both null turns default notifications off."""

    channel: Channel | None
    to: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)] | None


class NotificationSettingsOut(msgspec.Struct, omit_defaults=True):
    channel: str | None
    to: str | None
    webhook_secret_set: bool
    webhook_secret_created_at: datetime | None
    # Present only in the answer that created the secret: it is never shown again.
    webhook_secret: str | None = None


class WebhookSecretOut(msgspec.Struct):
    webhook_secret: str
    created_at: datetime
    header: str = "X-Signature"
    scheme: str = "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'>"
