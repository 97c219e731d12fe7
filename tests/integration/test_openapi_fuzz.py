"""Schemathesis fuzzes every operation of the real API's OpenAPI document: no input may cause a 500, and every
answer, errors included, must match what the document says (``{"error": {"code", "message", "details"}}``).

Bounded: a few examples per operation, so the whole file runs in well under a minute. SSE streams are left
out (they do not end by themselves). The operations are walked in one test: schemathesis' pytest
``from_fixture`` does not work with this pytest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ApiUser

EXAMPLES_PER_OPERATION = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


async def test_no_input_breaks_the_api_or_its_documented_answers(
    api_url: str, make_user: Callable[..., Awaitable[ApiUser]]
) -> None:
    user = await make_user()
    headers = {"Authorization": f"Bearer {user.api_key}"}
    schema = schemathesis.openapi.from_url(f"{api_url}/schema/openapi.json").exclude(path_regex=r"/events$")
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, timeout=30, checks=CHECKS)

        await asyncio.to_thread(fuzz)
        tested.append(operation.label)
    assert len(tested) >= 15, tested
