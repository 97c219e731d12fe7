"""Run the test-site server in a child process and hand back its base URL.

A child process rather than a thread: the server gets its own interpreter (no GIL shared with the code
under test, no event loop shared with pytest-asyncio), and a benchmark measures the client alone.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.testsite.builder import SiteSpec

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class RunningSite:
    """A served test site: its base URL (``http://127.0.0.1:<port>/``) and its description."""

    base_url: str
    spec: SiteSpec

    def url(self, path: str) -> str:
        """The absolute URL of a site path."""
        return self.base_url.rstrip("/") + path


# serve_site(builder, **builder_kwargs) -> RunningSite
ServeSite = Callable[..., RunningSite]


@contextmanager
def serve(root: Path, *, port: int = 0, startup_timeout: float = 20.0) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 and yield ``http://127.0.0.1:<port>`` (no trailing slash).

    Args:
        root: A directory written by ``build_site``/``build_linked_site`` (or any directory of files).
        port: The port to bind; 0 lets the kernel choose a free one (no race with other test runs).
        startup_timeout: Seconds to wait for the server's ``LISTENING`` line.

    Raises:
        RuntimeError: The server exited or did not start in time.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.testsite.server", str(root), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{_wait_listening(proc, startup_timeout)}"
    finally:
        _stop(proc)


def _wait_listening(proc: subprocess.Popen[bytes], timeout: float) -> int:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            line = proc.stdout.readline().decode(errors="replace")
            if line.startswith("LISTENING "):
                return int(line.split()[1])
            if line:
                seen.append(line)
                continue
        if proc.poll() is not None:
            break
    raise RuntimeError("test-site server did not start:\n" + "".join(seen))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()
