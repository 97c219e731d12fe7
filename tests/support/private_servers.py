"""A private Redis and a private Postgres on ports of their own, for tests that stop and restart them.

The machine's shared servers are never touched: outage tests take down only these. Postgres uses the
system's server binaries (Debian's ``/usr/lib/postgresql/<v>/bin``, or ``pg_ctl`` on PATH) and, as root,
runs as the ``postgres`` system user (Postgres refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from tests.support.services import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _start_redis_server(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + 20
    try:
        while True:
            try:
                client.ping()
                return proc
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise
                time.sleep(0.05)
    finally:
        client.close()


@dataclass
class PrivateRedis:
    """A redis-server on its own TCP port (no persistence: a restart empties it, as a crash would)."""

    port: int
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(cls) -> PrivateRedis:
        port = free_port()
        return cls(port, _start_redis_server(port))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> None:
        self.proc = _start_redis_server(self.port)


def postgres_bin_dir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are: the newest Debian cluster version, else PATH."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if debian:
        return debian[-1]
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).parent
    raise RuntimeError("outage tests need the Postgres server binaries (initdb, pg_ctl): apt-get install postgresql")


@dataclass
class PrivatePostgres:
    """A throw-away Postgres cluster on its own port, with trust authentication for ``postgres``."""

    port: int
    pgdata: Path
    bin_dir: Path
    _user: str | None = field(default=None)

    @classmethod
    def start(cls) -> PrivatePostgres:
        bin_dir = postgres_bin_dir()
        root = Path(tempfile.mkdtemp(prefix="gjpg-", dir="/tmp"))
        user = "postgres" if os.geteuid() == 0 else None
        if user is not None:
            shutil.chown(root, user)
        server = cls(free_port(), root / "data", bin_dir, user)
        server._run("initdb", "-D", str(server.pgdata), "-U", "postgres", "-A", "trust", "--no-sync")
        server.restart()
        return server

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin_dir / program), *args],
            user=self._user,
            cwd=self.pgdata.parent,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )

    def stop(self) -> None:
        """A fast shutdown: every open connection is cut, as when the server goes away."""
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
        log_file = self.pgdata.parent / "server.log"
        self._run("pg_ctl", "-D", str(self.pgdata), "-o", options, "-l", str(log_file), "-w", "-t", "60", "start")
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.admin_url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.pgdata.parent, ignore_errors=True)
