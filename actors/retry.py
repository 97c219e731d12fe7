"""The one backoff policy and the one loop that rides out short Redis and Postgres outages.

* ``backoff_seconds`` serves every retry in the project: job attempts, notification deliveries, refunds,
  the website generator's polls after errors and the infrastructure retries below.
* ``ride_out`` re-runs a unit of work (a whole transaction, a Redis call) while the failure is an
  infrastructure blip (``is_transient``) and a time budget lasts, so a 4-second Redis restart or a
  10-second Postgres outage costs a job a pause, not an attempt.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
import redis
from sqlalchemy import exc as sa_exc

log = logging.getLogger("genjobs.retry")
T = TypeVar("T")

# Postgres SQLSTATEs that mean "the server is not there right now": class 08 (connection exception) and
# the shutdown / start-up states of class 57.
_TRANSIENT_SQLSTATE_PREFIXES = ("08",)
_TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def backoff_seconds(attempt: int, *, base: float, cap: float, jitter: float = 0.0) -> float:
    """Exponential backoff before try ``attempt + 1`` (attempt 1 waits ``base``, 2 waits twice that, ...).

    ``jitter`` (0..1) spreads the wait randomly below the computed value, so many waiters do not all come
    back at the same instant.

    >>> [backoff_seconds(a, base=5, cap=60) for a in range(1, 6)]
    [5.0, 10.0, 20.0, 40.0, 60.0]
    """
    exponent = min(max(0, attempt - 1), 30)
    delay = float(min(cap, base * 2**exponent))
    if jitter > 0:
        delay -= delay * jitter * random.random()
    return delay


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` says Redis or Postgres could not be reached (as opposed to a bad query or a bug)."""
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return exc.orig is not None and is_transient(exc.orig)
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        state = exc.sqlstate
        # No SQLSTATE: the client failed to connect or lost the connection.
        return state is None or state.startswith(_TRANSIENT_SQLSTATE_PREFIXES) or state in _TRANSIENT_SQLSTATES
    return False


def ride_out(
    work: Callable[[], T],
    *,
    what: str,
    budget_seconds: float,
    stop: threading.Event | None = None,
    base: float = 0.1,
    cap: float = 2.0,
) -> T:
    """Run ``work``; while it fails with a transient error and ``budget_seconds`` last, wait and run it again.

    ``work`` must be safe to repeat: a whole transaction, or an idempotent call. A non-transient error, or
    a transient one once the budget is spent (or ``stop`` is set), propagates.
    """
    deadline = time.monotonic() + budget_seconds
    attempt = 0
    while True:
        try:
            return work()
        except Exception as exc:
            remaining = deadline - time.monotonic()
            if not is_transient(exc) or remaining <= 0 or (stop is not None and stop.is_set()):
                raise
            attempt += 1
            delay = min(remaining, backoff_seconds(attempt, base=base, cap=cap, jitter=0.2))
            if attempt == 1 or attempt % 10 == 0:
                log.warning("%s: %s (%s); trying again for up to %.0f s", what, type(exc).__name__, exc, remaining)
            if stop is not None:
                stop.wait(delay)
            else:
                time.sleep(delay)
