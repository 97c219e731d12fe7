"""Jobs with files through the real API and worker: ``POST /api/jobs`` as multipart/form-data.

The API here runs with a 1 MB upload cap (``UPLOAD_MAX_BYTES``) so the cap is cheap to cross.
"""

from __future__ import annotations

import asyncio
import json
import tarfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ApiUser, start_api
from tests.support.archives import (
    make_tar_gz,
    make_zip,
    overlapping_zip_bomb,
    symlink_zip,
    tar_file,
    tar_special,
)
from tests.support.services import ServiceProcess

MakeUser = Callable[..., Awaitable[ApiUser]]
CAP = 1_000_000
PROJECT = {"package.json": b'{"name": "site"}', "src/main.ts": b"console.log(1)\n", "index.html": b"<h1>hi</h1>"}


@pytest.fixture(scope="module")
def upload_api(start_service: Callable[..., ServiceProcess]) -> str:
    return start_api(start_service, env={"UPLOAD_MAX_BYTES": str(CAP)})[1]


@pytest.fixture
async def client(make_user: MakeUser, upload_api: str) -> AsyncIterator[httpx.AsyncClient]:
    user = await make_user()
    async with httpx.AsyncClient(
        base_url=upload_api, headers={"Authorization": f"Bearer {user.api_key}"}, timeout=60
    ) as c:
        yield c


@pytest.fixture
def uploads_root(service_env: dict[str, str]) -> Path:
    return Path(service_env["ARTIFACTS_DIR"]) / "uploads"


def stored(uploads_root: Path) -> set[str]:
    return {p.name for p in uploads_root.iterdir()} if uploads_root.exists() else set()


async def post_upload(
    client: httpx.AsyncClient, archive: bytes, *, kind: str = "test_upload", filename: str = "site.zip", **extra: Any
) -> httpx.Response:
    data = {"kind": kind, "params": json.dumps({"label": "mine"}), **extra}
    return await client.post("/api/jobs", data=data, files={"file": (filename, archive, "application/octet-stream")})


async def wait_terminal(client: httpx.AsyncClient, job_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = (await client.get(f"/api/jobs/{job_id}")).json()
        if job["status"] in {"succeeded", "failed", "cancelled", "timed_out"}:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout} s"
        await asyncio.sleep(0.05)


