"""`python -m service dev`: the whole service in one terminal, for development.

Starts embedded Postgres and Redis when `DATABASE_URL`/`REDIS_URL` are not set, runs the migrations,
then runs the API, a worker and the scheduler as child processes and supervises them: Ctrl-C or SIGTERM
stops all three (SIGTERM, then SIGKILL after a grace period), and one dying unexpectedly stops the others
and makes the run fail. Child output goes straight to this terminal.

Only `service.embedded` is imported from the project, so a broken app module still lets `dev` report
which child failed and why, instead of dying on import.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from service.embedded import EmbeddedServerError, start_embedded_postgres, start_embedded_redis

CHILD_COMMANDS = ("api", "worker", "scheduler")
STOP_GRACE_SECONDS = 15.0
POLL_SECONDS = 0.2
HEALTH_PATH = "/api/health"
# After this long without a healthy API we say so once (and keep checking): it may be a crash loop.
HEALTH_PATIENCE_SECONDS = 60.0
_SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


class _Stoppable(Protocol):
    """Anything with a `stop()`: the embedded servers."""

    def stop(self) -> None: ...


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]


class _Signals:
    """Records shutdown signals instead of letting them kill us half-way through a start or a stop.

    Every phase checks `received` between short waits; a second signal while stopping skips the grace
    period.
    """

    def __init__(self) -> None:
        self.received = 0
        self._previous: dict[signal.Signals, Any] = {}

    def install(self) -> None:
        for sig in _SHUTDOWN_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            # None means a handler installed outside Python, which cannot be put back.
            if handler is not None:
                signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received += 1
        if self.received == 1:
            # os.write, not print: a handler that prints while the main code is printing raises a
            # "reentrant call" RuntimeError from the buffered stderr.
            name = signal.Signals(signum).name
            os.write(2, f"dev: {name} received, stopping (again to kill at once)\n".encode())


def run_dev(settings_env: dict[str, str] | None = None) -> int:
    """Run embedded servers (if needed), migrations, API, worker and scheduler until told to stop.

    Args:
        settings_env: Environment for the children; defaults to `os.environ`. `DATABASE_URL` and
            `REDIS_URL` are added to it when embedded servers are started.

    Returns:
        The exit status: 0 after a requested stop, non-zero when start-up, migrations or a child failed.
    """
    env = dict(os.environ if settings_env is None else settings_env)
    # Children write to a pipe when `make run` is piped or logged; their lines should still show up at once.
    env.setdefault("PYTHONUNBUFFERED", "1")
    signals = _Signals()
    signals.install()
    servers: list[_Stoppable] = []
    try:
        return _run(env, signals, servers)
    finally:
        if servers:
            dev_env_file(Path(env.get("DATA_DIR") or ".data").expanduser().resolve()).unlink(missing_ok=True)
        for server in reversed(servers):
            try:
                server.stop()
            except EmbeddedServerError as exc:
                _say(f"could not stop an embedded server: {exc}")
        signals.restore()


def _run(env: dict[str, str], signals: _Signals, servers: list[_Stoppable]) -> int:
    try:
        _start_missing_servers(env, servers)
    except EmbeddedServerError as exc:
        _say(f"could not start an embedded server: {exc}")
        return 1
    if signals.received:
        return 0
    _say("running migrations")
    migrate = subprocess.Popen([sys.executable, "-m", "service", "migrate"], env=env, stdin=subprocess.DEVNULL)
    status = _wait_unless_signalled(migrate, signals)
    if status is None:
        _stop_children([_Child("migrate", migrate)], signals)
        return 0
    if status != 0:
        _say(f"migrations failed (exit status {status}); not starting the service")
        return _failure_status(status)
    children: list[_Child] = []
    try:
        for name in CHILD_COMMANDS:
            children.append(_spawn(name, env))
    except OSError as exc:
        _say(f"could not start a child process: {exc}")
        _stop_children(children, signals)
        return 1
    _say(f"started {', '.join(f'{c.name} (pid {c.process.pid})' for c in children)}")
    return _supervise(children, env, signals)


def _start_missing_servers(env: dict[str, str], servers: list[_Stoppable]) -> None:
    """Start embedded Postgres/Redis for whichever of DATABASE_URL/REDIS_URL is unset, and set it."""
    if env.get("DATABASE_URL") and env.get("REDIS_URL"):
        return
    data_dir = Path(env.get("DATA_DIR") or ".data").expanduser().resolve()
    if not env.get("DATABASE_URL"):
        postgres = start_embedded_postgres(data_dir / "postgres")
        servers.append(postgres)
        env["DATABASE_URL"] = postgres.database_url
        _say(f"embedded Postgres: {postgres.database_url}")
    if not env.get("REDIS_URL"):
        redis_server = start_embedded_redis(data_dir / "redis")
        servers.append(redis_server)
        env["REDIS_URL"] = redis_server.redis_url
        _say(f"embedded Redis: {redis_server.redis_url}")
    # Other commands run while dev is up (e.g. `python -m service users create`) find the same servers here.
    dev_env_file(data_dir).write_text(f"DATABASE_URL={env['DATABASE_URL']}\nREDIS_URL={env['REDIS_URL']}\n")


def dev_env_file(data_dir: Path) -> Path:
    """Where a running ``dev`` leaves the URLs of its embedded servers."""
    return data_dir / "dev.env"


def _wait_unless_signalled(process: subprocess.Popen[bytes], signals: _Signals) -> int | None:
    """Wait for `process`; None if a shutdown signal came first."""
    while (status := process.poll()) is None:
        if signals.received:
            return None
        time.sleep(POLL_SECONDS)
    return status


def _spawn(name: str, env: dict[str, str]) -> _Child:
    process = subprocess.Popen(
        [sys.executable, "-m", "service", name],
        env=env,
        stdin=subprocess.DEVNULL,
        # Own process group: a terminal Ctrl-C reaches only us, so we decide the order and the grace
        # period, and a SIGKILL to the group also takes any processes the child forked (dramatiq's).
        start_new_session=True,
        # preexec_fn is unsafe only in threaded programs; dev runs no threads.
        preexec_fn=_die_with_parent(os.getpid()),
    )
    return _Child(name, process)


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A preexec_fn asking Linux to SIGTERM the child if dev itself is killed (SIGKILL cannot be caught).

    Without it an orphaned API would keep port 8000 and break the next `make run`.
    """

    def arrange() -> None:
        if not sys.platform.startswith("linux"):
            return
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return arrange


