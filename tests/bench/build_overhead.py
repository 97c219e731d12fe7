"""A Vite + TypeScript build through the service against the same commands run directly in a shell, and the
answer time of a cache hit.

The peer, in the same run: ``npm ci --offline``, ``tsc --noEmit`` and ``npm run build -- --base=./``, one after
the other in a fresh copy of the project: the commands the service runs, in the environment the service gives
them (its clean environment: the same variables, the same heap limit, npm's same cache; nothing of this
process's, e.g. a ``NODE_EXTRA_CA_CERTS`` that costs every Node start 0.3 s), without a sandbox or a worker.
Ours: ``POST /api/jobs`` with the project's zip -> the terminal status, seen on the job's SSE stream as a
browser sees it (polling instead would load the API during the build). Neither reuses node_modules: the
worker's node_modules cache is emptied before each run, so both install for real (from npm's cache, offline;
`make bench` fills it). Each side's programs run in a session of their own (the service's runner does that;
the peer's ``subprocess`` calls too), so that Linux's autogroup gives each the same kind of CPU share.

Statistics (``tests.bench.paired``): runs are taken in pairs, one of each side back to back, the order
alternating; the goal is read on the median of the pairs' ratios and printed with its confidence interval,
because on this shared machine the load changes several-fold between pairs while the two runs of a pair see
nearly the same. Beside it, load-free figures: the CPU the service's own processes use per build against the
CPU of the build's programs (measured on the peer's side, where no sandbox hides it), and the cost of starting
a program in the sandbox. Where the service's time goes is printed step by step (``breakdown``), from the
client's clock, the job's audit events in Postgres and the handler's own step timings. The cache hit: the same
archive again, ``POST`` -> ``succeeded`` with ``cached: true``.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from actors.kinds.build.settings import BuildSettings
from actors.process import ProcessLimits, SandboxPolicy, sandbox_available
from actors.process.limits import prlimit_argv
from actors.process.sandbox import sandbox_argv
from tests.bench.common import HOST, BenchEnv, BenchResult
from tests.bench.paired import PairedRatio, b_first, paired_ratio
from tests.bench.procstats import MachineLoad, cpu_seconds, database_cpu_seconds, process_tree
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
# CPU seconds used so far, by part of the service.
Meters = dict[str, Callable[[], float]]


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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _shell_build(archive: Path) -> tuple[float, dict[str, float], float]:
    """(seconds, seconds per step, CPU seconds of the programs)."""
    with tempfile.TemporaryDirectory(prefix="bench-build-") as work:
        steps: dict[str, float] = {}
        cpu = _children_cpu()
        started = time.monotonic()
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(work)
        steps["extract"] = time.monotonic() - started
        for step, argv in SHELL_STEPS.items():
            begun = time.monotonic()
            subprocess.run(
                argv, cwd=work, env=_shell_env(work), check=True, capture_output=True, start_new_session=True
            )
            steps[step] = time.monotonic() - begun
        # The folder's removal is left out, as the service removes its working folder after the result.
        return time.monotonic() - started, steps, _children_cpu() - cpu


def _sandbox_start_ms(work: Path, runs: int = 15) -> float | None:
    """Milliseconds a program's start costs in the build's sandbox and limits (``true`` wrapped against bare,
    alternating; medians); None without bubblewrap."""
    if not sandbox_available():
        return None
    policy = SandboxPolicy(writable=(str(work),), hidden=(str(work / "hidden"),))
    limits = ProcessLimits(cpu_seconds=BuildSettings().cpu_seconds)
    wrapped = [*prlimit_argv(limits, "prlimit"), *sandbox_argv(policy, work), "true"]
    times: dict[bool, list[float]] = {False: [], True: []}
    for i in range(2 * runs):
        sandboxed = i % 2 == 1
        started = time.monotonic()
        subprocess.run(wrapped if sandboxed else ["true"], cwd=work, check=True, start_new_session=True)
        times[sandboxed].append(time.monotonic() - started)
    return (statistics.median(times[True]) - statistics.median(times[False])) * 1000


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


def _pair(client: httpx.Client, archive: Path, cache: Path, service_first: bool, meters: Meters) -> dict[str, Any]:
    """One build of each side, back to back; the service's first when ``service_first`` (its node_modules
    ``cache`` emptied first)."""
    row: dict[str, Any] = {}

    def service() -> None:
        shutil.rmtree(cache, ignore_errors=True)
        before = {name: meter() for name, meter in meters.items()}
        row["service"], job, marks = _service_build(client, archive)
        row["service_cpu"] = {name: meter() - before[name] for name, meter in meters.items()}
        row["breakdown"] = _breakdown(client, job, marks)

    def shell() -> None:
        row["shell"], row["shell_steps"], row["shell_cpu"] = _shell_build(archive)

    for side in (service, shell) if service_first else (shell, service):
        side()
    return row


def _summary(paired: PairedRatio, runs: int, busy: float, own_cpu: float, programs_cpu: float) -> str:
    return (  # the goal's figure first
        f"Vite+TS build through the service vs the same commands in a shell: overhead {paired.median:.2f} "
        f"(median of {runs} pairs' ratios; {paired.confidence:.0%} interval {paired.low:.2f}-{paired.high:.2f}; "
        f"ratio of medians {paired.ratio_of_medians:.2f}; machine {busy:.1f} of {os.cpu_count()} cores busy); "
        f"service's own CPU {own_cpu:.2f} s per build, "
        f"{own_cpu / programs_cpu:.0%} of its programs' {programs_cpu:.2f} s"
    )


def run(env: BenchEnv, quick: bool) -> BenchResult:
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise RuntimeError("node and npm are needed (apt-get install nodejs npm)")
    runs = 2 if quick else 11
    env.env.update({"BUILD_NPM_OFFLINE": "1"})
    api, port = env.start_api(name=NAME + "-api")
    worker = env.start_worker(port, processes=1, threads=2, name=NAME + "-worker")
    # The worker's Python processes, taken before any build: its programs' CPU is not the service's. Postgres:
    # the backends of this run's database (Redis is shared with the other runs on the machine: not counted).
    worker_pids = process_tree(worker.pid)
    meters: Meters = {
        "api": lambda: _cpu([api.pid]),
        "worker": lambda: _cpu(worker_pids),
        "postgres": lambda: database_cpu_seconds(env.database_name),
    }
    load = MachineLoad()
    modules_cache = Path(env.env["ARTIFACTS_DIR"]) / "build-cache"
    with (
        tempfile.TemporaryDirectory(prefix="bench-archives-") as tmp,
        httpx.Client(base_url=f"http://{HOST}:{port}", headers=env.auth_headers, timeout=600) as client,
    ):
        archives = [make_zip(Path(tmp) / f"{i}.zip", vite_project(marker=uuid.uuid4().hex)) for i in range(runs + 1)]
        # Warm-up (the first Node start, the disk cache), not counted.
        _shell_build(archives[0])
        shutil.rmtree(modules_cache, ignore_errors=True)
        _service_build(client, archives[0])
        rows = [_pair(client, a, modules_cache, b_first(i), meters) for i, a in enumerate(archives[1:])]
        hits = []
        hit_timeline: list[dict[str, float]] = []
        for _ in range(3 if quick else 10):
            elapsed, job, marks = _service_build(client, archives[-1])
            if not job["result"].get("cached"):
                raise RuntimeError("the same archive again was not a cache hit")
            hits.append(elapsed * 1000)
            hit_timeline.append({k: round(v * 1000, 1) for k, v in _breakdown(client, job, marks).items()})
        sandbox_ms = _sandbox_start_ms(Path(tmp))
    shell = [r["shell"] for r in rows]
    ours = [r["service"] for r in rows]
    paired = paired_ratio(shell, ours)
    busy_cores = load.busy_cores()
    hit_ms = statistics.median(hits)
    breakdown = _medians([r["breakdown"] for r in rows])
    shell_breakdown = _medians([r["shell_steps"] for r in rows])
    service_cpu = _medians([r["service_cpu"] for r in rows])
    own_cpu = sum(service_cpu.values())
    programs_cpu = statistics.median(r["shell_cpu"] for r in rows)
    figures = {
        "runs": runs,
        "shell_seconds": [round(s, 2) for s in shell],
        "service_seconds": [round(s, 2) for s in ours],
        "pair_ratios": [round(r, 3) for r in paired.ratios],
        "overhead_ratio": round(paired.median, 3),
        "overhead_interval": [round(paired.low, 3), round(paired.high, 3)],
        "overhead_interval_confidence": round(paired.confidence, 3),
        "ratio_of_medians": round(paired.ratio_of_medians, 3),
        "shell_median_seconds": round(statistics.median(shell), 2),
        "service_median_seconds": round(statistics.median(ours), 2),
        "machine_busy_cores": round(busy_cores, 2),
        "service_cpu_seconds_per_build": service_cpu,
        "programs_cpu_seconds_per_build": round(programs_cpu, 3),
        "service_cpu_share_of_programs": round(own_cpu / programs_cpu, 3),
        "sandbox_start_ms_per_program": None if sandbox_ms is None else round(sandbox_ms, 1),
        "shell_step_median_seconds": shell_breakdown,
        "service_breakdown_median_seconds": breakdown,
        "service_breakdowns": [{k: round(v, 3) for k, v in r["breakdown"].items()} for r in rows],
        "cache_hit_ms": [round(h, 1) for h in hits],
        "cache_hit_median_ms": round(hit_ms, 1),
        "cache_hit_breakdown_ms": hit_timeline,
    }
    stretch = ", ".join(f"{k} {v:.2f}" for k, v in breakdown.items())
    shell_stretch = ", ".join(f"{k} {v:.2f}" for k, v in shell_breakdown.items())
    sandbox_note = "no bubblewrap" if sandbox_ms is None else f"{sandbox_ms:.0f} ms per program (3 per build)"
    return BenchResult(
        NAME,
        f"{_summary(paired, runs, busy_cores, own_cpu, programs_cpu)}; cache hit answered in {hit_ms:.0f} ms "
        f"(median of {len(hits)})",
        figures,
        goal=f"overhead (median of the pairs' ratios) <= {GOAL_RATIO}; cache hit < {GOAL_CACHE_HIT_MS:.0f} ms",
        goal_met=paired.median <= GOAL_RATIO and hit_ms < GOAL_CACHE_HIT_MS,
        notes=[
            "pairs' ratios (service/shell, in run order): " + ", ".join(f"{r:.2f}" for r in paired.ratios),
            f"service, median seconds: {stretch}",
            f"shell, median seconds: {shell_stretch}",
            "service's own processes, median CPU seconds per build: "
            + ", ".join(f"{k} {v:.2f}" for k, v in service_cpu.items()),
            f"starting a program in the sandbox and limits: {sandbox_note}",
            "cache hit, median ms: " + ", ".join(f"{k} {v:.0f}" for k, v in _medians(hit_timeline).items()),
        ],
    )