async def job_count(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/jobs")).json()["total"])


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
async def test_an_uploaded_archive_reaches_the_worker_and_is_unpacked(
    client: httpx.AsyncClient, worker: ServiceProcess, uploads_root: Path, tmp_path: Path, fmt: str
) -> None:
    # Given a project archive
    if fmt == "zip":
        archive = make_zip(tmp_path / "site.zip", PROJECT)
    else:
        archive = make_tar_gz(tmp_path / "site.tgz", [tar_file(n) for n in PROJECT], PROJECT)
    # When it is posted as a job with files
    response = await post_upload(client, archive.read_bytes(), filename=archive.name)
    # Then the job is accepted at once, with its files kept under uploads/<job id>/
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert job_id in stored(uploads_root)
    assert (uploads_root / job_id / "file").read_bytes() == archive.read_bytes()
    # and the worker unpacks it with the shared extractor
    job = await wait_terminal(client, job_id)
    assert job["status"] == "succeeded", job
    assert job["params"] == {"label": "mine"}
    result = job["result"]
    assert result["files"] == ["index.html", "package.json", "src/main.ts"]
    assert result["contents"]["src/main.ts"] == "console.log(1)\n"
    upload = result["upload"]["file"]
    assert (upload["filename"], upload["size"]) == (archive.name, archive.stat().st_size)


async def test_a_part_that_is_not_an_archive_is_kept_as_sent(
    client: httpx.AsyncClient, worker: ServiceProcess, uploads_root: Path, tmp_path: Path
) -> None:
    # Given the kind's "notes" part, which is not declared an archive
    archive = make_zip(tmp_path / "site.zip", PROJECT).read_bytes()
    response = await client.post(
        "/api/jobs",
        data={"kind": "test_upload", "params": "{}"},
        files={"file": ("site.zip", archive), "notes": ("notes.txt", b"plain text, not an archive")},
    )
    # Then it is accepted and stored next to the archive, byte for byte
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert (uploads_root / job_id / "notes").read_bytes() == b"plain text, not an archive"
    job = await wait_terminal(client, job_id)
    assert job["status"] == "succeeded"
    assert set(job["result"]["upload"]) == {"file", "notes"}


REFUSED: list[tuple[str, Callable[[Path], Path], str, str]] = [
    ("absolute", lambda p: make_zip(p / "a.zip", {"/etc/cron.d/x": b"x"}), "/etc/cron.d/x", "absolute_path"),
    ("dotdot", lambda p: make_zip(p / "a.zip", {"ok": b"", "../../evil": b"x"}), "../../evil", "parent_reference"),
    ("symlink", lambda p: symlink_zip(p / "a.zip"), "link", "link"),
    (
        "hardlink",
        lambda p: make_tar_gz(p / "a.tgz", [tar_special("h", tarfile.LNKTYPE, "/etc/passwd")]),
        "h",
        "link",
    ),
    ("device", lambda p: make_tar_gz(p / "a.tgz", [tar_special("d", tarfile.CHRTYPE)]), "d", "special_file"),
    ("fifo", lambda p: make_tar_gz(p / "a.tgz", [tar_special("f", tarfile.FIFOTYPE)]), "f", "special_file"),
    ("overlapping-bomb", lambda p: overlapping_zip_bomb(p / "a.zip"), "a", "overlapping_entries"),
    # The kind allows 5 MB unpacked: 6 MB of zeros is a few kB zipped.
    ("too-large", lambda p: make_zip(p / "a.zip", {"a": b"\0" * 3_000_000, "b": b"\0" * 3_000_000}), "b", "too_large"),
    # ... and 50 entries.
    ("too-many", lambda p: make_zip(p / "a.zip", {f"f{i}": b"x" for i in range(51)}), "f50", "too_many_entries"),
    ("not-an-archive", lambda p: (p / "a.zip").write_text("hello") and p / "a.zip", "", "unsupported_format"),
]


@pytest.mark.parametrize(("build", "entry", "rule"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
async def test_a_refused_archive_is_a_400_naming_entry_and_rule_and_leaves_nothing(
    client: httpx.AsyncClient,
    uploads_root: Path,
    tmp_path: Path,
    build: Callable[[Path], Path],
    entry: str,
    rule: str,
) -> None:
    before = stored(uploads_root)
    response = await post_upload(client, build(tmp_path).read_bytes())
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "archive_refused"
    assert (error["details"]["part"], error["details"]["entry"], error["details"]["rule"]) == ("file", entry, rule)
    assert error["message"].startswith("The archive 'site.zip' was refused: ")
    assert stored(uploads_root) == before
    assert await job_count(client) == 0


async def test_an_upload_over_the_cap_is_a_413_and_leaves_nothing(
    client: httpx.AsyncClient, uploads_root: Path
) -> None:
    before = stored(uploads_root)
    response = await post_upload(client, b"\1" * (CAP + 100_000))
    assert response.status_code == 413, response.text
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": f"The upload is larger than the limit of {CAP} bytes (0.953674 MB).",
        "details": {"limit_bytes": CAP},
    }
    assert stored(uploads_root) == before
    assert await job_count(client) == 0


async def test_an_announced_size_over_the_cap_is_refused_before_reading(
    client: httpx.AsyncClient, upload_api: str
) -> None:
    # Given a request that announces 1 GB (and sends nothing more): the answer comes without the body
    token = client.headers["Authorization"]
    status = await raw_status(
        upload_api,
        b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: " + token.encode() + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000000\r\n\r\n",
    )
    assert status.startswith(b"HTTP/1.1 413"), status


async def test_a_kind_that_needs_files_cannot_be_sent_as_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/jobs", json={"kind": "test_upload", "params": {}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "files_required"
    assert "multipart/form-data" in response.json()["error"]["message"]


async def test_files_for_a_kind_that_takes_none_are_refused(
    client: httpx.AsyncClient, uploads_root: Path, tmp_path: Path
) -> None:
    before = stored(uploads_root)
    response = await post_upload(client, make_zip(tmp_path / "a.zip", PROJECT).read_bytes(), kind="test_noop")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "files_not_accepted"
    assert stored(uploads_root) == before


async def test_bad_form_fields_are_400s(client: httpx.AsyncClient, uploads_root: Path, tmp_path: Path) -> None:
    before = stored(uploads_root)
    archive = make_zip(tmp_path / "a.zip", PROJECT).read_bytes()
    bad_json = await client.post(
        "/api/jobs", data={"kind": "test_upload", "params": "{nope"}, files={"file": ("a.zip", archive)}
    )
    assert (bad_json.status_code, bad_json.json()["error"]["code"]) == (400, "invalid_params")
    missing = await client.post("/api/jobs", data={"kind": "test_upload"}, files={"notes": ("n.txt", b"hi")})
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "file_required")
    unknown = await client.post(
        "/api/jobs", data={"kind": "test_upload"}, files={"file": ("a.zip", archive), "x": ("x", b"")}
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "unknown_file_part")
    assert stored(uploads_root) == before
    assert await job_count(client) == 0


async def raw_status(api: str, request: bytes) -> bytes:
    host, port = api.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return status


async def test_json_bodies_stay_bounded_on_the_route_that_takes_uploads(
    client: httpx.AsyncClient, upload_api: str
) -> None:
    # createJob lifts Litestar's body limit for multipart; a JSON body must still announce a length under 10 MB
    head = b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: " + client.headers["Authorization"].encode()
    chunked = head + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert (await raw_status(upload_api, chunked)).startswith(b"HTTP/1.1 411")
    huge = head + b"\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\n\r\n"
    assert (await raw_status(upload_api, huge)).startswith(b"HTTP/1.1 413")
