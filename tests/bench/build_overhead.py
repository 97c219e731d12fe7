"""A Vite + TypeScript build through the service against the same commands run directly in a shell, and the
answer time of a cache hit.

The peer, in the same run: ``npm ci --offline && tsc --noEmit && npm run build -- --base=./`` in bash, in a
fresh copy of the project (the commands the service runs, without it). Ours: ``POST /api/jobs`` with the
project's zip -> the terminal status, read by polling ``GET /api/jobs/{id}`` every 20 ms; the worker's
node_modules cache is emptied before each run, so both install for real (from npm's cache, offline; `make
bench` fills it). Runs alternate (peer, ours, peer, ours, ...) so the machine's noise hits both; medians are
compared. The cache hit: the same archive again, ``POST`` -> ``succeeded`` with ``cached: true``.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.bench.common import HOST, BenchEnv, BenchResult
from tests.support.archives import make_zip
from tests.support.build_projects import vite_project

NAME = "build_overhead"
GOAL_RATIO = 1.15
GOAL_CACHE_HIT_MS = 200.0
SHELL_COMMANDS = (
    "npm ci --offline --no-audit --no-fund && node_modules/.bin/tsc --noEmit --pretty false "
    "&& npm run build -- --base=./"
)


def _shell_build(archive: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-build-") as work:
        started = time.monotonic()
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(work)
        subprocess.run(["bash", "-c", SHELL_COMMANDS], cwd=work, check=True, capture_output=True)
        return time.monotonic() - started


def _service_build(client: httpx.Client, archive: Path, poll: float) -> tuple[float, dict[str, Any]]:
    data = archive.read_bytes()
    started = time.monotonic()
    response = client.post(
        "/api/jobs", data={"kind": "build", "params": "{}"}, files={"file": ("p.zip", data, "application/zip")}
    )
    response.raise_for_status()
    job_id = response.json()["id"]
    while True:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in {"succeeded", "failed", "cancelled", "timed_out"}:
            elapsed = time.monotonic() - started
            if job["status"] != "succeeded":
                raise RuntimeError(f"build {job_id} ended {job['status']}: {job['error']}")
            return elapsed, job
        time.sleep(poll)


def _timeline(job: dict[str, Any]) -> dict[str, float]:
    """Milliseconds from creation to the worker's claim, and from the claim to the end."""
    created, started, finished = (datetime.fromisoformat(job[k]) for k in ("created_at", "started_at", "finished_at"))
    return {
        "queued_ms": round((started - created).total_seconds() * 1000, 1),
        "running_ms": round((finished - started).total_seconds() * 1000, 1),
    }


def run(env: BenchEnv, quick: bool) -> BenchResult:
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise RuntimeError("node and npm are needed (apt-get install nodejs npm)")
    runs = 1 if quick else 3
    env.env.update({"BUILD_NPM_OFFLINE": "1"})
    _, port = env.start_api(name=NAME + "-api")
    env.start_worker(port, processes=1, threads=2, name=NAME + "-worker")
    modules_cache = Path(env.env["ARTIFACTS_DIR"]) / "build-cache"
    shell: list[float] = []
    ours: list[float] = []
    steps: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-archives-") as tmp,
        httpx.Client(base_url=f"http://{HOST}:{port}", headers=env.auth_headers, timeout=600) as client,
    ):
        archives = [make_zip(Path(tmp) / f"{i}.zip", vite_project(marker=uuid.uuid4().hex)) for i in range(runs + 1)]
        # Warm-up (the first Node start, the disk cache), not counted.
        _shell_build(archives[0])
        shutil.rmtree(modules_cache, ignore_errors=True)
        _service_build(client, archives[0], 0.05)
        for archive in archives[1:]:
            shell.append(_shell_build(archive))
            shutil.rmtree(modules_cache, ignore_errors=True)
            elapsed, job = _service_build(client, archive, 0.05)
            ours.append(elapsed)
            steps.append({**job["result"]["seconds"], "handler": job["result"]["total_seconds"]})
        hits = []
        hit_timeline: list[dict[str, float]] = []
        for _ in range(3 if quick else 10):
            elapsed, job = _service_build(client, archives[-1], 0.01)
            if not job["result"].get("cached"):
                raise RuntimeError("the same archive again was not a cache hit")
            hits.append(elapsed * 1000)
            hit_timeline.append(_timeline(job))
    shell_s, ours_s = statistics.median(shell), statistics.median(ours)
    ratio = ours_s / shell_s
    hit_ms = statistics.median(hits)
    figures = {
        "runs": runs,
        "shell_seconds": [round(s, 2) for s in shell],
        "service_seconds": [round(s, 2) for s in ours],
        "shell_median_seconds": round(shell_s, 2),
        "service_median_seconds": round(ours_s, 2),
        "overhead_ratio": round(ratio, 3),
        "service_step_seconds": steps,
        "cache_hit_ms": [round(h, 1) for h in hits],
        "cache_hit_median_ms": round(hit_ms, 1),
        "cache_hit_timeline_ms": hit_timeline,
    }
    return BenchResult(
        NAME,
        f"Vite+TS build: service {ours_s:.2f} s vs shell {shell_s:.2f} s, overhead ratio {ratio:.2f}; "
        f"cache hit answered in {hit_ms:.0f} ms (median of {len(hits)})",
        figures,
        goal=f"overhead ratio <= {GOAL_RATIO}; cache hit < {GOAL_CACHE_HIT_MS:.0f} ms",
        goal_met=ratio <= GOAL_RATIO and hit_ms < GOAL_CACHE_HIT_MS,
    )
