"""Notification settings are read from the environment, and their secrets never show when printed."""

from __future__ import annotations

import json

from service.settings import Settings


def test_notification_variables_are_parsed_and_base_urls_have_defaults() -> None:
    settings = Settings.from_env(
        {
            "SMTP_URL": "smtp://mailer:p%40ss@mail.example.com:587?starttls=1",
            "ULTRAMSG_INSTANCE_ID": "instance1",
            "ULTRAMSG_TOKEN": "ultra-secret",
            "WHATSAPP_API_BASE": "http://127.0.0.1:9000/v21.0/",
            "WHATSAPP_PHONE_NUMBER_ID": "123",
            "WHATSAPP_TOKEN": "wa-secret",
            "NOTIFY_MAX_ATTEMPTS": "7",
            "NOTIFY_MIN_BACKOFF_SECONDS": "0.5",
            "NOTIFY_ALLOW_PRIVATE": "1",
        }
    )
    n = settings.notify
    assert n.ultramsg_api_base == "https://api.ultramsg.com"
    assert n.whatsapp_api_base == "http://127.0.0.1:9000/v21.0"
    assert (n.max_attempts, n.min_backoff_seconds, n.allow_private) == (7, 0.5, True)
    assert Settings.from_env({}).notify.whatsapp_api_base == "https://graph.facebook.com/v21.0"


def test_redacted_settings_hide_tokens_and_the_smtp_password() -> None:
    settings = Settings.from_env(
        {
            "SMTP_URL": "smtps://mailer:hunter2@mail.example.com:465",
            "ULTRAMSG_TOKEN": "ultra-secret",
            "WHATSAPP_TOKEN": "wa-secret",
        }
    )
    printed = json.dumps(settings.redacted())
    for secret in ("hunter2", "ultra-secret", "wa-secret"):
        assert secret not in printed
    assert "smtps://mailer:***@mail.example.com:465" in printed
