"""The check made before every request hop: the first request and each redirect target alike.

A redirect is a new request chosen by the remote site, so it gets the same scrutiny as the URL the user
typed: http or https only, a host, no credentials, and an IP literal must pass the address policy. Names
are checked when the connector resolves them (see ``connector``); this check gives IP literals and
malformed URLs a clear cause before any network activity.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urljoin, urlsplit

from actors.kinds.llms_txt.netguard import AddressPolicy, literal_address

HopRefusal = Literal["invalid_url", "blocked_address"]
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def check_hop(url: str, policy: AddressPolicy) -> HopRefusal | None:
    """Why ``url`` may not be requested, or None when it may.

    Args:
        url: An absolute URL about to be requested.
        policy: The address policy (``netguard.is_public_ip`` in production).

    Returns:
        ``"invalid_url"`` for a scheme other than http/https, no host, credentials in the URL, a bad port
        or unparsable text; ``"blocked_address"`` for an IP literal the policy refuses; None otherwise.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - evaluated for its ValueError on a bad port
    except ValueError:
        return "invalid_url"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "invalid_url"
    if parts.username is not None or parts.password is not None:
        # user@host URLs are a classic way to disguise the real host; a site has no need of them.
        return "invalid_url"
    if any(ch in parts.netloc for ch in "\\ \t\r\n"):
        return "invalid_url"
    address = literal_address(parts.hostname)
    if address is not None and not policy(address):
        return "blocked_address"
    return None


def redirect_target(current_url: str, location: str) -> str:
    """The absolute URL a ``Location`` header points to, resolved against the URL that answered it."""
    return urljoin(current_url, location.strip())


def host_key(url: str) -> str:
    """The host and port of ``url`` (the unit of per-host concurrency and crawl delay)."""
    return urlsplit(url).netloc.lower()
