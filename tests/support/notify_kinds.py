"""A job kind that takes the notification params (``notify``, ``locale``, ``message_to_user``), for tests."""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec

from actors.context import JobContext
from actors.errors import PermanentJobError
from actors.notify.target import Locale, NotifyTarget
from actors.registry import JobKind, register_kind


class NotifyTestParams(msgspec.Struct, forbid_unknown_fields=True):
    label: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    fail: bool = False
    delay: Annotated[float, msgspec.Meta(ge=0, le=30)] = 0.0
    tracking_url: str | None = None
    notify: NotifyTarget | None = None
    locale: Locale = "en"
    message_to_user: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


def run_notify_test(ctx: JobContext, params: NotifyTestParams) -> dict[str, Any]:
    time.sleep(params.delay)
    if params.fail:
        raise PermanentJobError("the source site answered 404 Not Found")
    return {"done": True, **({"tracking_url": params.tracking_url} if params.tracking_url else {})}


register_kind(
    JobKind(
        name="test_notify",
        params=NotifyTestParams,
        handler=run_notify_test,
        queue="test_notify",
        max_retries=0,
        title=lambda p: p.label,
        description="Succeeds or fails at once, with notification params (tests only).",
    )
)
