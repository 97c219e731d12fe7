"""Test kinds of jobs that wait (loaded with tests.support.kinds): a tiny review flow, and a slow kind limited
to 2 running jobs per owner (fair scheduling).

``test_review``: drafts, then waits for ``customer_review`` (deadline ``params.deadline`` seconds). The owner
``revise``s (payload: notes, rating 1-5; another draft, another wait) or ``approve``s; an approval with
``params.admin_approval`` then waits for ``admin_approval``, which only an admin's ``publish`` (at high
priority) ends. ``external`` comes from a signed webhook. ``timeout`` (the deadline) ends the job with the
outcome ``timeout``. The result lists every signal the job saw, from its stored state.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec

from actors.context import JobContext
from actors.registry import JobKind, register_kind
from actors.signals import SignalSpec
from tests.support.kinds import SleepParams, run_sleep


class ReviewParams(msgspec.Struct, forbid_unknown_fields=True):
    deadline: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 600.0
    admin_approval: bool = False
    # Work before each wait (makes the running phase visible).
    work_delay: Annotated[float, msgspec.Meta(ge=0, le=10)] = 0.0


class Revise(msgspec.Struct, forbid_unknown_fields=True):
    notes: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)] = 3


class Approve(msgspec.Struct, forbid_unknown_fields=True):
    comment: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class External(msgspec.Struct, forbid_unknown_fields=True):
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


def run_review(ctx: JobContext, params: ReviewParams) -> dict[str, Any]:
    seen: list[dict[str, Any]] = list(ctx.state.get("seen", []))
    drafts = int(ctx.state.get("drafts", 0))
    signal = ctx.signal
    if signal is not None:
        seen.append({"name": signal.name, "payload": signal.payload, "sender": signal.sender.split(":")[0]})
    name = signal.name if signal is not None else None
    if name is None or name == "revise":
        time.sleep(params.work_delay)
        ctx.progress(drafts + 1, None, "drafting")
        state = {"drafts": drafts + 1, "seen": seen, "stage": "customer_review"}
        ctx.wait("customer_review", deadline=params.deadline, state=state)
    if name == "approve" and params.admin_approval:
        ctx.wait("admin_approval", deadline=params.deadline, state={"drafts": drafts, "seen": seen, "stage": "admin"})
    return {"outcome": name, "drafts": drafts, "seen": seen, "attempt": ctx.attempt}


register_kind(
    JobKind(
        name="test_review",
        params=ReviewParams,
        handler=run_review,
        queue="test",
        max_retries=0,
        time_limit_seconds=60,
        description="A review flow that waits for its owner, an admin or a webhook (tests only).",
        signals=(
            SignalSpec("revise", payload=Revise, senders=("owner",), description="Ask for another draft."),
            SignalSpec("approve", payload=Approve, senders=("owner", "admin"), description="Accept the draft."),
            SignalSpec("publish", senders=("admin",), priority="high", description="An admin's final approval."),
            SignalSpec("external", payload=External, senders=("webhook",), description="An outside system."),
        ),
    )
)

register_kind(
    JobKind(
        name="test_fair",
        params=SleepParams,
        handler=run_sleep,
        queue="test",
        max_retries=0,
        time_limit_seconds=120,
        max_running_per_owner=2,
        description="Like test_sleep, at most 2 running per owner (tests only).",
    )
)
