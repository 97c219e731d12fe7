"""Settings are read from the environment once; secrets never show in their printable form."""

from __future__ import annotations

import json

import pytest

from service.settings import Settings, redact_url


def test_unset_variables_keep_the_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.worker.kind_modules == ()
    assert settings.auth.cookie_secure is False


def test_variables_are_parsed_into_the_nested_settings() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://app:pw@db.internal:5433/jobs",
            "DATABASE_POOL_SIZE": "3",
            "DATABASE_ECHO": "yes",
            "REDIS_URL": "redis://cache:6380/2",
            "EVENT_STREAM_MAXLEN": "50",
            "WORKER_PROCESSES": "4",
            "WORKER_THREADS": "16",
            "JOB_LEASE_SECONDS": "7.5",
            "JOB_KIND_MODULES": " tests.support.kinds , other.kinds ,,",
            "SWEEP_INTERVAL_SECONDS": "0.5",
            "SSE_HEARTBEAT_SECONDS": "2",
            "COOKIE_SECURE": "TRUE",
            "SECRET_KEY": "s3cret",
            "PUBLIC_URL": "https://jobs.example.com/",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.database.url == "postgresql://app:pw@db.internal:5433/jobs"
    assert settings.database.pool_size == 3
    assert settings.database.echo is True
    assert settings.redis.url == "redis://cache:6380/2"
    assert settings.redis.stream_maxlen == 50
    assert (settings.worker.processes, settings.worker.threads) == (4, 16)
    assert settings.worker.lease_seconds == 7.5
    assert settings.worker.kind_modules == ("tests.support.kinds", "other.kinds")
    assert settings.scheduler.sweep_interval_seconds == 0.5
    assert settings.sse.heartbeat_seconds == 2.0
    assert settings.auth.cookie_secure is True
    assert settings.secret_key == "s3cret"
    assert settings.public_url == "https://jobs.example.com"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("on", True), ("0", False), ("no", False), ("", False)])
def test_flags(value: str, expected: bool) -> None:
    assert Settings.from_env({"DATABASE_ECHO": value}).database.echo is expected


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.secret_key = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    "url", ["postgres://u@h/db", "postgresql://u@h/db", "postgresql+asyncpg://u@h/db", "postgresql+psycopg2://u@h/db"]
)
def test_postgres_urls_get_the_psycopg_driver(url: str) -> None:
    database = Settings.from_env({"DATABASE_URL": url}).database
    assert database.async_url == "postgresql+psycopg://u@h/db"
    assert database.sync_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite:///jobs.db", "db.internal:5432/jobs"])
def test_a_database_url_that_is_not_postgres_is_refused(url: str) -> None:
    database = Settings.from_env({"DATABASE_URL": url}).database
    with pytest.raises(ValueError, match="DATABASE_URL must be a postgresql:// URL"):
        _ = database.async_url
    with pytest.raises(ValueError, match="DATABASE_URL must be a postgresql:// URL"):
        _ = database.sync_url


def test_redacted_hides_passwords_and_the_secret_key() -> None:
    # Given settings holding a database password, a Redis password and a secret key
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://app:db-pass-123@db:5432/jobs",
            "REDIS_URL": "redis://:redis-pass-456@cache:6379/0",
            "SECRET_KEY": "secret-key-789",
        }
    )
    # When they are turned into their printable form
    redacted = settings.redacted()
    printed = json.dumps(redacted)
    # Then no secret is in it, but everything needed to diagnose is
    for secret in ("db-pass-123", "redis-pass-456", "secret-key-789"):
        assert secret not in printed
    assert redacted["database"]["url"] == "postgresql://app:***@db:5432/jobs"  # type: ignore[index]
    assert redacted["redis"]["url"] == "redis://:***@cache:6379/0"  # type: ignore[index]
    assert redacted["secret_key"] == "***"
    # and the settings themselves are untouched
    assert settings.database.url == "postgresql://app:db-pass-123@db:5432/jobs"


def test_redacted_leaves_urls_without_password_and_an_empty_secret_alone() -> None:
    redacted = Settings.from_env({"DATABASE_URL": "postgresql://app@db/jobs"}).redacted()
    assert redacted["database"]["url"] == "postgresql://app@db/jobs"  # type: ignore[index]
    assert redacted["secret_key"] == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:pa:ss@h/db", "postgresql://u:***@h/db"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(("value", "expected"), [("", "text"), ("text", "text"), ("JSON", "json"), (" json ", "json")])
def test_log_format(value: str, expected: str) -> None:
    assert Settings.from_env({"LOG_FORMAT": value}).log_format == expected


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT must be 'text' or 'json', got 'xml'"):
        Settings.from_env({"LOG_FORMAT": "xml"})
