"""Addresses per channel: valid ones are normalized, bad ones refused with a reason; redaction hides them."""

from __future__ import annotations

import pytest

from actors.notify.recipients import normalize_target, redact


def test_valid_addresses_are_normalized() -> None:
    assert normalize_target("email", " ana@example.com ") == "ana@example.com"
    assert normalize_target("webhook", "https://hooks.example.com/x?y=1") == "https://hooks.example.com/x?y=1"
    assert normalize_target("ultramsg", "+34 600-12-34-56") == "+34600123456"
    assert normalize_target("whatsapp", "14155552671") == "+14155552671"


@pytest.mark.parametrize(
    ("channel", "to", "reason"),
    [
        ("email", "ana@", "not an email address"),
        ("email", "ana example.com", "not an email address"),
        ("webhook", "ftp://example.com/x", "not an https:// URL"),
        ("webhook", "http://example.com/x", "must use https://"),
        ("webhook", "https://127.0.0.1/x", "not a public address"),
        ("webhook", "https://10.0.0.8/x", "not a public address"),
        ("webhook", "https://localhost/x", "not a public host name"),
        # Other spellings of loopback that resolvers and URL parsers accept
        ("webhook", "https://localhost./x", "not a public host name"),
        ("webhook", "https://LocalHost./x", "not a public host name"),
        ("webhook", "https://127.1/x", "not a public address"),
        ("webhook", "https://2130706433/x", "not a public address"),
        ("webhook", "https://0x7f000001/x", "not a public address"),
        ("webhook", "https://0177.0.0.1/x", "not a public address"),
        ("webhook", "https://127.0.0.1./x", "not a public address"),
        ("webhook", "https://[::ffff:127.0.0.1]/x", "not a public address"),
        ("webhook", "https://0/x", "not a public address"),
        ("webhook", "https://10.1/x", "not a public address"),
        ("webhook", "https://1.2.3.999/x", "not a valid IPv4 address"),
        ("webhook", "https://user:pw@example.com/x", "user name or password"),
        ("ultramsg", "12345", "not a phone number"),
        ("whatsapp", "+0 600 123 456", "not a phone number"),
        ("sms", "+34600123456", "unknown channel"),
    ],
)
def test_bad_addresses_are_refused_with_the_reason(channel: str, to: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_target(channel, to)


def test_public_numeric_hosts_and_names_that_only_look_numeric_are_kept() -> None:
    assert normalize_target("webhook", "https://8.8.8.8/x") == "https://8.8.8.8/x"
    assert normalize_target("webhook", "https://134744072/x") == "https://134744072/x"  # 8.8.8.8
    assert normalize_target("webhook", "https://hooks.example.com./x") == "https://hooks.example.com./x"
    assert normalize_target("webhook", "https://1.example.com/x") == "https://1.example.com/x"


def test_private_webhooks_over_http_are_allowed_only_when_configured() -> None:
    assert normalize_target("webhook", "http://127.0.0.1:9000/hook", allow_private=True)


def test_redaction_keeps_enough_to_recognize_and_hides_the_rest() -> None:
    assert redact("email", "ana@example.com") == "a***@example.com"
    assert redact("webhook", "https://hooks.example.com/T0K3N") == "https://hooks.example.com/…"
    assert redact("whatsapp", "+34600123456") == "+34*******56"
