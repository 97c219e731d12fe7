"""Every process group a supervised program runs in, so a stopping worker can kill them all.

A group is killed with SIGTERM, then SIGKILL after a grace period; the SIGKILL is sent even when the
group leader already exited, so background processes it left behind (a daemonised helper, a stuck
grandchild) do not outlive the job.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from actors.process.watch import group_usage

log = logging.getLogger("genjobs.process")

_lock = threading.Lock()
# Held while a program is started and its group registered, and while a sweep takes its list: a program being
# started during a sweep is either in the list or started after it, never between the two.
_spawn_lock = threading.Lock()
# pgid -> a label for logs (the command line)
_live: dict[int, str] = {}


@contextmanager
def spawning() -> Iterator[None]:
    """Start a program and ``register_group`` it inside this block."""
    with _spawn_lock:
        yield


def register_group(pgid: int, label: str) -> None:
    with _lock:
        _live[pgid] = label


def unregister_group(pgid: int) -> None:
    with _lock:
        _live.pop(pgid, None)


def live_groups() -> dict[int, str]:
    with _lock:
        return dict(_live)


def group_exists(pgid: int) -> bool:
    """Whether a process of the group still runs. Zombies do not count: a killed grandchild is reaped by
    init (or the container's reaper) whenever that gets to it, and ``killpg(pgid, 0)`` still finds it."""
    return group_usage(pgid).processes > 0


def signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to the group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def kill_all_groups(grace_seconds: float = 2.0) -> int:
    """SIGTERM every live group, SIGKILL what is left after ``grace_seconds``; returns how many there were.

    For the worker's shutdown: the threads running the jobs kill their own groups too, but a thread that
    is stuck or already gone must not leave programs running. A program being started as the sweep begins is
    waited for (``spawning``), so it is in the sweep.
    """
    with _spawn_lock:
        groups = live_groups()
    for pgid, label in groups.items():
        log.info("stopping process group %d (%s)", pgid, label)
        signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while groups and time.monotonic() < deadline and any(group_exists(p) for p in groups):
        time.sleep(0.05)
    for pgid in groups:
        signal_group(pgid, signal.SIGKILL)
        unregister_group(pgid)
    return len(groups)
