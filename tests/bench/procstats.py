"""What the benchmarks read about processes from /proc: memory, CPU time, and how busy the machine was.

CPU time says what a request or a job costs even on a shared machine, where latency mostly says how busy
the neighbours were; ``MachineLoad`` tells the two apart.
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from pathlib import Path


def rss_kb(pid: int) -> int:
    """Resident set size of a process in KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MachineLoad:
    """How busy the whole machine was between two points (all processes, ours and the neighbours')."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    def busy_cores(self) -> float:
        """Cores busy on average since this object was created."""
        busy, total = self._read()
        spent = total - self._start[1]
        return (busy - self._start[0]) / spent * (os.cpu_count() or 1) if spent else 0.0


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (a Dramatiq worker is a parent with worker children)."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            pids += process_tree(int(child))
    return pids


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in process_tree(pid):
        with suppress(OSError):  # the process just ended
            total += cpu_seconds(p)
    return total


def database_cpu_seconds(database_name: str) -> float:
    """CPU used so far by the Postgres backends connected to one database (found by their process title)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
            if title.startswith(b"postgres:") and f" {database_name} ".encode() in title:
                total += cpu_seconds(int(entry.name))
        except OSError:
            continue
    return total


def wait_until_quiet(pid: int, *, window: float = 0.5, busy_below: float = 0.05, timeout: float = 60.0) -> float:
    """Wait until ``pid``'s process tree uses less than ``busy_below`` of a core over ``window`` seconds (its
    start-up is over: imports, spawned pool processes), at most ``timeout`` seconds; returns the seconds
    waited. Otherwise a figure of CPU per job taken right after the first jobs would count the start-up's
    tail: the worker's extraction pool importing its modules took seconds of CPU on a loaded machine, and
    moved the throughput benchmark's worker CPU per job by up to 1 ms between runs."""
    started = time.monotonic()
    before = tree_cpu_seconds(pid)
    while time.monotonic() - started < timeout:
        time.sleep(window)
        after = tree_cpu_seconds(pid)
        if after - before < busy_below * window:
            break
        before = after
    return time.monotonic() - started
