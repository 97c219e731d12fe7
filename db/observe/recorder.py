"""Counters and histograms shared across processes through Redis.

Why Redis and not ``prometheus_client``'s multiprocess mode: that mode shares files in one directory, so it only
adds up the processes of one host, while API and worker processes here run on any number of hosts and already
share one Redis. Each process adds to an in-memory buffer (a dict under a lock: nothing blocks where things
happen) and a daemon thread flushes it every second with one pipeline of ``HINCRBYFLOAT``; a scrape reads one
hash per metric. A process killed with SIGKILL loses at most its last second of increments.

Storage: hash ``genjobs:metrics:<name>``; a counter's field is its label values joined by ``\\x1f``; a
histogram's fields are ``<labels>\\x1e<bucket index>`` (per-bucket, not cumulative), ``<labels>\\x1esum`` and
``<labels>\\x1ecount``.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import defaultdict
from collections.abc import Sequence

import msgspec
import redis

log = logging.getLogger("genjobs.metrics")

KEY_PREFIX = "genjobs:metrics:"
LABEL_SEP = "\x1f"
PART_SEP = "\x1e"
FLUSH_INTERVAL_SECONDS = 1.0


class MetricDef(msgspec.Struct, frozen=True):
    """A counter (``buckets`` empty) or a histogram, declared once in ``db.observe.catalog``."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()

    @property
    def is_histogram(self) -> bool:
        return bool(self.buckets)

    @property
    def key(self) -> str:
        return KEY_PREFIX + self.name


_DEFINED: dict[str, MetricDef] = {}


def counter(name: str, help_: str, labels: Sequence[str] = ()) -> MetricDef:
    return _define(MetricDef(name, help_, tuple(labels)))


def histogram(name: str, help_: str, labels: Sequence[str], buckets: Sequence[float]) -> MetricDef:
    return _define(MetricDef(name, help_, tuple(labels), tuple(sorted(buckets))))


def _define(metric: MetricDef) -> MetricDef:
    if _DEFINED.setdefault(metric.name, metric) != metric:
        raise ValueError(f"metric {metric.name} is declared twice with different shapes")
    return metric


def defined_metrics() -> list[MetricDef]:
    return list(_DEFINED.values())


def _label_field(metric: MetricDef, values: Sequence[str]) -> str:
    if len(values) != len(metric.labels):
        raise ValueError(f"{metric.name} takes labels {metric.labels}, got {len(values)} values")
    return LABEL_SEP.join(map(str, values))


class Recorder:
    """This process's buffer of increments and the thread that flushes them to Redis.

    Recording does nothing until ``start`` (a process without Redis settings, a unit test) so the buffer
    never grows without a flusher."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: defaultdict[tuple[str, str], float] = defaultdict(float)
        self._client: redis.Redis | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._client is not None

    def start(self, redis_url: str) -> None:
        """Connect and start flushing (idempotent)."""
        with self._lock:
            if self._client is not None:
                return
            self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=5)
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="metrics-flusher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Flush what is buffered and stop the thread."""
        thread = self._thread
        self._stop.set()
        if thread is not None:
            thread.join(timeout=5)
        self.flush()
        with self._lock:
            client, self._client, self._thread = self._client, None, None
        if client is not None:
            client.close()

    def inc(self, metric: MetricDef, *labels: str, amount: float = 1.0) -> None:
        if self._client is None:
            return
        field = _label_field(metric, labels)
        with self._lock:
            self._pending[(metric.key, field)] += amount

    def observe(self, metric: MetricDef, value: float, *labels: str) -> None:
        if self._client is None:
            return
        base = _label_field(metric, labels) + PART_SEP
        # Bucket i holds values in (buckets[i-1], buckets[i]]; index len(buckets) is +Inf.
        index = bisect.bisect_left(metric.buckets, value)
        with self._lock:
            self._pending[(metric.key, f"{base}{index}")] += 1
            self._pending[(metric.key, f"{base}sum")] += value
            self._pending[(metric.key, f"{base}count")] += 1

    def flush(self) -> None:
        """Send the buffer in one pipeline; on a Redis error the increments are put back for the next try."""
        with self._lock:
            client = self._client
            if client is None or not self._pending:
                return
            batch, self._pending = self._pending, defaultdict(float)
        try:
            pipe = client.pipeline(transaction=False)
            for (key, field), amount in batch.items():
                pipe.hincrbyfloat(key, field, amount)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not flush %d metric increment(s), Redis unreachable: %s", len(batch), exc)
            with self._lock:
                for item, amount in batch.items():
                    self._pending[item] += amount

    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_SECONDS):
            self.flush()


RECORDER = Recorder()


def inc(metric: MetricDef, *labels: str, amount: float = 1.0) -> None:
    """Add to a counter of this process (flushed to Redis within a second)."""
    RECORDER.inc(metric, *labels, amount=amount)


def observe(metric: MetricDef, value: float, *labels: str) -> None:
    """Record one observation of a histogram."""
    RECORDER.observe(metric, value, *labels)
