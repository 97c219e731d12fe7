"""Params validation reports every wrong field at once, not only the first one msgspec meets."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from actors.registry import JobKind
from service.errors import BadRequest
from service.jobs.params import field_errors, validate_params


class CrawlParams(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=1)]
    max_pages: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    depth: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    follow: bool = True
    label: Annotated[str, msgspec.Meta(max_length=5)] | None = None


class LenientParams(msgspec.Struct):
    n: int = 0


def _handler(ctx: object, params: object) -> None:
    return None


CRAWL = JobKind(name="crawl", params=CrawlParams, handler=_handler)
LENIENT = JobKind(name="lenient", params=LenientParams, handler=_handler)


def _fields(exc: pytest.ExceptionInfo[BadRequest]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in exc.value.details}


def test_valid_params_become_the_kinds_struct_with_defaults() -> None:
    params = validate_params(CRAWL, {"url": "https://example.com", "max_pages": 3})
    assert params == CrawlParams(url="https://example.com", max_pages=3, depth=1.0, follow=True, label=None)


def test_every_wrong_field_is_reported() -> None:
    # Given params with a wrong type, an out-of-range value, a too-long string and an unknown field
    bad = {"url": "https://example.com", "max_pages": "ten", "depth": -1, "label": "too long", "colour": "red"}
    # When they are validated
    with pytest.raises(BadRequest) as exc:
        validate_params(CRAWL, bad)
    # Then each of the four is named, and nothing else
    fields = _fields(exc)
    assert set(fields) == {"max_pages", "depth", "label", "colour"}
    assert "int" in fields["max_pages"]
    assert ">= 0" in fields["depth"]
    assert fields["colour"] == "unknown field"
    assert exc.value.code == "invalid_params"
    assert exc.value.status_code == 400
    for name in fields:
        assert name in exc.value.message
    assert "'crawl'" in exc.value.message


def test_missing_required_field_is_reported_with_the_others() -> None:
    with pytest.raises(BadRequest) as exc:
        validate_params(CRAWL, {"follow": "yes"})
    fields = _fields(exc)
    assert set(fields) == {"url", "follow"}
    assert fields["url"] == "this field is required"
    assert "bool" in fields["follow"]


def test_field_messages_do_not_carry_msgspecs_path_suffix() -> None:
    errors = field_errors(CrawlParams, {"url": "", "max_pages": 0})
    assert {e["field"] for e in errors} == {"url", "max_pages"}
    assert all("at `$`" not in e["message"] for e in errors)


def test_null_for_a_non_optional_field_is_an_error_but_allowed_for_an_optional_one() -> None:
    with pytest.raises(BadRequest) as exc:
        validate_params(CRAWL, {"url": "u", "max_pages": None, "label": None})
    assert set(_fields(exc)) == {"max_pages"}


def test_unknown_fields_are_accepted_when_the_kind_allows_them() -> None:
    assert field_errors(LenientParams, {"n": 1, "extra": True}) == []
    assert validate_params(LENIENT, {"n": 2, "extra": True}) == LenientParams(n=2)


def test_strings_are_not_coerced_to_numbers() -> None:
    with pytest.raises(BadRequest) as exc:
        validate_params(CRAWL, {"url": "u", "max_pages": "5"})
    assert set(_fields(exc)) == {"max_pages"}
