"""Checking and normalizing a notification address per channel, and showing it without giving it away.

Used by the API (the user's default and the per-job ``notify`` param) and again by the worker, because a
setting may have changed between the two.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from actors.kinds.llms_txt.netguard import is_public_ip

# Deliberately loose (one @, a dotted domain, no spaces): the SMTP server is the judge of the rest.
_EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
# E.164: a country code and subscriber number, 8 to 15 digits in all.
_PHONE = re.compile(r"^\+?[1-9]\d{7,14}$")
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal")
# A last label like these makes the whole host an IPv4 address for URL parsers and resolvers alike
# (WHATWG URL "ends in a number"; inet_aton): 127.1, 2130706433 and 0x7f000001 are all 127.0.0.1.
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")


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
    address = host_address(host)
    name = host.rstrip(".")  # "localhost." is the same name as "localhost"
    if address is None and (name.endswith(_LOCAL_NAMES) or name == "localhost"):
        raise ValueError(f"{host} is not a public host name")
    if address is not None and not is_public_ip(address):
        raise ValueError(f"{host} is not a public address")
    return url


def host_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL's host names by itself, in any form a client accepts, or None for a DNS name.

    Raises:
        ValueError: the host looks like an IPv4 address but is not a valid one.
    """
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    last_label = host.rstrip(".").rsplit(".", 1)[-1]
    if not _NUMERIC_LABEL.match(last_label):
        return None
    try:
        packed = socket.inet_aton(host.rstrip("."))
    except OSError:
        raise ValueError(f"{host} is not a valid IPv4 address") from None
    if not re.fullmatch(r"[0-9a-fx.]+", host):  # inet_aton ignores junk after a space
        raise ValueError(f"{host} is not a valid IPv4 address")
    return ipaddress.IPv4Address(packed)


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
