"""WhatsApp Business Cloud API: ``POST {base}/{phone_number_id}/messages`` with a bearer token."""

from __future__ import annotations

import httpx

from actors.notify.channels.base import Outgoing, PermanentDeliveryError, post
from actors.notify.config import NotifyConfig

SERVICE = "the WhatsApp Cloud API"
MAX_BODY_CHARS = 4096


def send(config: NotifyConfig, client: httpx.Client, outgoing: Outgoing) -> None:
    """Send the short text as a ``text`` message (the number is sent as digits, without the ``+``).

    Raises:
        PermanentDeliveryError: not configured or a 4xx (e.g. a number that is not on WhatsApp).
        TransientDeliveryError: network trouble, 5xx or 429.
    """
    if not (config.whatsapp_phone_number_id and config.whatsapp_token):
        raise PermanentDeliveryError(
            "WhatsApp is not configured on this server (WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_TOKEN)"
        )
    url = f"{config.whatsapp_api_base}/{config.whatsapp_phone_number_id}/messages"
    post(
        client,
        SERVICE,
        url,
        headers={"Authorization": f"Bearer {config.whatsapp_token}"},
        json={
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": outgoing.to.lstrip("+"),
            "type": "text",
            "text": {"preview_url": True, "body": outgoing.content.short[:MAX_BODY_CHARS]},
        },
    )
