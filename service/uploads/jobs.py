"""``POST /api/jobs`` as ``multipart/form-data``: a job with files, for kinds that declare ``uploads``.

Parts: ``kind``, ``params`` (a JSON object), optionally ``priority`` and ``idempotency_key``, and the file
parts the kind names. The body is streamed into a hidden directory under ``ARTIFACTS_DIR/uploads``; the
files are checked (archives with the shared extractor's rules, writing nothing); the directory is renamed to
``uploads/<job id>/`` and only then is the job created and its message sent, so a worker always finds the
files. Any refusal answers 4xx and removes everything that was received.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import anyio
import msgspec
from litestar import Request

from actors.registry import JobKind, get_kind
from actors.uploads import ArchiveRefused, ExtractLimits, UploadPolicy, check_archive, upload_dir
from service.auth.principal import Principal
from service.errors import BadRequest
from service.jobs import creation
from service.jobs.schemas import CreateJobRequest, JobOut
from service.resources import Resources
from service.uploads.receive import ReceivedForm, SavedFile, receive_form

MANIFEST = "manifest.json"


async def create_job_with_files(
    res: Resources, user: Principal, request: Request[Any, Any, Any]
) -> tuple[JobOut, bool]:
    """Receive the multipart body, check it, keep the files for the job and create the job."""
    root = Path(res.settings.artifacts_dir) / "uploads"
    incoming = root / f".incoming-{uuid.uuid4().hex}"
    form = await receive_form(request, max_bytes=res.settings.upload_max_bytes, target_dir=incoming)
    kept: Path | None = None
    try:
        req = _job_request(form)
        policy = _policy_of(req.kind)
        _check_parts(req.kind, policy, form)
        limits = ExtractLimits(max_entries=policy.max_entries, max_total_bytes=policy.max_unpacked_bytes)
        for saved in form.files:
            if saved.part in policy.archives:
                await _check_archive(saved, limits)
        job_id = uuid.uuid4()
        (incoming / MANIFEST).write_bytes(msgspec.json.encode({f.part: f for f in form.files}))
        kept = upload_dir(res.settings.artifacts_dir, job_id)
        incoming.rename(kept)
        job, created = await creation.create_job(res, user, req, job_id=job_id, with_files=True)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        if kept is not None:
            shutil.rmtree(kept, ignore_errors=True)
        raise
    if not created:
        # A repeated idempotency key: the existing job keeps its own files.
        shutil.rmtree(kept, ignore_errors=True)
    return job, created


def _job_request(form: ReceivedForm) -> CreateJobRequest:
    fields = dict(form.fields)
    raw_params = fields.pop("params", "{}")
    try:
        params = msgspec.json.decode(raw_params)
    except msgspec.DecodeError:
        raise BadRequest("The part 'params' is not valid JSON.", code="invalid_params") from None
    if not isinstance(params, dict):
        raise BadRequest("The part 'params' must be a JSON object.", code="invalid_params")
    try:
        return msgspec.convert({**fields, "params": params}, CreateJobRequest)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"The request is invalid: {exc}", code="invalid_request") from None


def _policy_of(kind_name: str) -> UploadPolicy:
    kind: JobKind | None = get_kind(kind_name)
    if kind is None or kind.uploads is None:
        raise BadRequest(
            f"Job kind {kind_name!r} does not take files; send it as JSON.",
            code="files_not_accepted",
            details={"kind": kind_name},
        )
    return kind.uploads


def _check_parts(kind: str, policy: UploadPolicy, form: ReceivedForm) -> None:
    sent = {f.part for f in form.files}
    unknown = sorted(sent - set(policy.files))
    if unknown:
        raise BadRequest(
            f"Kind {kind!r} takes the file part(s) {', '.join(policy.files)}, not {', '.join(unknown)}.",
            code="unknown_file_part",
            details={"accepted": list(policy.files), "unknown": unknown},
        )
    missing = [name for name in policy.required if name not in sent]
    if missing:
        raise BadRequest(
            f"Kind {kind!r} needs the file part(s) {', '.join(missing)}.",
            code="file_required",
            details={"missing": missing},
        )


async def _check_archive(saved: SavedFile, limits: ExtractLimits) -> None:
    try:
        await anyio.to_thread.run_sync(check_archive, Path(saved.path), limits)
    except ArchiveRefused as exc:
        raise BadRequest(
            f"The archive {saved.filename or saved.part!r} was refused: {exc}",
            code="archive_refused",
            details={"part": saved.part, "entry": exc.entry, "rule": str(exc.rule), "reason": exc.reason},
        ) from None
