"""A signed JSON POST to the user's URL (see ``actors.notify.signature`` for the header and its check)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import msgspec

from actors.kinds.llms_txt.netguard import is_public_ip
from actors.notify.channels.base import Outgoing, PermanentDeliveryError, TransientDeliveryError, post
from actors.notify.config import NotifyConfig
from actors.notify.signature import HEADER, sign

SERVICE = "the webhook receiver"


def check_public_host(url: str) -> None:
    """Refuse a URL whose host resolves to a private or loopback address (the API checked only its syntax)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        raise TransientDeliveryError(f"could not resolve the webhook host {host}") from None
    if not infos or not all(is_public_ip(str(info[4][0])) for info in infos):
        raise PermanentDeliveryError(f"the webhook host {host} is not a public address")


def send(config: NotifyConfig, client: httpx.Client, outgoing: Outgoing) -> None:
    """POST the payload with an ``X-Signature`` header; redirects are not followed (they could go anywhere).

    Raises:
        PermanentDeliveryError: the user has no signing secret, the host is not public, or a 4xx answer.
        TransientDeliveryError: network trouble, 5xx or 429.
    """
    if not outgoing.webhook_secret:
        raise PermanentDeliveryError("no webhook signing secret: create one at /api/me/notifications/webhook-secret")
    if not config.allow_private:
        # Checked before connecting; a DNS answer that changes between this check and the connection is
        # not covered (the crawler's pinned-address transport would be needed for that).
        check_public_host(outgoing.to)
    body = msgspec.json.encode(outgoing.payload)
    headers = {
        "Content-Type": "application/json",
        HEADER: sign(outgoing.webhook_secret, body),
        "User-Agent": "genjobs-notifications/1",
    }
    post(client, SERVICE, outgoing.to, content=body, headers=headers, follow_redirects=False)
