"""The whole job's percent across a kind's weighted steps (the SSE wire and the API carry it)."""

from __future__ import annotations

from db.progress import overall_percent

PHASES = (("discover", "Finding pages", 5.0), ("fetch", "Fetching pages", 70.0), ("describe", "Describing", 25.0))


def test_steps_before_fill_their_share_and_the_current_one_its_fraction() -> None:
    assert overall_percent(PHASES, "discover", 0, 10) == 0.0
    assert overall_percent(PHASES, "fetch", 0, 100) == 5.0
    assert overall_percent(PHASES, "fetch", 50, 100) == 40.0
    # a new step restarts its own count, but the whole job's percent goes on from where the last step ended
    assert overall_percent(PHASES, "describe", 0, 1168) == 75.0
    assert overall_percent(PHASES, "describe", 1168, 1168) == 100.0


def test_without_phases_a_step_is_measured_by_its_own_count_and_nothing_known_is_none() -> None:
    assert overall_percent((), "working", 3, 4) == 75.0
    assert overall_percent(PHASES, "unknown step", 1, 2) == 50.0
    assert overall_percent(PHASES, "fetch", 0, None) == 5.0
    assert overall_percent((), None, 0, None) is None
    assert overall_percent((), "x", 9, 3) == 100.0
