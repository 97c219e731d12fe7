"""A Vite + TypeScript build through the service against the same commands run directly in a shell, and the
answer time of a cache hit.

The peer, in the same run: ``npm ci --offline``, ``tsc --noEmit`` and ``npm run build -- --base=./``, one after
the other in a fresh copy of the project: the commands the service runs, in the environment the service gives
them (its clean environment: the same variables, the same heap limit, npm's same cache; nothing of this
process's, e.g. a ``NODE_EXTRA_CA_CERTS`` that costs every Node start 0.3 s), without a sandbox or a worker.
Ours: ``POST /api/jobs`` with the project's zip -> the terminal status, seen on the job's SSE stream as a
browser sees it (polling instead would load the API during the build). Neither reuses node_modules: the
worker's node_modules cache is emptied before each run, so both install for real (from npm's cache, offline;
`make bench` fills it). Runs alternate (peer, ours, peer, ours, ...) so the machine's noise hits both; medians
are compared, and where the service's time goes is printed step by step (``breakdown``), from the client's
clock, the job's audit events in Postgres and the handler's own step timings. The cache hit: the same archive
again, ``POST`` -> ``succeeded`` with ``cached: true``.
"""

from __future__ import annotations

import os
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

from actors.kinds.build.settings import BuildSettings
from tests.bench.common import HOST, BenchEnv, BenchResult
from tests.bench.procstats import MachineLoad, cpu_seconds, process_tree
from tests.support.archives import make_zip
from tests.support.build_projects import vite_project

NAME = "build_overhead"
GOAL_RATIO = 1.15
GOAL_CACHE_HIT_MS = 200.0
SHELL_STEPS = {
    "install": ["npm", "ci", "--offline", "--no-audit", "--no-fund"],
    "typecheck": ["node_modules/.bin/tsc", "--noEmit", "--pretty", "false"],
    "build": ["npm", "run", "build", "--", "--base=./"],
}
TERMINAL = {"succeeded", "failed", "cancelled", "timed_out"}


def _shell_env(work: str) -> dict[str, str]:
    """What the build kind gives its programs (``actors.kinds.build.job``), with the default memory limit."""
    settings = BuildSettings()
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": work,
        "LANG": "C.UTF-8",
        "NODE_OPTIONS": f"--max-old-space-size={settings.node_heap_mb}",
        "CI": "true",
        "NO_COLOR": "1",
        "npm_config_update_notifier": "false",
        "npm_config_cache": os.environ.get("BUILD_NPM_CACHE") or settings.npm_cache_dir(),
    }


def _shell_build(archive: Path) -> tuple[float, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="bench-build-") as work:
        steps: dict[str, float] = {}
        started = time.monotonic()
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(work)
        steps["extract"] = time.monotonic() - started
        for step, argv in SHELL_STEPS.items():
            begun = time.monotonic()
            subprocess.run(argv, cwd=work, env=_shell_env(work), check=True, capture_output=True)
            steps[step] = time.monotonic() - begun
        # The folder's removal is left out, as the service removes its working folder after the result.
        return time.monotonic() - started, steps


def _service_build(client: httpx.Client, archive: Path) -> tuple[float, dict[str, Any], dict[str, float]]:
    """(seconds from POST to the terminal status on the SSE stream, the job, client-side wall-clock marks)."""
    data = archive.read_bytes()
    started, wall_start = time.monotonic(), time.time()
    response = client.post(
        "/api/jobs", data={"kind": "build", "params": "{}"}, files={"file": ("p.zip", data, "application/zip")}
    )
    response.raise_for_status()
    answered = time.time()
    job_id = response.json()["id"]
    # The stream ends after the job's terminal status event.
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        for _ in stream.iter_lines():
            pass
    elapsed, seen = time.monotonic() - started, time.time()
    job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
    if job["status"] != "succeeded":
        raise RuntimeError(f"build {job_id} ended {job['status']}: {job['error']}")
    return elapsed, job, {"post": wall_start, "answered": answered, "seen": seen}


def _breakdown(client: httpx.Client, job: dict[str, Any], marks: dict[str, float]) -> dict[str, float]:
    """Seconds of each stretch of one service build, in order (they add up to the client's total)."""
    history = client.get(f"/api/jobs/{job['id']}/history").json()
    at = {e["to_status"]: datetime.fromisoformat(e["at"]).timestamp() for e in history if e["to_status"]}
    result = job["result"]
    run = at["succeeded"] - at["running"]
    if result.get("cached"):
        # The result (and its step timings) is the earlier build's: only the run as a whole is this job's.
        inside: dict[str, float] = {"run": run}
    else:
        handler = float(result["total_seconds"])
        steps = {f"handler.{k}": float(v) for k, v in result["seconds"].items()}
        inside = {
            **steps,
            # The handler's bookkeeping between its steps (progress, logs, publishing the site).
            "handler.other": handler - sum(steps.values()),
            # From the claim to the recorded success, outside the handler (slot, folders, the result).
            "worker_other": run - handler,
        }
    return {
        # Upload, checks, the row and the message; until the client has the answer.
        "post": marks["answered"] - marks["post"],
        # The message waiting for an idle worker, and the claim.
        "pickup": at["running"] - at["queued"],
        **inside,
        # The success event reaching the client's SSE stream (and the stream's end).
        "notice": marks["seen"] - at["succeeded"],
    }


