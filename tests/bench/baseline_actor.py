"""A no-op actor on a plain Dramatiq RedisBroker: the baseline of the throughput benchmark.

Run by ``python -m dramatiq tests.bench.baseline_actor --processes 1 --threads 8`` (the same worker shape as
ours). Each message costs one Redis INCR, so the benchmark knows when all of them were processed. Its own
namespace keeps it apart from the service's queues in the same Redis db.
"""

from __future__ import annotations

import os

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

NAMESPACE = "bench-baseline"
QUEUE = "bench_noop"
ACTOR = "bench_noop"
DONE_KEY = "bench:baseline:done"


def make_broker(url: str) -> RedisBroker:
    """A RedisBroker with Dramatiq's default middleware, as a plain Dramatiq user would have it."""
    return RedisBroker(url=url, namespace=NAMESPACE)


def make_message() -> dramatiq.Message[None]:
    return dramatiq.Message(queue_name=QUEUE, actor_name=ACTOR, args=(), kwargs={}, options={})


# The dramatiq CLI imports this module in the worker: the broker must be set at import time.
_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
broker = make_broker(_url)
dramatiq.set_broker(broker)
_counter = redis.Redis.from_url(_url)


@dramatiq.actor(actor_name=ACTOR, queue_name=QUEUE, max_retries=0)
def bench_noop() -> None:
    _counter.incr(DONE_KEY)
