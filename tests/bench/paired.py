"""Paired comparisons on a shared machine: how much slower B is than A, read from runs taken in pairs.

The neighbours' load on the shared 2-core machine changes several-fold within minutes (load average 3 to 10 in
one benchmark), so a run's duration says as much about the moment as about the code. The two runs of a pair
are taken back to back, seconds apart, and see nearly the same machine; their ratio cancels the load level.
The order inside a pair alternates (A then B, B then A), so neither side always gets the warmer page cache or
the calmer second half. The figure to read is the median of the pairs' ratios, with a distribution-free
confidence interval (order statistics: no assumption about the noise's shape): the median ignores the pairs
a burst hit on one side only. The ratio of the two sides' medians compares runs from different moments and
is printed for reference only.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import msgspec


class PairedRatio(msgspec.Struct, frozen=True):
    """B/A over pairs of runs.

    Attributes:
        median: median of the pairs' ratios (the figure a goal is read on).
        low, high: its confidence interval (order statistics of the ratios).
        confidence: the interval's exact coverage (at least the asked level; 0 when there are too few pairs).
        ratio_of_medians: median of B over median of A, for reference.
    """

    median: float
    low: float
    high: float
    confidence: float
    ratio_of_medians: float
    ratios: tuple[float, ...]


def b_first(pair: int) -> bool:
    """Whether B runs first in pair number ``pair`` (it alternates, starting with A)."""
    return pair % 2 == 1


def _binomial_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    ways = sum(math.comb(n, i) for i in range(k + 1))
    return ways / (1 << n)


def median_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(low, high, coverage): the widest-rank pair of order statistics whose coverage of the median is at
    least ``level``; (min, max, 0.0) when there are too few values for that."""
    ordered = sorted(values)
    n = len(ordered)
    # The largest k with P(X < k) <= (1 - level) / 2: [x_(k), x_(n-k+1)] (1-based) covers the median.
    k = 0
    while k + 1 <= n // 2 and _binomial_cdf(k, n) <= (1 - level) / 2:
        k += 1
    if k == 0:
        return ordered[0], ordered[-1], 0.0
    return ordered[k - 1], ordered[n - k], 1 - 2 * _binomial_cdf(k - 1, n)


def paired_ratio(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> PairedRatio:
    """B/A of runs taken in pairs (``a[i]`` and ``b[i]`` back to back)."""
    ratios = [y / x for x, y in zip(a, b, strict=True)]
    low, high, coverage = median_interval(ratios, level)
    return PairedRatio(
        median=statistics.median(ratios),
        low=low,
        high=high,
        confidence=coverage,
        ratio_of_medians=statistics.median(b) / statistics.median(a),
        ratios=tuple(ratios),
    )
