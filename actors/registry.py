"""The registry of job kinds.

A kind declares its params Struct, the function that does the work, its queue, time limit, retries and
whether it is paid. The API validates params and picks queue and actor names from here; only workers run
the handlers. Production kinds live in ``actors.kinds``; tests register their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from actors.retry import backoff_seconds
from actors.signals import SignalSpec

if TYPE_CHECKING:
    from actors.context import JobContext

PRIORITIES: tuple[str, ...] = ("high", "normal", "low")
# Dramatiq runs lower numbers first among prefetched messages; separate queues keep a backlog of low
# jobs from delaying the fetch of high ones.
_ACTOR_PRIORITY = {"high": 0, "normal": 10, "low": 20}

Handler = Callable[["JobContext", Any], dict[str, Any] | None]


class JobKind(msgspec.Struct, frozen=True):
    name: str
    params: type[msgspec.Struct]
    handler: Handler
    queue: str = ""
    time_limit_seconds: float = 20 * 60
    max_retries: int = 3
    min_backoff_seconds: float = 5.0
    max_backoff_seconds: float = 300.0
    paid: bool = False
    # Succeeded jobs of this kind count toward the owner's monthly generation quota.
    counts_toward_quota: bool = False
    description: str = ""
    # A short human title for lists (e.g. the hostname); receives the validated params.
    title: Callable[[Any], str | None] | None = None
    # Lanes split one kind over several queues chosen by its params (e.g. one per LLM provider), so a slow
    # lane never holds up a fast one; a worker can be dedicated to a lane with ``--queues``.
    lanes: tuple[str, ...] = ()
    lane_of: Callable[[Any], str] | None = None
    # Checks that need deployment options (e.g. whether private addresses may be crawled): called by the
    # API with the validated params and those options; raises ValueError with a message for the user.
    check_params: Callable[[Any, Mapping[str, Any]], None] | None = None
    # Called once when a worker process boots, with the kinds' options (e.g. to start helper processes
    # before the first job rather than during it).
    warm_up: Callable[[Mapping[str, Any]], None] | None = None
    # Called when a worker process stops (e.g. to stop those helper processes).
    shut_down: Callable[[], None] | None = None
    # The job's result carries ``tracking_url`` (the job's page here) from creation, before any worker ran:
    # for kinds that take minutes and whose user (often an LLM agent) is handed that URL at once.
    tracked: bool = False
    # Signals this kind's jobs accept while waiting (``actors.signals``); the deadline's ``timeout`` is implied.
    signals: tuple[SignalSpec, ...] = ()
    # Fair scheduling: at most this many running jobs of this kind per owner (None: the deployment's default,
    # MAX_RUNNING_PER_OWNER; 0: unlimited). See ``db.fairness``.
    max_running_per_owner: int | None = None

    @property
    def base_queue(self) -> str:
        return self.queue or self.name

    def queue_for(self, priority: str, lane: str | None = None) -> str:
        """``<base>[.<lane>][.<priority>]``; normal priority has no suffix."""
        name = f"{self.base_queue}.{lane}" if lane else self.base_queue
        return name if priority == "normal" else f"{name}.{priority}"

    def queue_for_params(self, params: Any, priority: str) -> str:
        return self.queue_for(priority, self.lane_of(params) if self.lane_of else None)

    def all_queues(self) -> list[str]:
        return [self.queue_for(p, lane) for lane in (self.lanes or (None,)) for p in PRIORITIES]

    def actor_name(self, queue: str) -> str:
        """One actor per queue: the queue a job was sent to (kept on its row) names its actor."""
        return f"job:{self.name}:{queue}"

    @staticmethod
    def actor_priority(queue: str) -> int:
        suffix = queue.rsplit(".", 1)[-1]
        return _ACTOR_PRIORITY.get(suffix, _ACTOR_PRIORITY["normal"])

    def backoff_seconds(self, attempt: int) -> float:
        """Exponential backoff before attempt ``attempt + 1``."""
        return backoff_seconds(max(1, attempt), base=self.min_backoff_seconds, cap=self.max_backoff_seconds)


_KINDS: dict[str, JobKind] = {}


def register_kind(kind: JobKind) -> JobKind:
    """Add a kind; registering the same name twice replaces it (module reloads in tests)."""
    if kind.name in {"", "."} or not kind.name.replace("_", "").isalnum():
        raise ValueError(f"invalid kind name {kind.name!r}: use letters, digits and underscores")
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)


def all_kinds() -> dict[str, JobKind]:
    return dict(_KINDS)


def load_kind_modules(modules: tuple[str, ...]) -> None:
    """Import the production kinds and any extra modules that register kinds."""
    import importlib

    importlib.import_module("actors.kinds")
    for module in modules:
        importlib.import_module(module)
