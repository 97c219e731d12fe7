"""Checking and normalizing a notification address per channel, and showing it without giving it away.

Used by the API (the user's default and the per-job ``notify`` param) and again by the worker, because a
setting may have changed between the two.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from actors.kinds.llms_txt.netguard import is_public_ip

# Deliberately loose (one @, a dotted domain, no spaces): the SMTP server is the judge of the rest.
_EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
# E.164: a country code and subscriber number, 8 to 15 digits in all.
_PHONE = re.compile(r"^\+?[1-9]\d{7,14}$")
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal")


def normalize_target(channel: str, to: str, *, allow_private: bool = False) -> str:
    """The address in its canonical form for ``channel``.

    Raises:
        ValueError: the address is not valid for the channel (the message says why, for the user).
    """
    to = to.strip()
    if channel == "email":
        if len(to) > 254 or not _EMAIL.match(to):
            raise ValueError(f"{to!r} is not an email address like name@example.com")
        return to
    if channel == "webhook":
        return _check_webhook_url(to, allow_private=allow_private)
    if channel in ("ultramsg", "whatsapp"):
        digits = _PHONE_PUNCTUATION.sub("", to)
        if not _PHONE.match(digits):
            raise ValueError(f"{to!r} is not a phone number in international form like +14155552671")
        return "+" + digits.lstrip("+")
    raise ValueError(f"unknown channel {channel!r}")


def _check_webhook_url(url: str, *, allow_private: bool) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"{url!r} is not an https:// URL")
    if parts.username or parts.password:
        raise ValueError("the webhook URL must not contain a user name or password")
    if allow_private:
        return url
    if parts.scheme != "https":
        raise ValueError("the webhook URL must use https://")
    if host.endswith(_LOCAL_NAMES) or host == "localhost":
        raise ValueError(f"{host} is not a public host name")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url
    if not is_public_ip(address):
        raise ValueError(f"{host} is not a public address")
    return url


def redact(channel: str, to: str) -> str:
    """A form of the address safe for history and logs: enough to recognize it, not to use it."""
    if channel == "email":
        local, _, domain = to.partition("@")
        return f"{local[:1]}***@{domain}"
    if channel == "webhook":
        parts = urlsplit(to)
        # The path and query often carry a token (e.g. /hooks/<token>): show only where it goes.
        return f"{parts.scheme}://{parts.netloc}/…" if parts.path not in ("", "/") or parts.query else to
    if channel in ("ultramsg", "whatsapp"):
        return to[:3] + "*" * max(0, len(to) - 5) + to[-2:]
    return "***"
