"""WhatsApp messages through UltraMsg: ``POST {base}/{instance_id}/messages/chat`` with token, to and body."""

from __future__ import annotations

import httpx

from actors.notify.channels.base import Outgoing, PermanentDeliveryError, post
from actors.notify.config import NotifyConfig

SERVICE = "UltraMsg"
MAX_BODY_CHARS = 4096


def send(config: NotifyConfig, client: httpx.Client, outgoing: Outgoing) -> None:
    """Send the short text.

    Raises:
        PermanentDeliveryError: not configured, a 4xx, or an answer that reports an error.
        TransientDeliveryError: network trouble, 5xx or 429.
    """
    if not (config.ultramsg_instance_id and config.ultramsg_token):
        raise PermanentDeliveryError("UltraMsg is not configured on this server (ULTRAMSG_INSTANCE_ID, ULTRAMSG_TOKEN)")
    url = f"{config.ultramsg_api_base}/{config.ultramsg_instance_id}/messages/chat"
    response = post(
        client,
        SERVICE,
        url,
        data={"token": config.ultramsg_token, "to": outgoing.to, "body": outgoing.content.short[:MAX_BODY_CHARS]},
    )
    # UltraMsg reports some refusals (a wrong number, a wrong token) in a 200 answer's "error" field.
    try:
        answer = response.json()
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("error"):
        raise PermanentDeliveryError(f"UltraMsg refused the message: {str(answer['error'])[:200]}")
