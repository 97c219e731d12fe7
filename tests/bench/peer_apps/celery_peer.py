"""The Celery peer of ``tests.bench.peers``: a no-op task, Redis as broker and result backend.

Runs in the benchmark's own virtualenv (Celery is not a dependency of the project). The worker:
``celery -A celery_peer worker --pool threads --concurrency 8``; the producer: ``python -m celery_peer N``
(8 concurrent producers send N tasks, then it polls the result keys until every one is a success and prints
``{"jobs", "succeeded", "seconds"}`` as JSON).
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import redis
from celery import Celery
from celery.result import AsyncResult

PRODUCERS = 8
URL = os.environ["PEER_REDIS_URL"]

app = Celery("celery_peer", broker=URL, backend=URL)
app.conf.update(
    task_acks_late=False,
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
    result_expires=3600,
)


@app.task(name="noop")
def noop() -> None:
    return None


def _send(count: int) -> list[AsyncResult]:
    return [noop.delay() for _ in range(count)]


def produce(jobs: int) -> dict[str, float | int]:
    share = [jobs // PRODUCERS + (1 if i < jobs % PRODUCERS else 0) for i in range(PRODUCERS)]
    started = time.monotonic()
    with ThreadPoolExecutor(PRODUCERS) as pool:
        results = [r for batch in pool.map(_send, share) for r in batch]
    # The result backend's own waiting is per thread (its pub/sub consumer is not shared): read the results'
    # keys directly, many per round trip, until every one says SUCCESS.
    keys = [app.backend.get_key_for_task(r.id) for r in results]
    client = redis.Redis.from_url(URL)
    succeeded, deadline = 0, started + 600
    while time.monotonic() < deadline:
        succeeded = sum(
            1
            for i in range(0, len(keys), 1000)
            for raw in client.mget(keys[i : i + 1000])
            if raw is not None and json.loads(raw)["status"] == "SUCCESS"
        )
        if succeeded == jobs:
            break
        time.sleep(0.01)
    seconds = time.monotonic() - started
    client.close()
    return {"jobs": jobs, "succeeded": succeeded, "seconds": seconds}


if __name__ == "__main__":
    produce(10)  # warm-up: connections, the worker's first fetch
    print(json.dumps(produce(int(sys.argv[1]))), flush=True)
