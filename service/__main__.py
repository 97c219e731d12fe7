"""``python -m service``: the one command-line entry (see ``service.cli``)."""

from __future__ import annotations

import os
import sys

from service.settings import WorkerSettings

# How long an idle Dramatiq consumer may pause between polls of its queue (WORKER_POLL_TIMEOUT_MS). Dramatiq
# reads ``dramatiq_worker_timeout`` once, when it is first imported, into ``Worker``'s default argument, and
# its CLI forks the worker processes, which build their ``Worker`` with that default: the variable has to be
# set before ``service.cli`` imports Dramatiq (setting it later left Dramatiq's 1 s, so an idle worker
# picked a new job up 0.5-1 s late). An invalid value is left for the settings to report.
_poll_ms = os.environ.get("WORKER_POLL_TIMEOUT_MS", str(WorkerSettings().poll_timeout_ms)).strip()
if _poll_ms.isdigit():
    os.environ.setdefault("dramatiq_worker_timeout", _poll_ms)

from service.cli import main  # noqa: E402  (after the variable above, on purpose)

sys.exit(main())
