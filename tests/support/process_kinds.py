"""Job kinds that run programs and take files (tests only; loaded through JOB_KIND_MODULES).

``test_process`` runs the argv it is given in a work directory of its own, with the limits it is given: the
tests use it to check cancel, time-outs, limits, live log lines and the sandbox through a real worker.
``test_upload`` takes an archive, unpacks it with the shared extractor and lists its files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import msgspec

from actors.context import JobContext
from actors.process import ProcessLimits
from actors.registry import JobKind, register_kind
from actors.uploads import ExtractLimits, UploadPolicy, extract_archive, upload_dir


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

register_kind(
    JobKind(
        name="test_process_limited",
        params=ProcessParams,
        handler=run_program,
        queue="test",
        max_retries=0,
        time_limit_seconds=2,
        description="Like test_process with a 2 s time limit for the whole job (tests only).",
    )
)


UPLOAD_POLICY = UploadPolicy(files=("file", "notes"), required=("file",), max_entries=50, max_unpacked_bytes=5_000_000)


class UploadParams(msgspec.Struct, forbid_unknown_fields=True):
    label: str = ""


def run_upload(ctx: JobContext, params: UploadParams) -> dict[str, Any]:
    uploaded = upload_dir(ctx.runtime.config.artifacts_dir, ctx.job_id)
    manifest = json.loads((uploaded / "manifest.json").read_bytes())
    target = work_dir(ctx) / "src"
    limits = ExtractLimits(max_entries=UPLOAD_POLICY.max_entries, max_total_bytes=UPLOAD_POLICY.max_unpacked_bytes)
    try:
        files = extract_archive(uploaded / "file", target, limits)
        contents = {name: (target / name).read_text(errors="replace")[:100] for name in files[:10]}
    finally:
        shutil.rmtree(target.parent, ignore_errors=True)
    return {"label": params.label, "files": files, "contents": contents, "upload": manifest}


register_kind(
    JobKind(
        name="test_upload",
        params=UploadParams,
        handler=run_upload,
        queue="test",
        max_retries=0,
        uploads=UPLOAD_POLICY,
        description="Takes an archive and lists its files (tests only).",
    )
)
