"""``GET/PUT /api/me/notifications`` and ``POST /api/me/notifications/webhook-secret``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.status_codes import HTTP_201_CREATED

from service.auth.principal import Principal
from service.notifications import service
from service.notifications.schemas import NotificationSettingsOut, UpdateNotificationSettings, WebhookSecretOut
from service.resources import get_resources


class NotificationsController(Controller):
    path = "/api/me/notifications"
    tags = ("notifications",)

    @get("", operation_id="getNotificationSettings")
    async def show(self, request: Request[Principal, Any, Any]) -> NotificationSettingsOut:
        """The caller's default channel and whether a webhook secret exists (never the secret itself)."""
        return await service.get_settings(get_resources(request.app), request.user)

    @put("", operation_id="updateNotificationSettings")
    async def update(
        self, request: Request[Principal, Any, Any], data: UpdateNotificationSettings
    ) -> NotificationSettingsOut:
        """Set the default channel and address (``null``/``null`` turns it off); a job's ``notify`` wins."""
        return await service.update_settings(get_resources(request.app), request.user, data)

    @post("/webhook-secret", operation_id="rotateWebhookSecret", status_code=HTTP_201_CREATED)
    async def rotate_secret(self, request: Request[Principal, Any, Any]) -> WebhookSecretOut:
        """Make a new webhook signing secret (the old one stops at once) and show it, this once."""
        return await service.rotate_webhook_secret(get_resources(request.app), request.user)
