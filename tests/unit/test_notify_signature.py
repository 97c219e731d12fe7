"""The webhook signature: what we send verifies, and anything altered, old or unsigned does not."""

from __future__ import annotations

import hashlib
import hmac

from actors.notify.signature import sign, verify_signature

SECRET = "whsec_test"
BODY = b'{"event":"job.succeeded","job":{"id":"1"}}'


def test_a_fresh_signature_verifies_and_has_the_documented_form() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify_signature(SECRET, header, BODY, now=1_700_000_010)


def test_another_secret_a_changed_body_or_a_changed_timestamp_fail() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    assert not verify_signature("whsec_other", header, BODY, now=1_700_000_000)
    assert not verify_signature(SECRET, header, BODY + b" ", now=1_700_000_000)
    forged = header.replace("t=1700000000", "t=1700000001")
    assert not verify_signature(SECRET, forged, BODY, now=1_700_000_000)


def test_a_signature_outside_the_tolerance_is_refused_either_way() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    assert not verify_signature(SECRET, header, BODY, now=1_700_000_301)
    assert not verify_signature(SECRET, header, BODY, now=1_699_999_699)
    assert verify_signature(SECRET, header, BODY, now=1_700_000_301, tolerance_seconds=400)


def test_malformed_or_missing_headers_are_refused() -> None:
    for header in (None, "", "v1=abc", "t=1700000000", "t=soon,v1=abc", "garbage"):
        assert not verify_signature(SECRET, header, BODY, now=1_700_000_000), header


def test_any_of_several_v1_values_may_match_during_a_secret_rotation() -> None:
    good = sign(SECRET, BODY, timestamp=1_700_000_000)
    mac = good.split("v1=")[1]
    assert verify_signature(SECRET, f"t=1700000000,v1={'0' * 64},v1={mac}", BODY, now=1_700_000_000)
