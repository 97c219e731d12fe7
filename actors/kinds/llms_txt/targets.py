"""The site a user asks for: a hostname or an http(s) URL, turned into the base URL of the crawl.

Accepted: ``example.com``, ``docs.example.com``, ``bücher.example`` (IDN, becomes punycode),
``example.com:8443``, ``http://example.com/any/path`` (the path is dropped: the crawl covers the site).
Without a scheme, https is assumed. IP literals are accepted only when the address is public
(``93.184.216.34``, ``[2606:4700::1]``); a private, loopback or reserved one is refused here with a clear
message, because the crawler would refuse it anyway. ``allow_private`` (``CRAWL_ALLOW_PRIVATE``, for tests
and local benches) lifts that rule and also allows single-label names such as ``localhost``.

This is a syntax check only: whether the name resolves, and to which addresses, is checked when the
crawler connects (``netguard``), since DNS answers can change between now and then.

Errors:
    InvalidTarget(ValueError)   the value is not a website address we can crawl; the message is for the user
"""

from __future__ import annotations

import re
from ipaddress import IPv6Address
from urllib.parse import urlsplit

from actors.kinds.llms_txt.netguard import is_public_ip, literal_address
from actors.kinds.llms_txt.urls import DEFAULT_PORTS, encode_host

MAX_LENGTH = 2048
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(?!\d)")
_OTHER_SCHEMES = frozenset(
    {"mailto", "javascript", "data", "file", "ftp", "ftps", "sftp", "ssh", "tel", "sms", "ws", "wss", "git", "about"}
)
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")


class InvalidTarget(ValueError):
    """The value is not a website address we can crawl; ``str(error)`` tells the user what is wrong."""


def _split(text: str) -> tuple[str, str]:
    """(scheme, URL with a scheme) for a value with or without one."""
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if scheme not in DEFAULT_PORTS:
            raise InvalidTarget(f"Only http:// and https:// addresses can be crawled, not {scheme}://.")
        return scheme, text
    match = _SCHEME.match(text)
    if match and match.group(1).lower() in _OTHER_SCHEMES:
        # Only well-known schemes: "user:secret@example.com" and "example.com:http" are other mistakes.
        raise InvalidTarget(f"Only http:// and https:// addresses can be crawled, not {match.group(1)}:.")
    if not text.startswith("[") and isinstance(literal_address(text), IPv6Address):
        text = f"[{text}]"  # a bare IPv6 address: its colons are not a port
    return "https", "https://" + text


def _check_name(host: str, allow_private: bool) -> str:
    try:
        host = encode_host(host)
    except ValueError as exc:
        raise InvalidTarget(f"That is not a valid hostname: {exc}.") from exc
    if "." not in host:
        if allow_private:
            return host
        raise InvalidTarget(f"Enter a full domain name such as {host}.com: {host!r} has no dot.")
    if not _TLD.fullmatch(host.rsplit(".", 1)[1]):
        raise InvalidTarget(f"{host!r} does not end in a valid top-level domain (such as .com or .org).")
    return host


def parse_target(value: str, *, allow_private: bool = False) -> str:
    """The base URL (``scheme://host[:port]/``) of the site ``value`` names.

    Args:
        value: What the user typed: a hostname, ``host:port`` or an http(s) URL.
        allow_private: Accept private/loopback IP literals and single-label names (tests, local benches).

    Returns:
        For example ``https://example.com/``, ``http://example.com:8080/``, ``https://xn--bcher-kva.example/``.

    Raises:
        InvalidTarget: Empty, spaces, too long, another scheme, credentials, a bad port, a bad hostname or
            label, no dot, no valid top-level domain, or a non-public IP literal.
    """
    text = value.strip()
    if not text:
        raise InvalidTarget("Enter a website address, such as example.com.")
    if any(ch.isspace() for ch in text):
        raise InvalidTarget("A website address cannot contain spaces.")
    if len(text) > MAX_LENGTH:
        raise InvalidTarget(f"That address is longer than {MAX_LENGTH} characters.")
    scheme, url = _split(text)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidTarget("The port number must be between 1 and 65535.") from exc
    if "@" in parts.netloc:
        raise InvalidTarget("Remove the user name and password from the address (the part before @).")
    if not parts.hostname:
        raise InvalidTarget("The address has no hostname.")
    if port == 0:
        raise InvalidTarget("The port number must be between 1 and 65535.")
    address = literal_address(parts.hostname)
    if address is not None:
        if not allow_private and not is_public_ip(address):
            raise InvalidTarget(f"{address} is a private or reserved address: only public websites can be crawled.")
        host = f"[{address}]" if isinstance(address, IPv6Address) else str(address)
    else:
        host = _check_name(parts.hostname, allow_private)
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host += f":{port}"
    return f"{scheme}://{host}/"
