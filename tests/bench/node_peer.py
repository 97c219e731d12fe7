"""The Node full-text peer of the llms_crawl benchmark: ``mdream_peer.mjs`` on Node, with mdream from npm.

The benchmark installs mdream itself, once, into ``test-artifacts/bench-node/`` (never at test time): the
pinned ``mdream`` package and its native (Rust, napi) binding for this platform, which npm sometimes leaves
out of an install (npm/cli#4828). The peer then fetches the same URLs from the same server at the same
concurrency and converts each page to Markdown.
"""

from __future__ import annotations

import json
import platform
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.services import ROOT

MDREAM_VERSION = "1.7.2"
PEER_DIR = ROOT / "test-artifacts" / "bench-node"
SCRIPT = Path(__file__).with_name("mdream_peer.mjs")
_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


class PeerUnavailable(RuntimeError):
    """Node or npm is missing, or mdream could not be installed."""


@dataclass(frozen=True)
class PeerRun:
    pages: int
    errors: int
    seconds: float
    # User + system CPU time of the Node process (a figure the machine's other load barely moves).
    cpu_seconds: float = 0.0

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def _binding() -> str:
    system = platform.system().lower()
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    suffix = "-gnu" if system == "linux" else ""
    return f"@mdream/rust-{system}-{arch}{suffix}@{MDREAM_VERSION}"


def install_peer() -> Path:
    """Install mdream into ``PEER_DIR`` unless it is there already; returns the folder to run the peer in."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise PeerUnavailable("node and npm are needed for the full-text peer")
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    installed = PEER_DIR / "node_modules" / "mdream" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != MDREAM_VERSION:
        (PEER_DIR / "package.json").write_text('{"name": "genjobs-bench-peer", "private": true, "type": "module"}\n')
        command = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", f"mdream@{MDREAM_VERSION}"]
        command.append(_binding())
        done = subprocess.run(command, cwd=PEER_DIR, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise PeerUnavailable(f"npm install failed: {done.stderr.strip()[-500:]}")
    shutil.copyfile(SCRIPT, PEER_DIR / SCRIPT.name)
    return PEER_DIR


def run_peer(folder: Path, urls: list[str], concurrency: int) -> PeerRun:
    """Run the peer over ``urls``; its own clock, from the first request to the written file."""
    (folder / "urls.txt").write_text("\n".join(urls) + "\n")
    command = ["node", SCRIPT.name, "urls.txt", "out.md", str(concurrency)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return PeerRun(int(figures["pages"]), int(figures["errors"]), float(figures["seconds"]), cpu)
