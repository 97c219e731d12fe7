"""``python -m tests.bench [--only NAME] [--quick]``: run the benchmarks, print a summary, save it as JSON.

Figures and ratios only: a missed goal never fails the run. The exit status is 1 only when a benchmark
could not run at all (its error is printed and recorded).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import signal
import sys
import time
import traceback
from datetime import UTC, datetime

from tests.bench.common import LOG_DIR, RESULTS_PATH, BenchEnv, BenchResult

# Run order: the heaviest (and most sensitive to leftovers) first.
BENCHMARKS = {
    "sse_fanout": "tests.bench.sse_fanout",
    "throughput": "tests.bench.throughput",
    "peers": "tests.bench.peers",
    "create_latency": "tests.bench.create_latency",
    "llms_crawl": "tests.bench.llms_crawl",
    "build_overhead": "tests.bench.build_overhead",
    "article_orders": "tests.bench.article_orders",
    "metrics_scrape": "tests.bench.metrics_scrape",
}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only this one (repeatable)")
    parser.add_argument("--quick", action="store_true", help="scaled down: a fast self-check, not figures to quote")
    return parser.parse_args(argv)


def _run_one(env: BenchEnv, name: str, quick: bool) -> BenchResult:
    module = importlib.import_module(BENCHMARKS[name])
    started = time.monotonic()
    print(f"== {name} {'(quick)' if quick else ''}", flush=True)
    try:
        env.reset()
        result: BenchResult = module.run(env, quick)
        if quick:
            # Scaled down: the goals are stated for the full size.
            result.goal_met = None
            result.goal += " (not judged with --quick)"
    except Exception as exc:
        traceback.print_exc()
        result = BenchResult(name, f"ERROR: {type(exc).__name__}: {exc}", {"error": repr(exc)})
    finally:
        env.stop_all()
    result.figures["wall_seconds"] = round(time.monotonic() - started, 1)
    print(f"{name}: {result.summary}", flush=True)
    for note in result.notes:
        print(f"  note: {note}", flush=True)
    return result


def _print_table(results: list[BenchResult]) -> None:
    print("\n" + "=" * 100)
    print(f"{'benchmark':<16} {'goal':<8} summary")
    print("-" * 100)
    for r in results:
        goal = {True: "met", False: "missed", None: "-"}[r.goal_met]
        print(f"{r.name:<16} {goal:<8} {r.summary}")
        if r.goal:
            print(f"{'':<16} {'':<8} goal: {r.goal}")
    print("=" * 100)
    print("Figures are from a shared, noisy 2-core machine; compare ratios to baselines measured in this run.")


def _save(results: list[BenchResult], quick: bool, started: datetime) -> None:
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "started_at": started.isoformat(),
        "quick": quick,
        "host": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "results": [
            {
                "name": r.name,
                "summary": r.summary,
                "goal": r.goal,
                "goal_met": r.goal_met,
                "notes": r.notes,
                "figures": r.figures,
            }
            for r in results
        ],
    }
    RESULTS_PATH.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"results written to {RESULTS_PATH}")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    # A SIGTERM (a CI timeout, `timeout`) unwinds like Ctrl-C: the processes started here are stopped and
    # the database dropped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for old in LOG_DIR.glob("*.log"):
        old.unlink()
    started = datetime.now(UTC)
    results: list[BenchResult] = []
    with BenchEnv.open() as env:
        for name in names:
            results.append(_run_one(env, name, args.quick))
    _print_table(results)
    _save(results, args.quick, started)
    return 1 if any("error" in r.figures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
