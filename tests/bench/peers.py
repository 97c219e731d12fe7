"""Trivial jobs against peer job queues, same shape, same run: Celery (Redis broker and result backend) and
Procrastinate (Postgres), beside ours and bare Dramatiq.

The shape: N no-op jobs from 8 concurrent producers, one worker with concurrency 8, timed from the first
submission until every job has succeeded. Ours is the ``throughput`` benchmark's run (POST /api/jobs ->
worker -> terminal SSE event); Celery's worker is ``--pool threads --concurrency 8`` and its producers wait
on the result backend; Procrastinate's worker is ``--concurrency 8`` and its producers poll the jobs table.
Each peer is installed by this benchmark from PyPI into its own virtualenv under
``test-artifacts/bench-peers/`` (kept between runs; with uv when available), so neither is a dependency of
the project. The peers' programs are ``tests/bench/peer_apps/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bench import throughput
from tests.bench.common import LOG_DIR, BenchEnv, BenchResult, install_uvloop
from tests.bench.procstats import database_cpu_seconds, tree_cpu_seconds
from tests.support.services import ROOT, create_database, drop_database, unique_name

NAME = "peers"
PEER_DIR = ROOT / "test-artifacts" / "bench-peers"
APPS = Path(__file__).parent / "peer_apps"
CELERY_PACKAGES = ("celery[redis]>=5.4",)
PROCRASTINATE_PACKAGES = ("procrastinate>=3", "psycopg[binary,pool]>=3.2")
WORKER_CONCURRENCY = 8


@dataclass(frozen=True)
class Plan:
    jobs: int
    baseline_messages: int


FULL = Plan(jobs=2000, baseline_messages=5000)
QUICK = Plan(jobs=300, baseline_messages=2000)


@dataclass
class PeerRun:
    jobs: int
    succeeded: int
    seconds: float
    worker_cpu: float
    db_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.succeeded / self.seconds if self.seconds else 0.0


def peer_python(name: str, packages: tuple[str, ...]) -> Path:
    """The Python of the peer's own virtualenv, made (or brought up to ``packages``) on first use."""
    venv = PEER_DIR / f"{name}-venv"
    python = venv / "bin" / "python"
    marker = venv / "installed.txt"
    wanted = "\n".join(packages)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    uv = shutil.which("uv")
    print(f"  {NAME}: installing {', '.join(packages)} into {venv}", flush=True)
    if uv:
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), *packages], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True)
    marker.write_text(wanted)
    return python


def _peer_env(extra: dict[str, str]) -> dict[str, str]:
    # Only what the peer needs: none of the project's settings or paths leak into its interpreter.
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return {**keep, "PYTHONPATH": str(APPS), "PYTHONUNBUFFERED": "1", **extra}


