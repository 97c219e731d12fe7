"""The worker's queue watch (``actors.queue_watch``) against real Redis: one script call finds the queues that
hold messages and wakes the consumers waiting on them; an idle consumer's wait ends at its timeout."""

from __future__ import annotations

import threading
import time

import redis

from actors.queue_watch import QueueWatch

NAMESPACE = "watchtest"


def test_a_waiting_consumer_wakes_when_its_queue_gets_a_message(redis_client: redis.Redis) -> None:
    watch = QueueWatch(redis_client, NAMESPACE, interval=0.02)
    watch.register("builds")
    watch.register("builds.DQ")
    # Given an idle queue, a consumer's wait ends at its timeout, saying nothing arrived
    assert watch.wait("builds", timeout=0.1) is False
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(watch.wait("builds", timeout=30)))
    waiter.start()
    # When a message arrives on its queue, the waiting consumer is woken
    redis_client.rpush(f"{NAMESPACE}:builds", "message-id")
    waiter.join(30)
    assert woke == [True]
    assert watch.check() == {"builds"}
    # A consumer that then finds it empty (another took the message) waits for the next look again
    redis_client.delete(f"{NAMESPACE}:builds")
    watch.emptied("builds")
    started = time.monotonic()
    assert watch.wait("builds", timeout=0.2) is False
    assert time.monotonic() - started >= 0.2


def test_the_watch_reads_delay_queues_too(redis_client: redis.Redis) -> None:
    watch = QueueWatch(redis_client, NAMESPACE, interval=60)
    for queue in ("a", "a.DQ", "b"):
        watch.register(queue)
    redis_client.rpush(f"{NAMESPACE}:a.DQ", "m")
    assert watch.check() == {"a.DQ"}


def test_a_stopping_worker_shortens_the_idle_waits_under_way(redis_client: redis.Redis) -> None:
    watch = QueueWatch(redis_client, NAMESPACE, interval=60)
    watch.register("idle")
    ended: list[float] = []
    waiter = threading.Thread(target=lambda: (watch.wait("idle", timeout=30), ended.append(time.monotonic())))
    waiter.start()
    time.sleep(0.2)
    # When the worker begins to stop, a consumer's idle wait ends soon (its thread is then told to stop)
    stopped_at = time.monotonic()
    watch.stopping()
    waiter.join(10)
    assert ended and ended[0] - stopped_at < 5
