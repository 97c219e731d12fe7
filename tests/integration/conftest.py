"""Fixtures for the integration tests that several modules use."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import start_api
from tests.support.fake_stripe import FakeStripe
from tests.support.services import ServiceProcess


@pytest.fixture
def fresh_stripe(fake_stripe: FakeStripe) -> Iterator[FakeStripe]:
    """The session's fake Stripe, reset before and after the test (e.g. not left in "fail" mode)."""
    fake_stripe.reset()
    yield fake_stripe
    fake_stripe.reset()


# A deployment's security settings, where the session's shared API relaxes them for local test servers.
PRODUCTION_LIKE_ENV = {
    "NOTIFY_ALLOW_PRIVATE": "0",
    # Metrics off: neither a token nor METRICS_PUBLIC
    "METRICS_TOKEN": "",
}


@pytest.fixture(scope="session")
def strict_api_url(start_service: Callable[..., ServiceProcess]) -> str:
    """A second real API process of the session with ``PRODUCTION_LIKE_ENV`` (same database and Redis)."""
    return start_api(start_service, env=PRODUCTION_LIKE_ENV)[1]
