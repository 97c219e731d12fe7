"""A job kind only the tracing test loads (its queue is consumed by no worker process of the suite): it makes
one outbound httpx call, to the URL in its params."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from actors.context import JobContext
from actors.registry import JobKind, register_kind


class TracedParams(msgspec.Struct, forbid_unknown_fields=True):
    url: str


def run_traced(ctx: JobContext, params: TracedParams) -> dict[str, Any]:
    with httpx.Client(timeout=10) as client:
        status = client.get(params.url).status_code
    return {"status": status}


register_kind(JobKind(name="test_traced", params=TracedParams, handler=run_traced, queue="traced"))
