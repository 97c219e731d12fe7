"""Fixtures for the integration tests that several modules use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_stripe import FakeStripe


@pytest.fixture
def fresh_stripe(fake_stripe: FakeStripe) -> Iterator[FakeStripe]:
    """The session's fake Stripe, reset before and after the test (e.g. not left in "fail" mode)."""
    fake_stripe.reset()
    yield fake_stripe
    fake_stripe.reset()
