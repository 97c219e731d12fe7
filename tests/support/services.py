"""Where the test suite finds Postgres and Redis, and real service processes it starts.

``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` when set, else the local defaults (127.0.0.1:5432 and :6379),
else the embedded servers of ``make run`` (``service.embedded``) in ``.data/test``, started once per test
process and stopped when it exits. A missing database or Redis fails the run; it never skips.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import redis

if TYPE_CHECKING:
    from service.embedded import EmbeddedServers

ROOT = Path(__file__).resolve().parents[2]
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/15"


def _postgres_reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=3).ping())
    except redis.RedisError:
        return False


def admin_database_url() -> str:
    """A URL to a maintenance database on the Postgres server the tests use."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        if not _postgres_reachable(url):
            raise RuntimeError(f"TEST_DATABASE_URL is set but Postgres does not answer at {url}")
        return url
    if _postgres_reachable(LOCAL_POSTGRES):
        return LOCAL_POSTGRES
    return _embedded_servers().database_url


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        if not _redis_reachable(url):
            raise RuntimeError(f"TEST_REDIS_URL is set but Redis does not answer at {url}")
        return url
    if _redis_reachable(LOCAL_REDIS):
        return LOCAL_REDIS
    return _embedded_servers().redis_url


@functools.cache
def _embedded_servers() -> EmbeddedServers:
    """Embedded Postgres and Redis for a machine that runs neither, like ``make run`` without URLs."""
    from service.embedded import start_embedded

    servers = start_embedded(ROOT / ".data" / "test")
    atexit.register(servers.stop)
    return servers


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# A service gets SIGTERM when the test process that started it dies (util-linux's setpriv sets the kernel's
# parent-death signal, kept across its exec): a killed pytest session otherwise leaves its workers running,
# in sessions of their own, taking the next session's messages from the same Redis db.
_EXIT_WITH_PARENT = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []


class ServiceProcess:
    """A ``python -m <module> ...`` child process (``service`` by default) with its output in a log file."""

    def __init__(self, args: list[str], env: Mapping[str, str], log_path: Path, *, module: str = "service") -> None:
        self.args = args
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [*_EXIT_WITH_PARENT, sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (a Dramatiq worker has a parent and children)."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 20) -> int:
        if self.alive():
            # The main process only: Dramatiq's main process forwards SIGTERM to its workers, and a worker
            # that gets a second SIGTERM takes it as "kill now" (deploy with systemd KillMode=mixed).
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()
        return int(self.proc.returncode)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def wait_for_http(url: str, proc: ServiceProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.args} exited early:\n{proc.log_tail()}")
        try:
            if httpx.get(url, timeout=2).status_code < 600:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{proc.log_tail()}")


def wait_for_workers(api_url: str, expected: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api_url}/api/health", timeout=2).json().get("workers", 0) >= expected:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no worker heartbeat within {timeout} s")
