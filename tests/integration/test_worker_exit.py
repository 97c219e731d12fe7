"""A worker told to stop at once (a second SIGTERM, or Ctrl-C twice in ``make run``) exits, children and all:
its llms.txt extraction pool's processes do not keep it waiting for them forever."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator

from tests.support.services import ServiceProcess


def _processes() -> Iterator[tuple[int, int, int, str]]:
    """(pid, parent pid, process group, state) of every process."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    state, ppid, pgrp = f.read().rsplit(")", 1)[1].split()[:3]
            except (OSError, ValueError):
                continue
            yield int(entry), int(ppid), int(pgrp), state


def _group_alive(pgid: int) -> list[int]:
    """The processes of the group that are still running (not zombies)."""
    return [pid for pid, _, pgrp, state in _processes() if pgrp == pgid and state != "Z"]


def _children(parent: int) -> list[int]:
    return [pid for pid, ppid, _, _ in _processes() if ppid == parent]


def test_a_worker_killed_at_once_exits_with_its_pool_processes(
    start_service: Callable[..., ServiceProcess], api_url: str
) -> None:
    # Given a worker whose process has started its extraction pool (looked for in /proc: the session's own
    # worker already answers for "a worker is up")
    proc = start_service("worker", "--processes", "1", "--threads", "2", name="worker-exit")
    deadline = time.monotonic() + 90
    while True:
        worker_processes = _children(proc.pid)
        if any(_children(p) for p in worker_processes):
            break
        assert proc.alive(), proc.log_tail()
        assert time.monotonic() < deadline, f"no worker process with a pool process:\n{proc.log_tail()}"
        time.sleep(0.2)
    # When it is told to stop, and then to stop at once (a second SIGTERM to the worker process, as systemd or a
    # second Ctrl-C gives), its pool processes getting no signal of their own
    os.kill(proc.pid, signal.SIGTERM)
    for pid in worker_processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    # Then every process of the group is gone within seconds
    deadline = time.monotonic() + 30
    while alive := _group_alive(proc.pid):
        proc.alive()  # reaps the main process once it exited
        assert time.monotonic() < deadline, f"processes {alive} still run:\n{proc.log_tail()}"
        time.sleep(0.2)
    proc.stop()


def test_a_stopped_worker_s_last_lines_reach_its_log(start_service: Callable[..., ServiceProcess]) -> None:
    # Given a worker that is up (its lines are written in batches)
    proc = start_service("worker", "--processes", "1", "--threads", "2", name="worker-lines")
    deadline = time.monotonic() + 90
    while "Worker process is ready for action" not in proc.log_tail():
        assert proc.alive() and time.monotonic() < deadline, proc.log_tail()
        time.sleep(0.2)
    # When it stops
    assert proc.stop() == 0
    # Then the lines its worker process logged last, as its log pipe was about to close, are in its log
    assert "Worker has been shut down." in proc.log_tail(), proc.log_tail()
