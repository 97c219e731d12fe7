"""The worker's queue watch (``actors.queue_watch``) against real Redis: one script call finds the queues that
hold messages and wakes the consumers waiting on them; an idle consumer's wait ends at its timeout, and a
consumer polls at the watch's interval only while it holds delayed messages; the doorbell wakes consumers
between two looks."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from dramatiq import Message
from dramatiq.common import dq_name

from actors.broker import build_broker
from actors.queue_watch import IDLE_FETCH_SECONDS, QueueWatch, doorbell, ring_call
from db.live import queue_calls, unknown_scripts
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


def _rung_or_not(watch: QueueWatch, queue: str) -> None:
    """Wait (a few seconds at most) for the ring of a message just enqueued on ``queue`` to reach ``watch``; a
    ring sent before the watch subscribed never comes, which is as good."""
    deadline = time.monotonic() + 5
    while watch.rings(queue) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_consumer_polls_only_while_it_holds_a_delayed_message(settings: Settings) -> None:
    broker = build_broker(settings.redis.url)
    broker.declare_queue("held")
    consumer = broker.consume("held", prefetch=4, timeout=50)
    delayed_consumer = broker.consume(dq_name("held"), prefetch=4, timeout=50)
    try:
        # Given a consumer whose message is running (taken, not yet acknowledged)
        broker.enqueue(Message(queue_name="held", actor_name="a", args=(), kwargs={}, options={}))
        running = _next_message(consumer)
        # (the doorbell's ring for that message may reach the watch after the consumer took it: once it came, the
        # consumer's first look after it may still see it, or the watch's last look, which saw the message)
        _rung_or_not(consumer._watch, "held")
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


def _subscribed(client: redis.Redis, channel: str) -> redis.client.PubSub:
    listener = client.pubsub()
    listener.subscribe(channel)
    # The subscription's confirmation: from here on every ring reaches this listener.
    confirmation = listener.get_message(timeout=10)
    assert confirmation is not None and confirmation["type"] == "subscribe"
    return listener


def _rings(listener: redis.client.PubSub, count: int) -> list[str]:
    rings: list[str] = []
    deadline = time.monotonic() + 30
    while len(rings) < count and time.monotonic() < deadline:
        message = listener.get_message(timeout=1)
        if message is not None and message["type"] == "message":
            rings.append(message["data"].decode())
    return rings


def test_a_ring_of_the_doorbell_wakes_a_waiting_consumer_before_the_next_look(redis_client: redis.Redis) -> None:
    # Given a watch whose next look is a minute away, and a consumer of "builds" waiting on it
    channel = doorbell(redis_client, NAMESPACE)
    # (the watches of this module's other tests still listen on the same channel: their threads outlive them)
    listening_before = dict(redis_client.pubsub_numsub(channel))[channel.encode()]
    watch = QueueWatch(redis_client, NAMESPACE, interval=60)
    watch.register("builds")
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(watch.wait("builds", timeout=30)))
    waiter.start()
    # When the doorbell rings for another queue, and then for "builds" (once this watch listens too)
    deadline = time.monotonic() + 30
    while redis_client.publish(channel, "other") <= listening_before and time.monotonic() < deadline:
        time.sleep(0.01)
    redis_client.publish(channel, "builds")
    # Then the consumer is woken by the ring (no look found a message: the queue itself is empty)
    waiter.join(30)
    assert woke == [True]
    assert redis_client.llen(f"{NAMESPACE}:builds") == 0
    # A consumer that found it empty while no ring came forgets it; one that looked before a ring does not
    rings = watch.rings("builds")
    watch.emptied("builds", rings)
    assert watch.wait("builds", timeout=0) is False
    watch.rung("builds")
    watch.emptied("builds", rings)
    assert watch.wait("builds", timeout=0) is True


def test_the_broker_and_the_apis_sender_ring_for_the_queues_they_enqueue_on(
    settings: Settings, redis_client: redis.Redis
) -> None:
    broker = build_broker(settings.redis.url)
    listener = _subscribed(redis_client, doorbell(broker.client, broker.namespace))
    try:
        # The broker rings once it enqueued a message, and not for a delayed one (that rings when it is due)
        broker.declare_queue("rung")
        broker.enqueue(Message(queue_name="rung", actor_name="a", args=(), kwargs={}, options={}), delay=60_000)
        broker.enqueue(Message(queue_name="rung", actor_name="a", args=(), kwargs={}, options={}))
        assert _rings(listener, 1) == ["rung"]
        assert listener.get_message(timeout=0.5) is None
        # The API's creation pipeline rings once per queue for a group of messages
        pipe = broker.client.pipeline(transaction=False)
        queue_calls(pipe, [ring_call(broker.client, broker.namespace, ["b", "a", "b"])])
        results = pipe.execute(raise_on_error=False)
        for call in unknown_scripts([ring_call(broker.client, broker.namespace, ["b", "a", "b"])], results):
            redis_client.eval(call.source, len(call.keys), *call.keys, *call.args)
        assert _rings(listener, 2) == ["a", "b"]
    finally:
        listener.close()
        broker.client.delete(*broker.client.keys(f"{broker.namespace}:rung*"))
        broker.close()


def test_the_doorbell_is_one_per_redis_database() -> None:
    # Channels are server-wide: two deployments in two databases of one server ring apart
    first = redis.Redis.from_url("redis://127.0.0.1:6379/1")
    second = redis.Redis.from_url("redis://127.0.0.1:6379/2")
    assert doorbell(first, "dramatiq") != doorbell(second, "dramatiq")
