"""Sampling a process group from ``/proc``: how many processes it has and their resident memory.

rlimits bound each process on its own; a build is a tree of processes (npm -> node -> esbuild), so the
group's totals are measured here and the runner kills the group above its limits.

Finding a group's processes means reading every process's ``stat`` (no call lists a group): about 4 ms of the
worker's CPU with 180 processes on the machine, five times a second while a build runs. A sandboxed program
has its own PID namespace, where an orphan is adopted by the namespace's first process, so all its processes
are descendants of the one the runner started (``tree_usage``): a few small reads instead (measured below 1 ms).
"""

from __future__ import annotations

import os

import msgspec

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class GroupUsage(msgspec.Struct, frozen=True):
    processes: int
    rss_bytes: int


def _stat_fields(pid: str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    return raw[raw.rfind(b")") + 2 :].decode().split()


def group_usage(pgid: int) -> GroupUsage:
    """Processes of group ``pgid`` (zombies excluded) and the sum of their resident memory."""
    processes = 0
    rss_pages = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        fields = _stat_fields(pid)
        # fields[0] is the state (field 3 of stat), fields[2] the process group, fields[21] the rss in pages.
        if fields is None or len(fields) < 22 or fields[2] != str(pgid) or fields[0] in ("Z", "X"):
            continue
        processes += 1
        rss_pages += int(fields[21])
    return GroupUsage(processes, rss_pages * _PAGE_SIZE)


def _children(pid: int) -> list[int]:
    """The children of every thread of ``pid`` (a process's children are listed under the thread that forked)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return found


def tree_usage(root: int) -> GroupUsage:
    """Processes of the tree under ``root`` (``root`` included, zombies excluded) and their resident memory."""
    processes = 0
    rss_pages = 0
    pending = [root]
    while pending:
        pid = pending.pop()
        fields = _stat_fields(str(pid))
        if fields is None or len(fields) < 22:
            continue
        if fields[0] not in ("Z", "X"):
            processes += 1
            rss_pages += int(fields[21])
        pending += _children(pid)
    return GroupUsage(processes, rss_pages * _PAGE_SIZE)
