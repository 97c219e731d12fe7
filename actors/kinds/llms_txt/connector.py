"""The aiohttp connector of the crawler: it connects only to addresses it has checked.

Two gates, so that no second, unchecked DNS lookup can happen between the check and the connection:

1. ``CheckedResolver`` is the connector's resolver: it resolves a name once, refuses it when any address
   is not allowed, and hands the connector exactly the addresses it checked.
2. ``checked_socket_factory`` creates every socket and checks the very address it is about to connect to.
   aiohttp skips the resolver for IP literals, so this gate covers them, whatever URL parser read them.

Errors raised (see ``netguard``): ``BlockedAddress`` from either gate, ``OSError`` when a name does not
resolve (aiohttp wraps it as ``ClientConnectorDNSError``).
"""

from __future__ import annotations

import socket
from ipaddress import ip_address

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import AddrInfoType, SocketFactoryType

from actors.kinds.llms_txt.netguard import AddressPolicy, BlockedAddress, policy_for, resolve_with_policy


class CheckedResolver(AbstractResolver):
    """An aiohttp resolver that returns a name's addresses only when the policy allows all of them."""

    def __init__(self, *, allow_private: bool = False, policy: AddressPolicy | None = None) -> None:
        """Args:
        allow_private: Allow every address (tests and local benchmarks).
        policy: An explicit address policy; overrides ``allow_private``.
        """
        self._policy = policy or policy_for(allow_private)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host``; raises ``BlockedAddress`` or ``OSError`` (see ``netguard.resolve_with_policy``)."""
        addresses = await resolve_with_policy(host, port, self._policy, family)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=socket.IPPROTO_TCP,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        """Nothing to release: lookups run on the event loop's executor."""


def checked_socket_factory(policy: AddressPolicy) -> SocketFactoryType:
    """A socket factory for ``TCPConnector`` that refuses to create a socket for a refused address."""

    def create(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address = ip_address(str(sockaddr[0]))
        if not policy(address):
            raise BlockedAddress(f"{address} is not a public address")
        return socket.socket(family=family, type=type_, proto=proto)

    return create


def make_connector(policy: AddressPolicy, *, limit_per_host: int, limit: int = 100) -> aiohttp.TCPConnector:
    """A ``TCPConnector`` behind both gates.

    Args:
        policy: Decides which addresses may be connected to.
        limit_per_host: Connections per host (the fetcher's per-host concurrency).
        limit: Connections in all.
    """
    return aiohttp.TCPConnector(
        resolver=CheckedResolver(policy=policy),
        socket_factory=checked_socket_factory(policy),
        limit=limit,
        limit_per_host=limit_per_host,
        # Checked answers may be reused for a minute; each one was checked when it was resolved.
        ttl_dns_cache=60,
    )
