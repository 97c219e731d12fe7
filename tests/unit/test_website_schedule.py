"""The website kind's poll schedule, backoff, deadline clamp, Retry-After parsing and schedule setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from actors.env import KindEnv, SettingsError
from actors.kinds.website.client import retry_after_seconds
from actors.kinds.website.schedule import MIN_DELAY_SECONDS, clamp_to_deadline, poll_interval
from actors.kinds.website.settings import WebsiteConfig, load_settings, parse_poll_schedule
from actors.retry import backoff_seconds

DEFAULT = WebsiteConfig().poll_schedule


@pytest.mark.parametrize(
    ("elapsed", "interval"),
    [(0, 30), (119.9, 30), (120, 45), (599, 45), (600, 60), (1079, 60), (1080, 90), (5000, 90)],
)
def test_default_schedule_slows_down_over_time(elapsed: float, interval: float) -> None:
    assert poll_interval(elapsed, DEFAULT) == interval


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [backoff_seconds(n, base=30, cap=300) for n in range(1, 8)]
    assert delays == [30, 60, 120, 240, 300, 300, 300]
    assert backoff_seconds(10_000, base=30, cap=300) == 300


def test_waits_never_pass_the_deadline() -> None:
    assert clamp_to_deadline(30, remaining=12) == 12
    assert clamp_to_deadline(30, remaining=100) == 30
    assert clamp_to_deadline(30, remaining=-5) == MIN_DELAY_SECONDS


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 80 <= (retry_after_seconds(later) or 0) <= 90


def test_schedule_setting_parses_and_rejects_nonsense() -> None:
    assert parse_poll_schedule("0.2@1, 0.3") == ((0.2, 1.0), (0.3, None))
    assert load_settings(KindEnv({"WEBSITE_POLL_SCHEDULE": "30@120,45@600,60@1080,90"})).poll_schedule == DEFAULT
    for bad in ("30@120", "x@1,2", "0@1,2", "30,45@600"):
        with pytest.raises(SettingsError):
            parse_poll_schedule(bad)
