"""``actors.grouped``: calls that arrive while one runs go together as one call; a group's failure that is not
an outage is only the failing call's; an outage fails each call of the group."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from actors.grouped import Grouped


class Held:
    """A ``run_many`` whose first call of each round waits until released (so that others queue behind it)."""

    def __init__(self, answer: Callable[[list[int]], list[int]]) -> None:
        self.answer = answer
        self.groups: list[list[int]] = []
        self.release = threading.Event()

    def __call__(self, arguments: list[int]) -> list[int]:
        self.groups.append(arguments)
        if len(self.groups) == 1:
            self.release.wait(30)
        return self.answer(arguments)


def _behind_a_first_call(grouped: Grouped[int, int], held: Held, arguments: list[int]) -> dict[int, object]:
    """Run a first call that holds the group's thread, make one call per argument from threads of their own
    while it does, release it; returns each call's result or error by argument."""
    held.groups.clear()
    held.release.clear()
    first = threading.Thread(target=grouped, args=(0,))
    first.start()
    _until(lambda: bool(held.groups))
    outcomes: dict[int, object] = {}

    def call(argument: int) -> None:
        try:
            outcomes[argument] = grouped(argument)
        except Exception as exc:
            outcomes[argument] = exc

    threads = [threading.Thread(target=call, args=(a,)) for a in arguments]
    for t in threads:
        t.start()
    _until(lambda: len(grouped._waiting) == len(arguments))
    held.release.set()
    for t in [first, *threads]:
        t.join(30)
    return outcomes


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_calls_that_arrive_while_one_runs_go_together() -> None:
    held = Held(lambda arguments: [a * 10 for a in arguments])
    grouped: Grouped[int, int] = Grouped("test", held)
    outcomes = _behind_a_first_call(grouped, held, list(range(1, 7)))
    # The six calls waited while the first ran, then went in one group, each with its own result
    assert held.groups[0] == [0]
    assert sorted(held.groups[1]) == list(range(1, 7)) and len(held.groups) == 2
    assert outcomes == {n: n * 10 for n in range(1, 7)}
    grouped.close()
    with pytest.raises(RuntimeError):
        grouped(1)


def test_a_bad_call_fails_alone_and_an_outage_fails_the_group() -> None:
    def answer(arguments: list[int]) -> list[int]:
        if 3 in arguments:
            raise ValueError("three is refused")
        if 7 in arguments:
            raise psycopg.OperationalError("connection lost")
        return arguments

    held = Held(lambda arguments: [0] if arguments == [0] else answer(arguments))
    grouped: Grouped[int, int] = Grouped("test", held)
    # The refused call fails alone; the others of its group get their results
    outcomes = _behind_a_first_call(grouped, held, [1, 2, 3, 4])
    assert isinstance(outcomes.pop(3), ValueError)
    assert outcomes == {1: 1, 2: 2, 4: 4}
    # An outage (call 7's) fails every call of the group it hit (each caller rides it out)
    outcomes = _behind_a_first_call(grouped, held, [4, 5, 6, 7, 8])
    assert all(isinstance(outcomes[n], psycopg.OperationalError) for n in (4, 5, 6, 7, 8))
    grouped.close()


def test_a_submitted_call_is_not_waited_for_and_its_follow_up_gets_the_outcome() -> None:
    held = Held(lambda arguments: [a * 10 if a != 3 else 1 // 0 for a in arguments])
    grouped: Grouped[int, int] = Grouped("test", held)
    outcomes: dict[int, object] = {}
    threads: dict[int, str] = {}
    followed = threading.Event()

    def then(argument: int) -> Callable[[object], None]:
        def follow_up(outcome: object) -> None:
            outcomes[argument] = outcome
            threads[argument] = threading.current_thread().name
            if len(outcomes) == 3:
                followed.set()

        return follow_up

    # Given a first call that holds the group's thread
    first = threading.Thread(target=grouped, args=(0,))
    first.start()
    _until(lambda: bool(held.groups))
    # When three calls are submitted meanwhile, Then submitting returns at once (nothing ran yet)
    for argument in (1, 2, 3):
        grouped.submit(argument, then(argument))
    assert outcomes == {}
    # And once the group ran, each follow-up got its own result, or its own error, on the group's thread
    held.release.set()
    assert followed.wait(30)
    first.join(30)
    assert outcomes[1] == 10 and outcomes[2] == 20 and isinstance(outcomes[3], ZeroDivisionError)
    assert set(threads.values()) == {"test"}
    # A call submitted once the group is closed runs at once, on the caller's thread
    grouped.close()
    grouped.submit(5, then(5))
    assert outcomes[5] == 50 and threads[5] == threading.current_thread().name
