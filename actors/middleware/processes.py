"""The worker's side of supervised programs: say at start whether they are sandboxed, and kill any that
are still running when the worker stops.

Each job's thread kills its own programs when it is stopped (the Shutdown raised into it ends
``run_process``, whose ``finally`` kills the group); this is for a thread that is stuck or already gone.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.middleware import Middleware

from actors.process import kill_all_groups, sandbox_status

log = logging.getLogger("genjobs.process")


class ProcessReaper(Middleware):
    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        status = sandbox_status()
        if status.available:
            log.info("programs run by jobs are sandboxed with bubblewrap (%s)", status.path)
        else:
            log.warning("programs run by jobs are NOT sandboxed: %s", status.reason)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        killed = kill_all_groups()
        if killed:
            log.warning("killed %d process group(s) still running at shutdown", killed)
