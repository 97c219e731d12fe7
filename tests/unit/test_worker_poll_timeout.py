"""``python -m service`` sets Dramatiq's idle poll timeout from WORKER_POLL_TIMEOUT_MS before Dramatiq is
first imported: Dramatiq reads it only then, into ``Worker``'s default (setting it later had no effect)."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import runpy, sys
sys.argv = ["service", "--help"]
try:
    runpy.run_module("service", run_name="__main__")
except SystemExit:
    pass
import inspect, dramatiq.worker
print(inspect.signature(dramatiq.worker.Worker.__init__).parameters["worker_timeout"].default)
"""


def _worker_timeout(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("dramatiq_") and k != "WORKER_POLL_TIMEOUT_MS"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip().splitlines()[-1]


def test_the_setting_reaches_dramatiqs_worker() -> None:
    assert _worker_timeout({"WORKER_POLL_TIMEOUT_MS": "37"}) == "37"


def test_the_default_applies_without_the_setting() -> None:
    assert _worker_timeout({}) == "50"
