"""parse_target: what a user may type as the site to crawl, and the messages for what they may not."""

from __future__ import annotations

import pytest

from actors.kinds.llms_txt.targets import InvalidTarget, parse_target


@pytest.mark.parametrize(
    ("value", "base_url"),
    [
        ("example.com", "https://example.com/"),
        ("docs.example.com", "https://docs.example.com/"),
        ("  Docs.Example.COM  ", "https://docs.example.com/"),
        ("example.com.", "https://example.com/"),
        ("example.com/docs/intro?x=1#top", "https://example.com/"),
        ("http://example.com", "http://example.com/"),
        ("HTTPS://example.com/some/path", "https://example.com/"),
        ("https://example.com:443/", "https://example.com/"),
        ("http://example.com:80/", "http://example.com/"),
        ("example.com:8443", "https://example.com:8443/"),
        ("http://example.com:8080/x", "http://example.com:8080/"),
        ("bücher.example", "https://xn--bcher-kva.example/"),
        ("https://MÜNCHEN.de/", "https://xn--mnchen-3ya.de/"),
        ("xn--bcher-kva.example", "https://xn--bcher-kva.example/"),
        ("my_service.example.org", "https://my_service.example.org/"),
        ("93.184.216.34", "https://93.184.216.34/"),
        ("http://93.184.216.34:8080/", "http://93.184.216.34:8080/"),
        ("2606:4700::1", "https://[2606:4700::1]/"),
        ("https://[2606:4700::1]:8443/", "https://[2606:4700::1]:8443/"),
    ],
)
def test_accepts_hostnames_urls_and_public_addresses(value: str, base_url: str) -> None:
    assert parse_target(value) == base_url


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter a website address"),
        ("   ", "Enter a website address"),
        ("exa mple.com", "cannot contain spaces"),
        ("example.com/a b", "cannot contain spaces"),
        ("ftp://example.com", "not ftp://"),
        ("file:///etc/passwd", "not file://"),
        ("mailto:someone@example.com", "not mailto:"),
        ("javascript:alert(1)", "not javascript:"),
        ("example", "has no dot"),
        ("localhost", "has no dot"),
        ("-bad.example.com", "letters, digits and hyphens"),
        ("bad-.example.com", "letters, digits and hyphens"),
        ("exa$mple.com", "letters, digits and hyphens"),
        ("a..b.example.com", "empty label"),
        ("x" * 64 + ".com", "longer than 63"),
        (".".join(["abcdefghij"] * 24) + ".com", "longer than 253"),
        ("example.123", "top-level domain"),
        ("1.2.3.4.5", "top-level domain"),
        ("0x7f.0x1", "top-level domain"),
        ("user:secret@example.com", "user name and password"),
        ("http://user@example.com/", "user name and password"),
        ("example.com:99999", "port number"),
        ("example.com:0", "port number"),
        ("example.com:http", "port number"),
        ("127.0.0.1", "private or reserved"),
        ("http://10.0.0.1/", "private or reserved"),
        ("169.254.169.254", "private or reserved"),
        ("100.64.0.1", "private or reserved"),
        ("[::1]", "private or reserved"),
        ("::ffff:127.0.0.1", "private or reserved"),
        ("x" * 3000 + ".com", "longer than 2048"),
    ],
)
def test_refuses_with_a_message_a_user_understands(value: str, message: str) -> None:
    with pytest.raises(InvalidTarget) as caught:
        parse_target(value)
    assert message in str(caught.value)


def test_invalid_target_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Enter a website address"):
        parse_target("")


@pytest.mark.parametrize(
    ("value", "base_url"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
        ("localhost:3000", "https://localhost:3000/"),
        ("http://[::1]:8000", "http://[::1]:8000/"),
    ],
)
def test_allow_private_accepts_local_addresses_for_tests(value: str, base_url: str) -> None:
    assert parse_target(value, allow_private=True) == base_url
