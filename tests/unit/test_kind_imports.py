"""The API process imports each kind's spec only: no crawler, HTML parser or model client to start."""

from __future__ import annotations

import subprocess
import sys

from tests.support.services import ROOT

WORKER_ONLY = (
    "actors.kinds.llms_txt.job",
    "actors.kinds.llms_txt.fetcher",
    "actors.kinds.llms_txt.extract",
    "actors.kinds.website.job",
    "actors.kinds.website.client",
    "aiohttp",
    "selectolax",
    "html_to_markdown",
)

PROBE = """
import sys
from service.settings import Settings
from service.app import create_app
create_app(Settings.from_env({}))
print("\\n".join(sorted(sys.modules)))
"""


def test_the_api_starts_without_importing_worker_only_code() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    # The kinds' specs are loaded (their routes are mounted), their workers' code is not.
    assert "actors.kinds.llms_txt" in loaded and "actors.kinds.website" in loaded
    assert [m for m in WORKER_ONLY if m in loaded] == []