def _supervise(children: list[_Child], env: dict[str, str], signals: _Signals) -> int:
    port = env.get("API_PORT") or "8000"
    api_url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    announced = warned = False
    while True:
        if signals.received:
            _stop_children(children, signals)
            return 0
        for child in children:
            status = child.process.poll()
            if status is not None:
                _say(f"{child.name} exited unexpectedly (status {status}); stopping the others")
                _stop_children(children, signals)
                return _failure_status(status)
        if not announced:
            if _answers(api_url + HEALTH_PATH):
                _say(f"API ready at {api_url}")
                _say(
                    "create a user (prints its API key): uv run python -m service users create "
                    "--email you@example.com --password 'choose-a-password' --admin"
                )
                announced = True
            elif not warned and time.monotonic() - started > HEALTH_PATIENCE_SECONDS:
                _say(f"API not answering {api_url}{HEALTH_PATH} after {HEALTH_PATIENCE_SECONDS:.0f} s; still waiting")
                warned = True
        time.sleep(POLL_SECONDS)


def _stop_children(children: list[_Child], signals: _Signals) -> None:
    """SIGTERM each child, wait up to the grace period, then SIGKILL its whole process group.

    Like systemd's KillMode=mixed: the child gets to shut down its own helpers first; only stragglers
    are killed. A further Ctrl-C ends the grace period at once.
    """
    running = [child for child in children if child.process.poll() is None]
    for child in running:
        with contextlib.suppress(ProcessLookupError):
            child.process.send_signal(signal.SIGTERM)
    signals_before = signals.received
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while any(child.process.poll() is None for child in running):
        if time.monotonic() > deadline or signals.received > signals_before:
            break
        time.sleep(0.1)
    for child in running:
        if child.process.poll() is None:
            _say(f"{child.name} did not stop in time; killing it")
            # The child is alive and unreaped, so its pid still names its own group, not a stranger's.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
    for child in running:
        _say(f"{child.name} stopped (status {child.process.returncode})")


def _failure_status(status: int) -> int:
    """A child's exit status as ours: killed by signal N gives 128+N, and a clean exit still counts as failure."""
    if status < 0:
        return 128 - status
    return status or 1


def _answers(url: str) -> bool:
    # No proxies: an http_proxy in the environment must not intercept a request to our own loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=1.0) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _say(message: str) -> None:
    print(f"dev: {message}", file=sys.stderr, flush=True)