def _run_peer(
    name: str, worker_argv: list[str], producer_argv: list[str], env: dict[str, str], db: str | None
) -> PeerRun:
    log = (LOG_DIR / f"{NAME}-{name}-worker.log").open("ab")
    worker = subprocess.Popen(
        worker_argv, env=env, cwd=APPS, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        time.sleep(3)  # the producer's warm-up waits for the worker anyway
        if worker.poll() is not None:
            raise RuntimeError(f"the {name} worker exited at start; see {log.name}")
        cpu, db_cpu = tree_cpu_seconds(worker.pid), database_cpu_seconds(db) if db else 0.0
        done = subprocess.run(producer_argv, env=env, cwd=APPS, capture_output=True, text=True, timeout=900)
        cpu, db_cpu = tree_cpu_seconds(worker.pid) - cpu, (database_cpu_seconds(db) - db_cpu) if db else 0.0
        if done.returncode != 0:
            raise RuntimeError(f"the {name} producer failed: {done.stderr[-2000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
        log.close()
    # Worker CPU counts the warm-up's 10 jobs too: negligible beside N.
    return PeerRun(figures["jobs"], figures["succeeded"], figures["seconds"], cpu, db_cpu)


def _celery(env: BenchEnv, plan: Plan) -> PeerRun:
    python = peer_python("celery", CELERY_PACKAGES)
    peer_env = _peer_env({"PEER_REDIS_URL": env.redis_url})
    worker = [str(python), "-m", "celery", "-A", "celery_peer", "worker", "--pool", "threads"]
    worker += [
        "--concurrency",
        str(WORKER_CONCURRENCY),
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
    ]
    return _run_peer("celery", worker, [str(python), "-m", "celery_peer", str(plan.jobs)], peer_env, None)


def _procrastinate(env: BenchEnv, plan: Plan) -> PeerRun:
    python = peer_python("procrastinate", PROCRASTINATE_PACKAGES)
    name = unique_name("genjobs_bench_procrastinate")
    url = create_database(env.admin_url, name)
    try:
        peer_env = _peer_env({"PEER_DATABASE_URL": url})
        # Imported rather than run as ``__main__``: Procrastinate wants its app in an importable module.
        cli = [str(python), "-c", "import sys, procrastinate_peer; procrastinate_peer.cli(sys.argv[1:])"]
        subprocess.run([*cli, "schema"], env=peer_env, cwd=APPS, check=True)
        worker = [str(python), "-m", "procrastinate", "--app=procrastinate_peer.app", "worker"]
        worker += ["--concurrency", str(WORKER_CONCURRENCY)]
        producer = [*cli, str(plan.jobs)]
        return _run_peer("procrastinate", worker, producer, peer_env, name)
    finally:
        drop_database(env.admin_url, name)


def run(env: BenchEnv, quick: bool) -> BenchResult:
    plan = QUICK if quick else FULL
    shape = throughput.Plan(jobs=plan.jobs, baseline_messages=plan.baseline_messages)
    # The peers first: installing them (first run only) is no load on the others' figures.
    celery = _celery(env, plan)
    print(f"  {NAME}: Celery {celery.rate:.0f} jobs/s", flush=True)
    procrastinate = _procrastinate(env, plan)
    print(f"  {NAME}: Procrastinate {procrastinate.rate:.0f} jobs/s", flush=True)
    env.reset()
    base_done, base_seconds, _ = throughput._baseline(env, shape)
    base_rate = base_done / base_seconds
    api, port = env.start_api(name=NAME + "-api")
    worker = env.start_worker(port, processes=1, threads=WORKER_CONCURRENCY, name=NAME + "-worker")
    install_uvloop()
    ours = asyncio.run(throughput._ours(env, port, shape, (api.pid, worker.pid)))
    rate = ours.jobs / ours.seconds
    per_job = 1000 / max(ours.jobs, 1)
    figures = {
        "jobs": plan.jobs,
        "ours_per_second": round(rate, 1),
        "ours_finished": ours.jobs,
        "ours_worker_cpu_ms_per_job": round(ours.worker_cpu * per_job, 2),
        "ours_api_cpu_ms_per_job": round(ours.api_cpu * per_job, 2),
        "ours_postgres_cpu_ms_per_job": round(ours.db_cpu * per_job, 2),
        "celery_per_second": round(celery.rate, 1),
        "celery_succeeded": celery.succeeded,
        "celery_worker_cpu_ms_per_job": round(celery.worker_cpu * 1000 / max(celery.succeeded, 1), 2),
        "procrastinate_per_second": round(procrastinate.rate, 1),
        "procrastinate_succeeded": procrastinate.succeeded,
        "procrastinate_worker_cpu_ms_per_job": round(
            procrastinate.worker_cpu * 1000 / max(procrastinate.succeeded, 1), 2
        ),
        "procrastinate_postgres_cpu_ms_per_job": round(
            procrastinate.db_cpu * 1000 / max(procrastinate.succeeded, 1), 2
        ),
        "bare_dramatiq_per_second": round(base_rate, 1),
        "ratio_ours_celery": round(rate / celery.rate, 2) if celery.rate else None,
        "ratio_ours_procrastinate": round(rate / procrastinate.rate, 2) if procrastinate.rate else None,
        "ratio_ours_bare_dramatiq": round(rate / base_rate, 3),
        "ratio_celery_bare_dramatiq": round(celery.rate / base_rate, 3),
        "ratio_procrastinate_bare_dramatiq": round(procrastinate.rate / base_rate, 3),
    }
    summary = (
        f"ours {rate:.0f} jobs/s, Celery {celery.rate:.0f}, Procrastinate {procrastinate.rate:.0f}, bare Dramatiq "
        f"{base_rate:.0f}; ours/Celery {figures['ratio_ours_celery']}, ours/Procrastinate "
        f"{figures['ratio_ours_procrastinate']}, ours/bare Dramatiq {figures['ratio_ours_bare_dramatiq']}"
    )
    notes = [
        f"worker CPU per job: ours {figures['ours_worker_cpu_ms_per_job']} ms, Celery "
        f"{figures['celery_worker_cpu_ms_per_job']} ms, "
        f"Procrastinate {figures['procrastinate_worker_cpu_ms_per_job']} ms "
        f"(+ Postgres {figures['procrastinate_postgres_cpu_ms_per_job']} ms; ours + Postgres "
        f"{figures['ours_postgres_cpu_ms_per_job']} ms, + API {figures['ours_api_cpu_ms_per_job']} ms)"
    ]
    if celery.succeeded < plan.jobs or procrastinate.succeeded < plan.jobs or ours.jobs < plan.jobs:
        notes.append(
            f"unfinished: ours {ours.jobs}, Celery {celery.succeeded}, Procrastinate {procrastinate.succeeded}"
        )
    return BenchResult(
        NAME,
        summary,
        figures,
        goal="ours ahead of Celery and Procrastinate",
        goal_met=rate > celery.rate and rate > procrastinate.rate and ours.jobs == plan.jobs,
        notes=notes,
    )
