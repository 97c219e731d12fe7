"""Scripts sent by their SHA in one pipeline (``db.live.queue_calls`` / ``unknown_scripts``), against real Redis:
a Redis that does not know a script yet (fresh, restarted, or its script cache flushed) still runs every call,
in order."""

from __future__ import annotations

import json
import uuid

import pytest
import redis

from db.live import LiveEvent, LivePublisher, Progress, ScriptCall, job_stream_key, queue_calls, unknown_scripts

_SET = ScriptCall("return redis.call('set', KEYS[1], ARGV[1])", ["k"], ["v"])
_FAIL = ScriptCall("return redis.error_reply('boom')", [], [])


def _progress(job_id: uuid.UUID, owner: uuid.UUID, done: int) -> LiveEvent:
    return LiveEvent(owner_id=owner, body=Progress(job_id=job_id, done=done, total=3, percent=done / 3, step=None))


def test_a_publish_after_the_script_cache_was_flushed_appends_every_event_in_order(redis_client: redis.Redis) -> None:
    # Given a Redis that knows no script
    redis_client.script_flush()
    job_id, owner = uuid.uuid4(), uuid.uuid4()
    # When two events and another call go in one pipeline
    key = f"test:{uuid.uuid4().hex}"
    then = [_SET._replace(keys=[key])]
    LivePublisher(redis_client).publish([_progress(job_id, owner, 1), _progress(job_id, owner, 2)], then=then)
    # Then each ran once, in order
    entries = redis_client.xrange(job_stream_key(job_id))
    assert [json.loads(fields[b"data"])["done"] for _, fields in entries] == [1, 2], entries
    assert redis_client.get(key) == b"v"


def test_unknown_scripts_names_the_calls_that_did_not_run_and_raises_any_other_error(
    redis_client: redis.Redis,
) -> None:
    redis_client.script_flush()
    known = ScriptCall("return 1", [], [])
    redis_client.eval(known.source, 0)  # now cached
    pipe = redis_client.pipeline(transaction=False)
    queue_calls(pipe, [known, _SET])
    results = pipe.execute(raise_on_error=False)
    assert unknown_scripts([known, _SET], results) == [_SET]
    # A script that ran and failed is an error, not an unknown script
    pipe = redis_client.pipeline(transaction=False)
    redis_client.script_load(_FAIL.source)
    queue_calls(pipe, [_FAIL])
    with pytest.raises(redis.ResponseError, match="boom"):
        unknown_scripts([_FAIL], pipe.execute(raise_on_error=False))
