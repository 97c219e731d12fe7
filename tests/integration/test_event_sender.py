"""The worker's queued live events and acknowledgements (``actors.event_sender``) against a real Redis: order
kept across threads, acknowledgements sent with the events, a failing acknowledgement settled alone, an
outage ridden out, what is queued sent at close, and a write-behind success's acknowledgement held until its
commit."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from actors.event_sender import AckAfterCommit, QueuedPublisher
from db.live import LiveEvent, LivePublisher, Progress, ScriptCall, job_stream_key
from tests.support.private_servers import PrivateRedis
from tests.support.services import redis_url

SET_SCRIPT = "redis.call('SET', KEYS[1], ARGV[1]) return 1"
# Fails inside Redis (INCR on a value that is not a number), not by a lost connection.
FAILING_SCRIPT = "redis.call('SET', KEYS[1], 'x') return redis.call('INCR', KEYS[1])"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url())
    yield c
    c.close()


def _progress(job_id: uuid.UUID, done: int) -> LiveEvent:
    return LiveEvent(uuid.uuid4(), Progress(job_id, done, None, 0.0, "step"))


def _done_values(client: redis.Redis, job_id: uuid.UUID) -> list[int]:
    return [json.loads(fields[b"data"])["done"] for _, fields in client.xrange(job_stream_key(job_id))]


def test_events_from_many_threads_keep_each_thread_s_order(client: redis.Redis) -> None:
    sender = QueuedPublisher(LivePublisher(client), budget_seconds=5)
    jobs = [uuid.uuid4() for _ in range(8)]

    def publish_all(job_id: uuid.UUID) -> None:
        for done in range(200):
            sender.publish([_progress(job_id, done)])

    threads = [threading.Thread(target=publish_all, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sender.flush(timeout=30)
    for job_id in jobs:
        assert _done_values(client, job_id) == list(range(200))
    sender.close(timeout=5)


def test_an_acknowledgement_goes_after_its_job_s_events(client: redis.Redis) -> None:
    sender = QueuedPublisher(LivePublisher(client), budget_seconds=5)
    job_id, marker = uuid.uuid4(), f"test:ack:{uuid.uuid4()}"
    sender.publish([_progress(job_id, 1), _progress(job_id, 2)], then=[ScriptCall(SET_SCRIPT, [marker], ["acked"])])
    assert sender.flush(timeout=10)
    assert _done_values(client, job_id) == [1, 2]
    assert client.get(marker) == b"acked"
    sender.close(timeout=5)


def test_an_acknowledgement_whose_script_fails_is_settled_alone_and_the_others_still_go(client: redis.Redis) -> None:
    sender = QueuedPublisher(LivePublisher(client), budget_seconds=5)
    job_id, bad, good = uuid.uuid4(), f"test:bad:{uuid.uuid4()}", f"test:good:{uuid.uuid4()}"
    alone: list[str] = []
    sender.publish(
        [_progress(job_id, 1)], then=[ScriptCall(FAILING_SCRIPT, [bad], [])], fallback=lambda: alone.append("bad")
    )
    sender.publish(
        [_progress(job_id, 2)], then=[ScriptCall(SET_SCRIPT, [good], ["ok"])], fallback=lambda: alone.append("good")
    )
    assert sender.flush(timeout=10)
    assert alone == ["bad"]
    assert client.get(good) == b"ok"
    assert _done_values(client, job_id) == [1, 2]
    sender.close(timeout=5)


def test_an_outage_shorter_than_the_budget_loses_nothing() -> None:
    server = PrivateRedis.start()
    client = redis.Redis.from_url(server.url, socket_connect_timeout=1, socket_timeout=2)
    try:
        sender = QueuedPublisher(LivePublisher(client), budget_seconds=30)
        job_id, marker = uuid.uuid4(), "test:ack:outage"
        sender.publish([_progress(job_id, 0)])
        assert sender.flush(timeout=10)
        # Given Redis goes away, when events and an acknowledgement are published meanwhile
        server.kill()
        started = time.monotonic()
        sender.publish([_progress(job_id, 1)])
        sender.publish([_progress(job_id, 2)], then=[ScriptCall(SET_SCRIPT, [marker], ["acked"])])
        # then publish did not wait for Redis
        assert time.monotonic() - started < 1.0
        # and once Redis is back (empty, as after a crash), they are all sent
        time.sleep(0.5)
        server.restart()
        assert sender.flush(timeout=30)
        assert _done_values(client, job_id) == [1, 2]
        assert client.get(marker) == b"acked"
        sender.close(timeout=5)
    finally:
        client.close()
        server.kill()


def test_close_sends_what_is_queued_and_later_publishes_go_directly(client: redis.Redis) -> None:
    sender = QueuedPublisher(LivePublisher(client), budget_seconds=5)
    job_id = uuid.uuid4()
    for done in range(50):
        sender.publish([_progress(job_id, done)])
    sender.close(timeout=10)
    assert _done_values(client, job_id) == list(range(50))
    sender.publish([_progress(job_id, 50)])
    assert _done_values(client, job_id)[-1] == 50


@pytest.mark.parametrize("acknowledged_first", [True, False])
def test_a_write_behind_success_s_acknowledgement_waits_for_its_commit(
    client: redis.Redis, acknowledged_first: bool
) -> None:
    # Given a finished job whose success is not yet committed (``Outcomes.succeed`` does not wait for it)
    sender = QueuedPublisher(LivePublisher(client), budget_seconds=5)
    job_id, key = uuid.uuid4(), f"test:ack:{uuid.uuid4()}"
    ack = AckAfterCommit(sender)
    settled_alone: list[bool] = []

    def acknowledge() -> None:
        ack.ride(ScriptCall(SET_SCRIPT, [key], ["acked"]), lambda: settled_alone.append(True))

    # When its consumer acknowledges the message before the commit, Then nothing is sent yet
    if acknowledged_first:
        acknowledge()
        assert sender.flush(timeout=30)
        assert client.get(key) is None and _done_values(client, job_id) == []
    # When the success is committed (and, the other way round, the message acknowledged after it)
    ack.committed([_progress(job_id, 7)])
    if not acknowledged_first:
        # (the events wait for the acknowledgement, to go with it in one pipeline: the consumer gives it at once)
        assert sender.flush(timeout=30)
        assert client.get(key) is None and _done_values(client, job_id) == []
        acknowledge()
    # Then the job's last events and the acknowledgement went, once
    assert sender.flush(timeout=30)
    assert client.get(key) == b"acked" and _done_values(client, job_id) == [7]
    assert settled_alone == []
    sender.close(timeout=5)
