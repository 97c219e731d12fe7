"""Which addresses the crawler may connect to, and name resolution that enforces it.

A user names the site, so the site may name any address: the crawler must never become a way to reach
the service's own network (SSRF). An address is public when it is globally routable and none of its
embedded IPv4 forms is private: IPv4-mapped ``::ffff:a.b.c.d`` is judged by its IPv4 address, 6to4
``2002::/16`` and NAT64 ``64:ff9b::/96`` by both the IPv6 address and the IPv4 address they carry.
Teredo (``2001::/32``) is always refused: it is a tunnel endpoint, never a web server's published
address, and its client part can point anywhere. The networks below are listed explicitly rather than
left to ``ipaddress.is_global`` alone, whose tables changed between Python releases.

Errors:
    BlockedAddress(Exception)   the address, or an address a name resolves to, is not public

Name-resolution failures stay the resolver's own ``OSError`` (``socket.gaierror``) so that HTTP clients
report them as connection errors.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address
# Decides whether one address may be connected to; ``is_public_ip`` in production, looser in tests.
AddressPolicy = Callable[[IPAddress], bool]

_REFUSED_V4 = tuple(
    IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches localhost on Linux
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT: shared, not public
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, where cloud metadata services live
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_REFUSED_V6 = tuple(
    IPv6Network(net)
    for net in (
        "::/8",  # unspecified, loopback, IPv4-compatible and other reserved forms
        "64:ff9b:1::/48",  # local-use NAT64: the translation is whatever the local network makes it
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo included
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)
_MAPPED = IPv6Network("::ffff:0:0/96")
_NAT64 = IPv6Network("64:ff9b::/96")


class BlockedAddress(Exception):
    """A connection to a non-public address was refused (the message names the host and address)."""


def _plain_public(address: IPAddress) -> bool:
    if isinstance(address, IPv4Address):
        refused = any(address in net for net in _REFUSED_V4)
    else:
        refused = any(address in net for net in _REFUSED_V6)
    return not refused and address.is_global and not address.is_multicast and not address.is_unspecified


def is_public_ip(ip: IPAddress | str) -> bool:
    """Whether the crawler may connect to ``ip``.

    Args:
        ip: An address, or its text (an IPv6 zone such as ``%eth0`` makes it non-public).

    Returns:
        True for a globally routable unicast address whose embedded IPv4 forms are public too; False for
        anything else, including text that is not an address.
    """
    if isinstance(ip, str):
        try:
            address: IPAddress = ip_address(ip)
        except ValueError:
            return False
    else:
        address = ip
    if isinstance(address, IPv4Address):
        return _plain_public(address)
    if address.scope_id:
        return False
    if address in _MAPPED:
        # The socket would really talk IPv4 to this address.
        mapped = address.ipv4_mapped
        return mapped is not None and _plain_public(mapped)
    if address in _NAT64:
        # Python files 64:ff9b::/96 under the reserved ::/8; the packets go to the embedded IPv4 address.
        return _plain_public(IPv4Address(int(address) & 0xFFFFFFFF))
    embedded = address.sixtofour
    if embedded is not None:
        # The packets go to the embedded IPv4 address. Not is_global: Python 3.13 (and the 3.11/3.12 patch
        # releases fixing CVE-2024-4032) files all of 2002::/16 as private, older ones do not.
        return _plain_public(embedded)
    return _plain_public(address)


def allow_any_address(address: IPAddress) -> bool:
    """The policy of ``CRAWL_ALLOW_PRIVATE`` (tests and local benchmarks): every address is allowed."""
    return True


def policy_for(allow_private: bool) -> AddressPolicy:
    """The address policy for a configuration: every address when private ones are allowed, else public only."""
    return allow_any_address if allow_private else is_public_ip


@lru_cache(maxsize=1024)
def literal_address(host: str) -> IPAddress | None:
    """``host`` as an address when it is an IP literal (brackets and an IPv6 zone allowed), else None.

    Cached: every request hop asks about its host, and address objects are immutable.
    """
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


async def resolve_with_policy(host: str, port: int, policy: AddressPolicy, family: int = 0) -> list[str]:
    """Resolve ``host`` through the event loop and refuse the lot if ANY address fails ``policy``.

    Refusing when any address is private (not only when all are) defeats a name that lists a public and a
    private address and lets the client pick, and a rebinding name that alternates between them.

    Args:
        host: A hostname or an IP literal (which is checked without a lookup).
        port: The port the caller will connect to (passed to getaddrinfo).
        policy: Decides which addresses are allowed.
        family: ``socket.AF_INET``/``AF_INET6`` to restrict the lookup, 0 for both.

    Returns:
        The distinct addresses, in resolver order: the only ones the caller may connect to.

    Raises:
        BlockedAddress: An address is refused by the policy.
        OSError: The name does not resolve (``socket.gaierror``) or resolves to nothing usable.
    """
    literal = literal_address(host)
    if literal is not None:
        if not policy(literal):
            raise BlockedAddress(f"{host} is not a public address")
        return [str(literal)]
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)))
    if not addresses:
        raise OSError(f"{host} resolves to no IPv4 or IPv6 address")
    for text in addresses:
        if not policy(ip_address(text)):
            raise BlockedAddress(f"{host} resolves to {text}, which is not a public address")
    return addresses


async def resolve_checked(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Resolve ``host`` and return its addresses only if every one of them is public.

    Args:
        host: A hostname or an IP literal.
        port: The port that will be connected to.
        allow_private: Skip the check (``CRAWL_ALLOW_PRIVATE``, for tests and local benchmarks).

    Returns:
        The distinct addresses to connect to.

    Raises:
        BlockedAddress: Some address is not public (any one suffices, see ``resolve_with_policy``).
        OSError: The name does not resolve.
    """
    return await resolve_with_policy(host, port, policy_for(allow_private))
