"""The live event log: every job event appended to Redis Streams and published for SSE hubs.

Each event goes, atomically (one Lua script), to:
  * the job's stream   ``genjobs:job:<id>:events``   - its entry id is the SSE ``id:`` of per-job streams;
  * the owner's stream ``genjobs:user:<id>:events``  - its entry id is the SSE ``id:`` of multiplexed streams;
  * the matching pub/sub channels, carrying ``<entry id>\\n<type>\\n<json>`` so an API process's hub
    learns of new entries without one blocking read per connection.

Postgres stays the truth: a lost stream only costs a reconnecting client a fresh snapshot.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import msgspec
import redis
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

_PREFIX = "genjobs"
USER_STREAM_MAXLEN = 10_000
USER_STREAM_TTL_SECONDS = 7 * 86_400

APPEND_SCRIPT = """
local job_id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'type', ARGV[3], 'data', ARGV[4])
local user_id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'type', ARGV[3], 'data', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('PUBLISH', KEYS[3], job_id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
redis.call('PUBLISH', KEYS[4], user_id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
return {job_id, user_id}
"""


class EventBody(msgspec.Struct, frozen=True, tag_field="type", omit_defaults=True, forbid_unknown_fields=False):
    """What every live event carries: its ``type`` (the tag, also the SSE ``event:`` name) and its job.

    The platform's events are below; a kind with events of its own subclasses this with its own ``tag``."""

    job_id: uuid.UUID


class StatusChanged(EventBody, frozen=True, tag="status"):
    """The job's status changed (or it was created: ``from_status`` None, ``detail.created``)."""

    status: str
    from_status: str | None
    at: datetime
    attempts: int
    detail: dict[str, Any] | None = None
    # Set by the transitions that have them: a success's result, a failure's, cancel's or expiry's error,
    # a park's wait, a resume's signal name.
    result: dict[str, Any] | None = None
    error: str | None = None
    waiting_for: str | None = None
    wait_deadline: str | None = None
    signal: str | None = None


class Progress(EventBody, frozen=True, tag="progress"):
    """How far the running job is: ``percent`` of the whole job (never lower within a run)."""

    done: int
    total: int | None
    percent: float
    step: str | None
    result: dict[str, Any] | None = None


class LogLines(EventBody, frozen=True, tag="log"):
    """Output lines of a command the job runs."""

    command: str
    lines: list[str]


class SignalReceived(EventBody, frozen=True, tag="signal"):
    """A signal that resumed a waiting job."""

    name: str
    payload: Any
    sender: str
    at: str


class Deleted(EventBody, frozen=True, tag="deleted"):
    """The job was deleted by its owner (``deleted`` is always true: clients may test either)."""

    deleted: bool


Body = StatusChanged | Progress | LogLines | SignalReceived | Deleted
# Decodes the JSON of any of the platform's live events into its typed body.
body_decoder = msgspec.json.Decoder(Body)


class LiveEvent(msgspec.Struct, frozen=True):
    """One event for live subscribers: its typed body and the owner whose stream also gets it."""

    owner_id: uuid.UUID
    body: EventBody

    @property
    def type(self) -> str:
        return self.body.__struct_config__.tag  # type: ignore[return-value]

    @property
    def job_id(self) -> uuid.UUID:
        return self.body.job_id


def job_stream_key(job_id: uuid.UUID | str) -> str:
    return f"{_PREFIX}:job:{job_id}:events"


def user_stream_key(user_id: uuid.UUID | str) -> str:
    return f"{_PREFIX}:user:{user_id}:events"


def job_channel(job_id: uuid.UUID | str) -> str:
    return f"{_PREFIX}:job:{job_id}"


def user_channel(user_id: uuid.UUID | str) -> str:
    return f"{_PREFIX}:user:{user_id}"


def cancel_flag_key(job_id: uuid.UUID | str) -> str:
    return f"{_PREFIX}:job:{job_id}:cancel"


_encoder = msgspec.json.Encoder()


def append_call(event: LiveEvent, maxlen: int, ttl_seconds: int) -> tuple[list[str], list[Any]]:
    """The keys and arguments of ``APPEND_SCRIPT`` appending ``event`` (for callers that batch it with other
    scripts in one pipeline)."""
    return _script_args(event, maxlen, ttl_seconds)


def _script_args(event: LiveEvent, maxlen: int, ttl_seconds: int) -> tuple[list[str], list[Any]]:
    keys = [
        job_stream_key(event.job_id),
        user_stream_key(event.owner_id),
        job_channel(event.job_id),
        user_channel(event.owner_id),
    ]
    payload = _encoder.encode(event.body).decode()
    args: list[Any] = [maxlen, USER_STREAM_MAXLEN, event.type, payload, ttl_seconds, USER_STREAM_TTL_SECONDS]
    return keys, args


class ScriptCall(NamedTuple):
    """One call of a Lua script, for a pipeline that sends it with others (``LivePublisher.publish``'s ``then``)."""

    source: str
    keys: list[str]
    args: list[Any]


@functools.lru_cache(maxsize=8)
def script_sha(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()


def queue_calls(pipe: redis.client.Pipeline | aioredis.client.Pipeline, calls: Sequence[ScriptCall]) -> None:
    """Put ``calls`` in a pipeline (sync or async) by their SHA, not as ``Script`` objects: a pipeline holding
    those first asks Redis whether it knows them (one more round trip, every time)."""
    for call in calls:
        pipe.evalsha(script_sha(call.source), len(call.keys), *call.keys, *call.args)


def unknown_scripts(calls: Sequence[ScriptCall], results: Sequence[Any]) -> list[ScriptCall]:
    """The calls of a pipeline run with ``raise_on_error=False`` whose script Redis did not know (a fresh or
    restarted Redis): they did not run, and are to be run again, in order, with ``eval``.

    Raises:
        redis.RedisError: the first other error among ``results``.
    """
    for result in results:
        if isinstance(result, Exception) and not isinstance(result, NoScriptError):
            raise result
    return [call for call, result in zip(calls, results, strict=True) if isinstance(result, NoScriptError)]


class LivePublisher:
    """Appends events from synchronous code (workers, scheduler)."""

    def __init__(self, client: redis.Redis, *, maxlen: int = 1000, ttl_seconds: int = 86_400) -> None:
        self._client = client
        self._script = client.register_script(APPEND_SCRIPT)
        self._maxlen = maxlen
        self._ttl = ttl_seconds

    def publish(self, events: list[LiveEvent], *, then: Sequence[ScriptCall] = ()) -> None:
        """Append each event in order, then run the scripts ``then`` (a worker's acknowledgement of the job's
        message): one round trip for all of them.

        Raises:
            redis.RedisError: Redis failed; some of the calls may have run.
        """
        if len(events) == 1 and not then:
            keys, args = _script_args(events[0], self._maxlen, self._ttl)
            self._script(keys=keys, args=args)
            return
        self.run([*self.calls(events), *then])

    def calls(self, events: Sequence[LiveEvent]) -> list[ScriptCall]:
        """The script calls that append ``events``, for ``run``."""
        return [ScriptCall(APPEND_SCRIPT, *_script_args(event, self._maxlen, self._ttl)) for event in events]

    def run(self, calls: Sequence[ScriptCall]) -> None:
        """Run ``calls`` in order, in one round trip (and one more for scripts Redis did not know).

        Raises:
            redis.RedisError: Redis failed; some of the calls may have run.
        """
        for failure in self.run_each(calls):
            if failure is not None:
                raise failure

    def run_each(self, calls: Sequence[ScriptCall]) -> list[redis.RedisError | None]:
        """Run ``calls`` as ``run`` does, each on its own: what each failed with inside Redis (None: it ran).

        Raises:
            redis.ConnectionError: the connection was lost (some of the calls may have run).
        """
        if not calls:
            return []
        pipe = self._client.pipeline(transaction=False)
        queue_calls(pipe, calls)
        outcomes: list[redis.RedisError | None] = []
        for call, result in zip(calls, pipe.execute(raise_on_error=False), strict=True):
            if isinstance(result, NoScriptError):
                try:
                    self._client.eval(call.source, len(call.keys), *call.keys, *call.args)
                    result = None
                except redis.ResponseError as exc:
                    result = exc
            outcomes.append(result if isinstance(result, redis.RedisError) else None)
        return outcomes


class AsyncLivePublisher:
    """Appends events from the API's event loop."""

    def __init__(self, client: aioredis.Redis, *, maxlen: int = 1000, ttl_seconds: int = 86_400) -> None:
        self._client = client
        self._script = client.register_script(APPEND_SCRIPT)
        self._maxlen = maxlen
        self._ttl = ttl_seconds

    async def publish(self, events: list[LiveEvent]) -> None:
        """Append each event in order."""
        for event in events:
            keys, args = _script_args(event, self._maxlen, self._ttl)
            await self._script(keys=keys, args=args)
