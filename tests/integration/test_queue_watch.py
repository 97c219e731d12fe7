"""The worker's queue watch (``actors.queue_watch``) against real Redis: one script call finds the queues that
hold messages and wakes the consumers waiting on them; an idle consumer's wait ends at its timeout, and a
consumer polls at the watch's interval only while it holds delayed messages."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from dramatiq import Message
from dramatiq.common import dq_name

from actors.broker import build_broker
from actors.queue_watch import IDLE_FETCH_SECONDS, QueueWatch
from service.settings import Settings

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


def _next_message(consumer: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = next(consumer)
        if message is not None:
            return message
    raise AssertionError("no message came")


def test_a_consumer_polls_only_while_it_holds_a_delayed_message(settings: Settings) -> None:
    broker = build_broker(settings.redis.url)
    broker.declare_queue("held")
    consumer = broker.consume("held", prefetch=4, timeout=50)
    delayed_consumer = broker.consume(dq_name("held"), prefetch=4, timeout=50)
    try:
        # Given a consumer whose message is running (taken, not yet acknowledged)
        broker.enqueue(Message(queue_name="held", actor_name="a", args=(), kwargs={}, options={}))
        running = _next_message(consumer)
        # (its first look after it may still see the watch's last look, which saw the message)
        assert next(consumer) is None
        # When it is asked for the next message and none arrives
        started = time.monotonic()
        assert next(consumer) is None
        # Then it waited for the queue watch (up to its idle fetch), not one poll interval: a running job needs
        # nothing of its thread
        assert time.monotonic() - started >= IDLE_FETCH_SECONDS / 2
        # Given a consumer holding a delayed message (its thread releases it when due)
        broker.enqueue(Message(queue_name="held", actor_name="a", args=(), kwargs={}, options={}), delay=60_000)
        delayed = _next_message(delayed_consumer)
        assert delayed.options.get("eta") is not None
        assert next(delayed_consumer) is None
        # When it is asked for the next message, Then it comes back after a poll interval, to release it on time
        started = time.monotonic()
        assert next(delayed_consumer) is None
        assert time.monotonic() - started < IDLE_FETCH_SECONDS / 2
        consumer.ack(running)
        delayed_consumer.ack(delayed)
    finally:
        consumer.close()
        delayed_consumer.close()
