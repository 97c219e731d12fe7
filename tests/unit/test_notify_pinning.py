"""The webhook channel connects to the address it checked, keeping the URL's name for Host and TLS."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from actors.notify.channels.base import PermanentDeliveryError
from actors.notify.channels.webhook import check_public_host, pinned


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None, bytes]]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.seen.append((self.path, self.headers.get("Host"), body))
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_request_goes_to_the_checked_address_with_the_urls_host(receiver: ThreadingHTTPServer) -> None:
    # Given a URL whose name does not resolve at all, and the address a check approved
    port = receiver.server_address[1]
    url, host, extensions = pinned(f"http://hooks.invalid:{port}/in/box?x=1", "127.0.0.1")

    # When it is posted as the webhook channel does
    with httpx.Client() as client:
        response = client.post(url, content=b"{}", headers=host, extensions=extensions)

    # Then the server at that address got it, for the URL's host and path (no second name lookup happened)
    assert response.status_code == 204
    assert _Recorder.seen == [("/in/box?x=1", f"hooks.invalid:{port}", b"{}")]
    assert extensions == {}


def test_https_keeps_the_name_for_sni_and_the_certificate_check() -> None:
    url, host, extensions = pinned("https://user@hooks.example.com/path", "203.0.113.9")
    assert url == "https://203.0.113.9/path"
    assert host == {"Host": "hooks.example.com"}
    assert extensions == {"sni_hostname": "hooks.example.com"}


def test_ipv6_addresses_are_bracketed() -> None:
    url, host, _ = pinned("https://hooks.example.com:8443/p", "2001:db8::1")
    assert url == "https://[2001:db8::1]:8443/p"
    assert host == {"Host": "hooks.example.com:8443"}


def test_a_host_that_resolves_to_loopback_is_refused() -> None:
    with pytest.raises(PermanentDeliveryError, match="not a public address"):
        check_public_host("https://localhost/hook")
