"""The input guard's checks on their own: where the depth limit sits and how a bad field is named."""

from __future__ import annotations

from typing import Any

import pytest

from service.errors import BadRequest
from service.input_guard import MAX_JSON_DEPTH, check_json_value, check_query, decode_json


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_up_to_the_limit_is_fine_and_one_more_is_refused() -> None:
    check_json_value(nested(MAX_JSON_DEPTH))
    with pytest.raises(BadRequest) as refused:
        check_json_value(nested(MAX_JSON_DEPTH + 1))
    assert refused.value.code == "too_deeply_nested"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"a": {"b": ["ok", "no\x00"]}}, "a.b[1]"),
        (["\x00"], "[0]"),
        ({"k\x00": 1}, "k\\u0000"),
    ],
)
def test_a_nul_is_named_by_its_path(value: Any, field: str) -> None:
    with pytest.raises(BadRequest) as refused:
        check_json_value(value)
    assert refused.value.details == [{"field": field, "message": refused.value.details[0]["message"]}]


def test_json_inside_a_string_is_named_under_its_root() -> None:
    with pytest.raises(BadRequest) as refused:
        decode_json(b'{"url": "x\\u0000"}', "arguments")
    assert refused.value.details[0]["field"] == "arguments.url"
    assert decode_json(b'{"url": "x\\\\u0000"}') == {"url": "x\\u0000"}  # an escaped backslash is text


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        (b"kind=a%00", "kind", "invalid_text"),
        (b"page=1&kind=%ff", "kind", "invalid_utf8"),
        (b"a%00=1", "a\\u0000", "invalid_text"),
    ],
)
def test_bad_query_parameters_are_named(query: bytes, field: str, code: str) -> None:
    with pytest.raises(BadRequest) as refused:
        check_query(query)
    assert (refused.value.details[0]["field"], refused.value.code) == (field, code)
    check_query(b"kind=llms_txt&page=2&q=caf%C3%A9+x")
