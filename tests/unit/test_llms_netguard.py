"""The SSRF guard: which addresses are public, name resolution that refuses private answers, the per-hop
URL check (redirect targets included) and the connector's socket gate. Nothing here connects anywhere;
the only name resolved is ``localhost`` (from /etc/hosts)."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

import pytest

from actors.kinds.llms_txt.connector import CheckedResolver, checked_socket_factory
from actors.kinds.llms_txt.hops import check_hop, redirect_target
from actors.kinds.llms_txt.netguard import (
    BlockedAddress,
    allow_any_address,
    is_public_ip,
    resolve_checked,
    resolve_with_policy,
)

BLOCKED = [
    "127.0.0.1",  # loopback
    "127.1.2.3",
    "10.0.0.1",  # RFC 1918
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "192.168.255.255",
    "169.254.169.254",  # link-local: cloud metadata
    "169.254.0.1",
    "100.64.0.1",  # CGNAT is not public
    "100.127.255.254",
    "0.0.0.0",  # unspecified: reaches localhost on Linux
    "0.1.2.3",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "255.255.255.255",  # broadcast
    "240.0.0.1",  # reserved
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",  # IPv6 loopback
    "::",  # unspecified
    "fe80::1",  # link-local
    "fe80::1%eth0",
    "fc00::1",  # unique local
    "fd12:3456:789a::1",
    "fec0::1",  # deprecated site-local
    "ff02::1",  # multicast
    "2001:db8::1",  # documentation
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::7f00:1",  # IPv4-compatible (deprecated) loopback
    "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
    "2002:a00:1::1",  # 6to4 wrapping 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 wrapping 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 wrapping 169.254.169.254
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001::1",
    "not an address",
    "",
]
PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700::1",
    "2a00:1450:4001:830::200e",
    "::ffff:93.184.216.34",  # IPv4-mapped public: the socket talks to 93.184.216.34
    "2002:5db8:d822::1",  # 6to4 wrapping a public address
    "64:ff9b::5db8:d822",  # NAT64 wrapping a public address (DNS64 networks)
]


@pytest.mark.parametrize("address", BLOCKED)
def test_private_reserved_and_embedded_private_forms_are_not_public(address: str) -> None:
    assert is_public_ip(address) is False


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_ip(address) is True
    assert is_public_ip(ip_address(address)) is True


def test_address_objects_are_accepted() -> None:
    assert is_public_ip(IPv4Address("10.1.2.3")) is False
    assert is_public_ip(IPv6Address("::ffff:a00:1")) is False


async def test_resolve_checked_refuses_a_private_literal_without_a_lookup() -> None:
    with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1"):
        await resolve_checked("127.0.0.1", 80, allow_private=False)
    with pytest.raises(BlockedAddress):
        await resolve_checked("[::1]", 80, allow_private=False)
    assert await resolve_checked("93.184.216.34", 443, allow_private=False) == ["93.184.216.34"]


async def test_resolve_checked_refuses_a_name_that_resolves_to_loopback() -> None:
    with pytest.raises(BlockedAddress, match=r"localhost resolves to 127\.0\.0\.1"):
        await resolve_checked("localhost", 80, allow_private=False)
    assert "127.0.0.1" in await resolve_checked("localhost", 80, allow_private=True)


async def test_one_private_answer_among_public_ones_refuses_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a resolver (the event loop's, not ours) answering one public and one private address
    loop = asyncio.get_running_loop()

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[Any]:
        assert host == "mixed.example"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    # Then the name is refused as a whole, so the client cannot be steered to the private one
    with pytest.raises(BlockedAddress, match=r"10\.0\.0\.7"):
        await resolve_checked("mixed.example", 443, allow_private=False)
    assert await resolve_with_policy("mixed.example", 443, allow_any_address) == ["93.184.216.34", "10.0.0.7"]


async def test_checked_resolver_returns_only_checked_addresses() -> None:
    with pytest.raises(BlockedAddress):
        await CheckedResolver().resolve("localhost", 80)
    results = await CheckedResolver(allow_private=True).resolve("localhost", 8080)
    assert [(r["host"], r["port"], r["hostname"]) for r in results] == [("127.0.0.1", 8080, "localhost")]
    only_loopback_v4 = CheckedResolver(policy=lambda ip: ip == IPv4Address("127.0.0.1"))
    assert [r["host"] for r in await only_loopback_v4.resolve("localhost", 80)] == ["127.0.0.1"]


def test_socket_gate_refuses_to_create_a_socket_for_a_refused_address() -> None:
    create = checked_socket_factory(is_public_ip)
    for sockaddr in [("127.0.0.1", 80), ("169.254.169.254", 80)]:
        with pytest.raises(BlockedAddress):
            create((socket.AF_INET, socket.SOCK_STREAM, 6, "", sockaddr))
    with pytest.raises(BlockedAddress):
        create((socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:10.0.0.1", 80, 0, 0)))
    sock = create((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)))
    sock.close()  # created, never connected


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("https://example.com/page", None),
        ("http://93.184.216.34:8080/", None),
        ("http://localhost/", None),  # names are checked by the resolver when connecting
        ("http://127.0.0.1/", "blocked_address"),
        ("http://[::1]:8080/", "blocked_address"),
        ("http://[::ffff:127.0.0.1]/", "blocked_address"),
        ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
        ("http://0.0.0.0:8000/", "blocked_address"),
        ("ftp://example.com/", "invalid_url"),
        ("file:///etc/passwd", "invalid_url"),
        ("gopher://127.0.0.1:6379/_INFO", "invalid_url"),
        ("http://user:pw@example.com/", "invalid_url"),
        ("http://example.com@127.0.0.1/", "invalid_url"),
        ("http://example.com:99999/", "invalid_url"),
        ("http:///path-only", "invalid_url"),
        ("/relative/path", "invalid_url"),
    ],
)
def test_every_hop_is_checked_before_it_is_requested(url: str, refusal: str | None) -> None:
    assert check_hop(url, is_public_ip) == refusal


@pytest.mark.parametrize(
    ("location", "refusal"),
    [
        ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
        ("http://10.0.0.1:8080/admin", "blocked_address"),
        ("//127.0.0.1/", "blocked_address"),  # scheme-relative
        ("gopher://93.184.216.34/", "invalid_url"),
        ("/docs/next", None),
        ("https://www.example.com/", None),
    ],
)
def test_a_redirect_from_a_public_address_to_a_private_one_is_refused(location: str, refusal: str | None) -> None:
    # Given a page on a public address that redirects
    target = redirect_target("http://93.184.216.34/start", location)
    # Then the hop is judged like a first request
    assert check_hop(target, is_public_ip) == refusal


def test_redirect_targets_resolve_relative_locations() -> None:
    assert redirect_target("https://a.example/docs/x/", "../y") == "https://a.example/docs/y"
    assert redirect_target("https://a.example/docs/", " /z ") == "https://a.example/z"
    assert redirect_target("https://a.example/", "//b.example/p") == "https://b.example/p"
