"""Job kinds that run programs under supervision (tests only; loaded through JOB_KIND_MODULES).

``test_process`` runs the argv it is given in a work directory of its own, with the limits it is given: the
tests use it to check cancel, time-outs, limits, live log lines and the sandbox through a real worker.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import msgspec

from actors.context import JobContext
from actors.process import ProcessLimits
from actors.registry import JobKind, register_kind


class ProcessParams(msgspec.Struct, forbid_unknown_fields=True):
    argv: Annotated[list[str], msgspec.Meta(min_length=1, max_length=50)]
    timeout: Annotated[float, msgspec.Meta(gt=0, le=600)] | None = None
    memory_mb: Annotated[int, msgspec.Meta(ge=1)] | None = None
    output_bytes: Annotated[int, msgspec.Meta(ge=1)] | None = None
    network: bool = False
    check: bool = True


def work_dir(ctx: JobContext) -> Path:
    path = Path(ctx.runtime.config.artifacts_dir) / "work" / str(ctx.job_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_program(ctx: JobContext, params: ProcessParams) -> dict[str, Any]:
    limits = ProcessLimits(
        memory_bytes=params.memory_mb * 1024 * 1024 if params.memory_mb else None,
        output_bytes=params.output_bytes,
    )
    cwd = work_dir(ctx)
    try:
        result = ctx.run_process(
            params.argv, cwd=cwd, limits=limits, timeout=params.timeout, network=params.network, check=params.check
        )
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    return {
        "returncode": result.returncode,
        "signal": result.signal,
        "stopped": result.stopped,
        "sandboxed": result.sandboxed,
        "work_dir": str(cwd),
        "tail": list(result.tail[-20:]),
    }


register_kind(
    JobKind(
        name="test_process",
        params=ProcessParams,
        handler=run_program,
        queue="test",
        max_retries=0,
        time_limit_seconds=120,
        description="Runs a program under supervision (tests only).",
    )
)
