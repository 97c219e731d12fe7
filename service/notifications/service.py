"""What ``/api/me/notifications`` does: read and change the caller's default channel and webhook secret."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from actors.notify.recipients import normalize_target
from actors.notify.records import new_webhook_secret
from actors.notify.sealing import SecretSeal
from db.base import utcnow
from db.models import NotificationPreference
from service.auth.principal import Principal
from service.errors import BadRequest
from service.notifications.schemas import NotificationSettingsOut, UpdateNotificationSettings, WebhookSecretOut
from service.resources import Resources


def _out(pref: NotificationPreference | None, *, new_secret: str | None = None) -> NotificationSettingsOut:
    if pref is None:
        return NotificationSettingsOut(None, None, False, None)
    return NotificationSettingsOut(
        channel=pref.channel,
        to=pref.target,
        webhook_secret_set=pref.webhook_secret is not None,
        webhook_secret_created_at=pref.webhook_secret_created_at,
        webhook_secret=new_secret,
    )


def _sealed(res: Resources, secret: str) -> str:
    """The secret as stored: sealed with SECRET_KEY (only the answer that made it shows it in clear)."""
    return SecretSeal(res.settings.secret_key).seal(secret)


async def get_settings(res: Resources, user: Principal) -> NotificationSettingsOut:
    async with res.sessions() as session:
        return _out(await session.get(NotificationPreference, user.id))


async def update_settings(res: Resources, user: Principal, req: UpdateNotificationSettings) -> NotificationSettingsOut:
    """Set or clear the default; choosing the webhook channel makes the signing secret if there is none.

    Raises:
        BadRequest: only one of channel and to given, or an address not valid for the channel.
    """
    if (req.channel is None) != (req.to is None):
        raise BadRequest(
            "Give both channel and to, or neither to turn default notifications off.",
            code="invalid_notification_settings",
            details=[{"field": "channel" if req.channel is None else "to", "message": "this field is required"}],
        )
    target = None
    if req.channel is not None and req.to is not None:
        try:
            target = normalize_target(req.channel, req.to, allow_private=res.settings.notify.allow_private)
        except ValueError as exc:
            raise BadRequest(
                f"Invalid notification address: {exc}.",
                code="invalid_notification_settings",
                details=[{"field": "to", "message": str(exc)}],
            ) from None
    async with res.sessions() as session, session.begin():
        pref = await _upsert(session, user, channel=req.channel, target=target)
        new_secret = None
        if req.channel == "webhook" and pref.webhook_secret is None:
            new_secret = new_webhook_secret()
            pref.webhook_secret, pref.webhook_secret_created_at = _sealed(res, new_secret), utcnow()
        return _out(pref, new_secret=new_secret)


async def rotate_webhook_secret(res: Resources, user: Principal) -> WebhookSecretOut:
    """Make a new signing secret, replacing the old one at once, and show it this one time."""
    secret, now = new_webhook_secret(), utcnow()
    async with res.sessions() as session, session.begin():
        pref = await _upsert(session, user)
        pref.webhook_secret, pref.webhook_secret_created_at = _sealed(res, secret), now
    return WebhookSecretOut(webhook_secret=secret, created_at=now)


async def _upsert(session: AsyncSession, user: Principal, **values: str | None) -> NotificationPreference:
    stmt = insert(NotificationPreference).values(user_id=user.id, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[NotificationPreference.user_id], set_={**values, "updated_at": func.now()}
    )
    await session.execute(stmt)
    pref = await session.get(NotificationPreference, user.id, populate_existing=True, with_for_update=True)
    assert pref is not None  # just upserted in this transaction
    return pref
