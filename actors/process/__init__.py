"""Supervised child processes for job kinds that run programs (npm, tsc, vite, ...).

``run_process`` starts a program in its own session and process group, streams its output line by line, applies
resource limits, optionally runs it inside a bubblewrap sandbox, and kills the whole group on cancel,
time-out or worker shutdown. Job code calls it through ``JobContext.run_process``.
"""

from __future__ import annotations

from actors.process.groups import kill_all_groups, live_groups
from actors.process.limits import ProcessLimits
from actors.process.result import ProcessResult, StopReason
from actors.process.runner import run_process
from actors.process.sandbox import SandboxPolicy, SandboxStatus, sandbox_available, sandbox_status

__all__ = [
    "ProcessLimits",
    "ProcessResult",
    "SandboxPolicy",
    "SandboxStatus",
    "StopReason",
    "kill_all_groups",
    "live_groups",
    "run_process",
    "sandbox_available",
    "sandbox_status",
]