def _cpu(pids: list[int]) -> float:
    """CPU seconds the service's own processes have used (not their children: npm, node)."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def _medians(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    return {k: round(statistics.median(row.get(k, 0.0) for row in rows), 3) for k in keys}


def run(env: BenchEnv, quick: bool) -> BenchResult:
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise RuntimeError("node and npm are needed (apt-get install nodejs npm)")
    runs = 2 if quick else 9
    env.env.update({"BUILD_NPM_OFFLINE": "1"})
    api, port = env.start_api(name=NAME + "-api")
    worker = env.start_worker(port, processes=1, threads=2, name=NAME + "-worker")
    # The worker's Python processes, taken before any build: its programs' CPU is not the service's.
    service_pids = {"api": [api.pid], "worker": process_tree(worker.pid)}
    cpu_per_build: list[dict[str, float]] = []
    load = MachineLoad()
    modules_cache = Path(env.env["ARTIFACTS_DIR"]) / "build-cache"
    shell: list[float] = []
    ours: list[float] = []
    shell_steps: list[dict[str, float]] = []
    breakdowns: list[dict[str, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-archives-") as tmp,
        httpx.Client(base_url=f"http://{HOST}:{port}", headers=env.auth_headers, timeout=600) as client,
    ):
        archives = [make_zip(Path(tmp) / f"{i}.zip", vite_project(marker=uuid.uuid4().hex)) for i in range(runs + 1)]
        # Warm-up (the first Node start, the disk cache), not counted.
        _shell_build(archives[0])
        shutil.rmtree(modules_cache, ignore_errors=True)
        _service_build(client, archives[0])
        for archive in archives[1:]:
            seconds, steps = _shell_build(archive)
            shell.append(seconds)
            shell_steps.append(steps)
            shutil.rmtree(modules_cache, ignore_errors=True)
            before = {name: _cpu(pids) for name, pids in service_pids.items()}
            elapsed, job, marks = _service_build(client, archive)
            cpu_per_build.append({name: _cpu(pids) - before[name] for name, pids in service_pids.items()})
            ours.append(elapsed)
            breakdowns.append(_breakdown(client, job, marks))
        hits = []
        hit_timeline: list[dict[str, float]] = []
        for _ in range(3 if quick else 10):
            elapsed, job, marks = _service_build(client, archives[-1])
            if not job["result"].get("cached"):
                raise RuntimeError("the same archive again was not a cache hit")
            hits.append(elapsed * 1000)
            hit_timeline.append({k: round(v * 1000, 1) for k, v in _breakdown(client, job, marks).items()})
    shell_s, ours_s = statistics.median(shell), statistics.median(ours)
    ratio = ours_s / shell_s
    ratios = [o / s for o, s in zip(ours, shell, strict=True)]
    busy_cores = load.busy_cores()
    best_ratio = min(ours) / min(shell)
    hit_ms = statistics.median(hits)
    hit_breakdown = _medians(hit_timeline)
    breakdown = _medians(breakdowns)
    shell_breakdown = _medians(shell_steps)
    figures = {
        "runs": runs,
        "shell_seconds": [round(s, 2) for s in shell],
        "service_seconds": [round(s, 2) for s in ours],
        "pair_ratios": [round(r, 3) for r in ratios],
        "shell_median_seconds": round(shell_s, 2),
        "service_median_seconds": round(ours_s, 2),
        "overhead_ratio": round(ratio, 3),
        "median_pair_ratio": round(statistics.median(ratios), 3),
        # Fastest against fastest: the least disturbed run of each, steadier on a busy machine.
        "best_of_runs_ratio": round(best_ratio, 3),
        "machine_busy_cores": round(busy_cores, 2),
        "service_cpu_seconds_per_build": _medians(cpu_per_build),
        "shell_step_median_seconds": shell_breakdown,
        "service_breakdown_median_seconds": breakdown,
        "service_breakdowns": [{k: round(v, 3) for k, v in b.items()} for b in breakdowns],
        "cache_hit_ms": [round(h, 1) for h in hits],
        "cache_hit_median_ms": round(hit_ms, 1),
        "cache_hit_breakdown_ms": hit_timeline,
    }
    stretch = ", ".join(f"{k} {v:.2f}" for k, v in breakdown.items())
    shell_stretch = ", ".join(f"{k} {v:.2f}" for k, v in shell_breakdown.items())
    return BenchResult(
        NAME,
        f"Vite+TS build: service {ours_s:.2f} s vs shell {shell_s:.2f} s, overhead ratio {ratio:.2f} "
        f"(median of the {runs} pairs' ratios {statistics.median(ratios):.2f}, best against best "
        f"{best_ratio:.2f}; machine {busy_cores:.1f} of {os.cpu_count()} cores busy); "
        f"cache hit answered in {hit_ms:.0f} ms (median of {len(hits)})",
        figures,
        goal=f"overhead ratio <= {GOAL_RATIO}; cache hit < {GOAL_CACHE_HIT_MS:.0f} ms",
        goal_met=ratio <= GOAL_RATIO and hit_ms < GOAL_CACHE_HIT_MS,
        notes=[
            f"service, median seconds: {stretch}",
            f"shell, median seconds: {shell_stretch}",
            "service's own processes, median CPU seconds per build: "
            + ", ".join(f"{k} {v:.2f}" for k, v in _medians(cpu_per_build).items()),
            "cache hit, median ms: " + ", ".join(f"{k} {v:.0f}" for k, v in hit_breakdown.items()),
        ],
    )
