"""Signal declarations, the wait exception and the webhook signature scheme; the fairness limit a kind gets."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from actors.fairness import owner_limit
from actors.registry import JobKind
from actors.signals import SignalSpec, WaitFor, find_signal, webhook_key, webhook_signature


class Payload(msgspec.Struct):
    n: int


def handler(ctx: object, params: object) -> None:
    return None


@pytest.mark.parametrize("name", ["timeout", "", "has space", "slash/name"])
def test_reserved_or_malformed_signal_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid signal name"):
        SignalSpec(name)


def test_a_signal_must_name_who_may_send_it() -> None:
    with pytest.raises(ValueError, match="names nobody"):
        SignalSpec("approve", senders=())


def test_find_signal() -> None:
    specs = (SignalSpec("approve"), SignalSpec("revise", payload=Payload))
    assert find_signal(specs, "revise") is specs[1]
    assert find_signal(specs, "timeout") is None


def test_wait_deadlines_are_normalised_to_aware_datetimes() -> None:
    before = datetime.now(UTC)
    assert WaitFor("x", deadline=None, state=None).deadline is None
    in_seconds = WaitFor("x", deadline=60, state=None).deadline
    in_delta = WaitFor("x", deadline=timedelta(minutes=1), state=None).deadline
    assert in_seconds is not None and in_delta is not None
    assert timedelta(seconds=59) < in_seconds - before < timedelta(seconds=61)
    assert timedelta(seconds=59) < in_delta - before < timedelta(seconds=61)
    with pytest.raises(ValueError, match="timezone-aware"):
        WaitFor("x", deadline=datetime(2030, 1, 1), state=None)
    with pytest.raises(ValueError, match="waiting_for"):
        WaitFor("", deadline=None, state=None)


def test_webhook_keys_differ_per_kind_and_sign_timestamp_job_name_and_body() -> None:
    key = webhook_key("secret", "review")
    assert key == hmac.new(b"secret", b"genjobs-signal-webhook:review", hashlib.sha256).hexdigest()
    assert key != webhook_key("secret", "other") and key != webhook_key("other secret", "review")
    expected = hmac.new(key.encode(), b"1700000000.job-1.approve.{}", hashlib.sha256).hexdigest()
    assert webhook_signature(key, 1700000000, "job-1", "approve", b"{}") == expected
    assert webhook_signature(key, 1700000000, "job-1", "approve", b"{ }") != expected


def test_the_owner_limit_is_the_kinds_else_the_deployments() -> None:
    own = JobKind(name="a", params=Payload, handler=handler, max_running_per_owner=3)
    unlimited = JobKind(name="b", params=Payload, handler=handler, max_running_per_owner=0)
    default = JobKind(name="c", params=Payload, handler=handler)
    assert owner_limit(own, 10) == 3
    assert owner_limit(unlimited, 10) == 0
    assert owner_limit(default, 10) == 10
    assert owner_limit(default, 0) == 0
