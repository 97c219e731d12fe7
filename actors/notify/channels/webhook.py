"""A signed JSON POST to the user's URL (see ``actors.notify.signature`` for the header and its check)."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import msgspec

from actors.kinds.llms_txt.netguard import is_public_ip
from actors.notify.channels.base import Outgoing, PermanentDeliveryError, TransientDeliveryError, post
from actors.notify.config import NotifyConfig
from actors.notify.signature import HEADER, sign

SERVICE = "the webhook receiver"


def check_public_host(url: str) -> str:
    """Resolve the URL's host and return the address to connect to; refuse a host with any private or
    loopback address (the API checked only the URL's syntax)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        raise TransientDeliveryError(f"could not resolve the webhook host {host}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(is_public_ip(address) for address in addresses):
        raise PermanentDeliveryError(f"the webhook host {host} is not a public address")
    return addresses[0]


def pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The request that reaches ``url``'s host at ``address`` only: the URL with the address as its host,
    the original ``Host`` header, and (for https) the original name for SNI and certificate checking.

    Connecting to the address that was checked closes the gap a second DNS answer would open (a name that
    resolves to a public address for the check and to a private one for the connection).
    """
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    extensions: dict[str, Any] = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc.rsplit("@", 1)[-1]}, extensions


def send(config: NotifyConfig, client: httpx.Client, outgoing: Outgoing) -> None:
    """POST the payload with an ``X-Signature`` header; redirects are not followed (they could go anywhere).

    Raises:
        PermanentDeliveryError: the user has no signing secret, the host is not public, or a 4xx answer.
        TransientDeliveryError: network trouble, 5xx or 429.
    """
    if not outgoing.webhook_secret:
        raise PermanentDeliveryError("no webhook signing secret: create one at /api/me/notifications/webhook-secret")
    body = msgspec.json.encode(outgoing.payload)
    headers = {
        "Content-Type": "application/json",
        HEADER: sign(outgoing.webhook_secret, body),
        "User-Agent": "genjobs-notifications/1",
    }
    url, extensions = outgoing.to, dict[str, Any]()
    if not config.allow_private:
        # Connect to the address that was checked, not to whatever a second lookup would return.
        url, host_header, extensions = pinned(outgoing.to, check_public_host(outgoing.to))
        headers.update(host_header)
    post(client, SERVICE, url, content=body, headers=headers, follow_redirects=False, extensions=extensions)
