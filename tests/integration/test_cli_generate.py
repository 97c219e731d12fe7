"""``python -m service generate``: starts a generation through the API, follows it live, saves the files."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import llms_txt

from tests.conftest import ApiUser
from tests.support.services import ROOT, ServiceProcess
from tests.support.testsite.serving import RunningSite


async def test_generate_saves_llms_files_with_live_progress(
    make_user: Callable[..., Awaitable[ApiUser]],
    worker: ServiceProcess,
    api_url: str,
    acme_site: RunningSite,
    service_env: dict[str, str],
    tmp_path: Path,
) -> None:
    # Given a user with an API key and a site to describe
    user = await make_user()
    host = acme_site.base_url.removeprefix("http://").rstrip("/")
    # When they run the command
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "service",
            "generate",
            host,
            "--api",
            api_url,
            "--out",
            str(tmp_path),
            "--zip",
            "--max-urls",
            "50",
        ],
        cwd=ROOT,
        env={**service_env, "GENJOBS_API_KEY": user.api_key},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it prints the saved files, having shown a progress bar on stderr
    assert done.returncode == 0, done.stderr
    saved = [Path(line) for line in done.stdout.splitlines()]
    slug = host.replace(":", "-")
    assert sorted(p.name for p in saved) == sorted([f"llms-{slug}.txt", f"llms-full-{slug}.txt", f"llms-{slug}.zip"])
    assert "100.0%" in done.stderr and "fetch" in done.stderr
    parsed = llms_txt.parse_llms_file((tmp_path / f"llms-{slug}.txt").read_text())
    assert parsed["title"] and parsed["sections"]
    links = [link["url"] for section in parsed["sections"].values() for link in section]
    assert len(links) == len(set(links)) > 10


def test_generate_without_a_key_says_how_to_get_one(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service", "generate", "example.com", "--out", str(tmp_path)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "GENJOBS_API_KEY" in done.stderr
