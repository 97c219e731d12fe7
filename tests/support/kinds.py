"""Job kinds used only by tests and benchmarks (loaded with JOB_KIND_MODULES=tests.support.kinds).

Production ships no demo kind; these exercise the platform: progress, retries, permanent failures,
time-outs, cancellation of cooperative and of stuck code.
"""

from __future__ import annotations

import os
import time
from typing import Annotated, Any

import msgspec
import redis

from actors.context import JobContext
from actors.errors import PermanentJobError
from actors.registry import JobKind, register_kind


class SleepParams(msgspec.Struct, forbid_unknown_fields=True):
    steps: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 5
    delay: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.05
    # Fail the first N attempts with a passing error (exercises retries).
    fail_times: Annotated[int, msgspec.Meta(ge=0, le=10)] = 0
    fail_permanently: bool = False
    # Sleep without ever calling progress()/check_cancelled() (exercises forced interruption).
    stuck: bool = False
    label: Annotated[str, msgspec.Meta(max_length=100)] | None = None


def _count_completion(ctx: JobContext) -> None:
    # Lets tests count how many times the job body really finished, independently of our bookkeeping.
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        client.incr(f"test:completions:{ctx.job_id}")
    finally:
        client.close()


def run_sleep(ctx: JobContext, params: SleepParams) -> dict[str, Any]:
    if params.stuck:
        for _ in range(int(params.steps * params.delay * 20) + 1):
            time.sleep(0.05)
    else:
        for i in range(params.steps):
            time.sleep(params.delay)
            ctx.progress(i + 1, params.steps, "working")
    # After the steps: a job that fails permanently is still active for steps x delay (a retry can be seen
    # running).
    if params.fail_permanently:
        raise PermanentJobError("the input cannot be processed (test)")
    if ctx.attempt <= params.fail_times:
        raise RuntimeError(f"passing failure on attempt {ctx.attempt}")
    _count_completion(ctx)
    return {"steps": params.steps, "attempt": ctx.attempt, "label": params.label}


class NoopParams(msgspec.Struct, forbid_unknown_fields=True):
    n: int = 0


def run_noop(ctx: JobContext, params: NoopParams) -> dict[str, Any]:
    return {"n": params.n}


register_kind(
    JobKind(
        name="test_sleep",
        params=SleepParams,
        handler=run_sleep,
        queue="test",
        max_retries=3,
        min_backoff_seconds=0.2,
        max_backoff_seconds=2.0,
        time_limit_seconds=120,
        title=lambda p: p.label,
        description="Sleeps in steps, reporting progress (tests only).",
    )
)
register_kind(
    JobKind(
        name="test_timeout",
        params=SleepParams,
        handler=run_sleep,
        queue="test",
        max_retries=0,
        time_limit_seconds=1.5,
        description="Like test_sleep with a 1.5 s time limit (tests only).",
    )
)
register_kind(
    JobKind(
        name="test_sturdy",
        params=SleepParams,
        handler=run_sleep,
        queue="test",
        max_retries=20,
        min_backoff_seconds=0.2,
        max_backoff_seconds=1.0,
        time_limit_seconds=120,
        description="Like test_sleep with 20 retries: survives many worker kills (tests only).",
    )
)
register_kind(
    JobKind(
        name="test_fragile",
        params=SleepParams,
        handler=run_sleep,
        queue="test",
        max_retries=0,
        time_limit_seconds=120,
        description="Like test_sleep with no retry: any lost attempt fails it (tests only).",
    )
)
register_kind(
    JobKind(
        name="test_noop",
        params=NoopParams,
        handler=run_noop,
        queue="noop",
        max_retries=0,
        description="Does nothing (tests and benchmarks).",
    )
)


class GenerationParams(msgspec.Struct, forbid_unknown_fields=True):
    fail: bool = False
    delay: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.0


def run_generation(ctx: JobContext, params: GenerationParams) -> dict[str, Any]:
    time.sleep(params.delay)
    if params.fail:
        raise PermanentJobError("generation failed (test)")
    return {"generated": True}


register_kind(
    JobKind(
        name="test_generation",
        params=GenerationParams,
        handler=run_generation,
        queue="test",
        max_retries=0,
        counts_toward_quota=True,
        description="Counts toward the monthly generation quota (tests only).",
    )
)


register_kind(
    JobKind(
        name="test_paid",
        params=SleepParams,
        handler=run_sleep,
        queue="test",
        paid=True,
        max_retries=1,
        min_backoff_seconds=0.2,
        max_backoff_seconds=1.0,
        time_limit_seconds=60,
        title=lambda p: p.label,
        description="Like test_sleep, paid (the minimum charge) before it runs (tests only).",
    )
)
