"""Counters and histograms of several processes add up in Redis (two recorders stand for two processes)."""

from __future__ import annotations

import pytest
import redis

from db.observe.recorder import Recorder, counter, histogram
from service.settings import Settings

HITS = counter("genjobs_test_hits_total", "Test counter.", ("place",))
SIZES = histogram("genjobs_test_sizes", "Test histogram.", ("place",), (1.0, 10.0))


def test_two_recorders_add_to_the_same_series(settings: Settings, redis_client: redis.Redis) -> None:
    first, second = Recorder(), Recorder()
    # Nothing is buffered before start (a process without Redis never grows a buffer)
    first.inc(HITS, "a")
    first.start(settings.redis.url)
    second.start(settings.redis.url)
    try:
        first.inc(HITS, "a")
        second.inc(HITS, "a", amount=2)
        second.inc(HITS, "b")
        first.observe(SIZES, 0.5, "a")
        second.observe(SIZES, 5.0, "a")
        second.observe(SIZES, 50.0, "a")
    finally:
        first.stop()
        second.stop()
    hits = {k.decode(): float(v) for k, v in redis_client.hgetall(HITS.key).items()}
    assert hits == {"a": 3.0, "b": 1.0}
    sizes = {k.decode(): float(v) for k, v in redis_client.hgetall(SIZES.key).items()}
    # Per bucket (the scrape makes them cumulative): <=1, <=10, +Inf
    assert sizes == {"a\x1e0": 1.0, "a\x1e1": 1.0, "a\x1e2": 1.0, "a\x1esum": 55.5, "a\x1ecount": 3.0}


def test_a_label_count_mismatch_is_refused(settings: Settings) -> None:
    recorder = Recorder()
    recorder.start(settings.redis.url)
    try:
        with pytest.raises(ValueError, match="takes labels"):
            recorder.inc(HITS, "a", "b")
    finally:
        recorder.stop()
