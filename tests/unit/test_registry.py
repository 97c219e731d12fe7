"""Job kinds: queue and actor names per priority, backoff, and which names can be registered."""

from __future__ import annotations

import msgspec
import pytest

from actors import registry
from actors.registry import PRIORITIES, JobKind, all_kinds, get_kind, register_kind


class P(msgspec.Struct):
    pass


def _handler(ctx: object, params: object) -> None:
    return None


def test_queue_names_per_priority() -> None:
    kind = JobKind(name="llms_txt", params=P, handler=_handler, queue="llms_txt.ollama")
    assert kind.queue_for("normal") == "llms_txt.ollama"
    assert kind.queue_for("high") == "llms_txt.ollama.high"
    assert kind.queue_for("low") == "llms_txt.ollama.low"


def test_queue_defaults_to_the_kind_name() -> None:
    kind = JobKind(name="article", params=P, handler=_handler)
    assert kind.base_queue == "article"
    assert [kind.queue_for(p) for p in PRIORITIES] == ["article.high", "article", "article.low"]


def test_actor_names_and_priorities() -> None:
    kind = JobKind(name="article", params=P, handler=_handler)
    # One actor per queue; the queue a job was sent to names its actor.
    assert {q: kind.actor_name(q) for q in kind.all_queues()} == {
        "article.high": "job:article:article.high",
        "article": "job:article:article",
        "article.low": "job:article:article.low",
    }
    # Dramatiq runs lower numbers first.
    assert kind.actor_priority("article.high") < kind.actor_priority("article") < kind.actor_priority("article.low")


class LaneParams(msgspec.Struct):
    provider: str = "extractive"


def test_lanes_give_each_param_choice_its_own_queues() -> None:
    kind = JobKind(
        name="llms_txt",
        params=LaneParams,
        handler=_handler,
        lanes=("extractive", "ollama"),
        lane_of=lambda p: p.provider,
    )
    assert kind.queue_for_params(LaneParams("ollama"), "normal") == "llms_txt.ollama"
    assert kind.queue_for_params(LaneParams("extractive"), "high") == "llms_txt.extractive.high"
    assert sorted(kind.all_queues()) == sorted(
        f"llms_txt.{lane}{suffix}" for lane in ("extractive", "ollama") for suffix in (".high", "", ".low")
    )
    assert kind.actor_priority("llms_txt.ollama.high") < kind.actor_priority("llms_txt.ollama")


def test_backoff_doubles_from_the_minimum_up_to_the_maximum() -> None:
    kind = JobKind(name="k", params=P, handler=_handler, min_backoff_seconds=5, max_backoff_seconds=300)
    assert [kind.backoff_seconds(a) for a in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]
    assert kind.backoff_seconds(0) == 5.0
    assert isinstance(kind.backoff_seconds(2), float)


def test_defaults_follow_the_architecture() -> None:
    kind = JobKind(name="k", params=P, handler=_handler)
    assert kind.time_limit_seconds == 20 * 60
    assert kind.max_retries == 3
    assert kind.paid is False


@pytest.fixture
def empty_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_KINDS", {})


@pytest.mark.usefixtures("empty_registry")
def test_register_and_look_up() -> None:
    kind = register_kind(JobKind(name="website_build", params=P, handler=_handler))
    assert get_kind("website_build") is kind
    assert get_kind("nope") is None
    assert all_kinds() == {"website_build": kind}
    # all_kinds() is a copy: changing it does not change the registry
    all_kinds().clear()
    assert get_kind("website_build") is kind


@pytest.mark.usefixtures("empty_registry")
def test_registering_a_name_again_replaces_it() -> None:
    register_kind(JobKind(name="k", params=P, handler=_handler, queue="a"))
    register_kind(JobKind(name="k", params=P, handler=_handler, queue="b"))
    assert get_kind("k").queue == "b"  # type: ignore[union-attr]
    assert len(all_kinds()) == 1


@pytest.mark.usefixtures("empty_registry")
@pytest.mark.parametrize("name", ["", ".", "a.b", "with space", "dash-ed", "slash/ed", "_"])
def test_names_that_would_break_actor_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid kind name"):
        register_kind(JobKind(name=name, params=P, handler=_handler))
    assert all_kinds() == {}
