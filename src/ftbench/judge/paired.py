"""Paired statistics for A/B runs (``ft-bench run --against REF``) and the noise floor.

The two sides are measured pair by pair on the same machine, so each pair shares that
moment's conditions: the judge works on the per-pair ratios ``current_i / base_i``.

* :func:`signed_rank_p`: one-sided Wilcoxon signed-rank p-value of the log ratios, as
  ``scipy.stats.wilcoxon(d, alternative=..., method=...)`` computes it: zero differences are
  dropped (``zero_method="wilcox"``); the exact null distribution when at most 50 remain and
  none are tied, else the normal approximation with the tie correction and no continuity
  correction (``tests/test_paired.py`` checks both against scipy);
* :func:`ratio_ci`: the distribution-free interval of the median ratio (order statistics of
  the ratios, as :func:`ftbench.report.summary.median_ci`), as a percent change;
* :func:`noise_floor_pct`: the smallest change a median could have shown as significant at
  level ``alpha`` with the dispersion actually measured (see its docstring).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from statistics import NormalDist
from typing import Literal

from ftbench.report.summary import median_ci

Alternative = Literal["greater", "less"]
#: scipy's ``method="auto"`` takes the exact distribution up to this many nonzero differences
EXACT_MAX = 50
#: the median's standard error is sqrt(pi/2) times the mean's for normal data
MEDIAN_SE_FACTOR = math.sqrt(math.pi / 2)
#: 1.4826 * MAD estimates a normal standard deviation
MAD_SIGMA = 1.4826


def log_ratios(current: Sequence[float], base: Sequence[float]) -> list[float]:
    """``log(current_i / base_i)`` of the pairs whose both values are positive."""
    return [math.log(c / b) for c, b in zip(current, base, strict=False) if c > 0 and b > 0]


def signed_rank_p(diffs: Sequence[float], alternative: Alternative) -> float:
    """One-sided signed-rank p-value of ``diffs`` (``greater``: they tend to be positive)."""
    nonzero = [d for d in diffs if d != 0]
    n = len(nonzero)
    if n == 0:
        return 1.0
    ranks, tie_term = _ranks([abs(d) for d in nonzero])
    r_plus = sum(r for r, d in zip(ranks, nonzero, strict=True) if d > 0)
    ties = tie_term > 0
    if n <= EXACT_MAX and not ties and len(nonzero) == len(diffs):
        counts = _signed_rank_counts(n)
        total = 2.0**n
        stat = round(r_plus)
        if alternative == "greater":
            return min(1.0, sum(counts[stat:]) / total)
        return min(1.0, sum(counts[: stat + 1]) / total)
    mean = n * (n + 1) / 4
    se = math.sqrt((n * (n + 1) * (2 * n + 1) - tie_term / 2) / 24)
    if se == 0:
        return 1.0
    z = (r_plus - mean) / se
    return NormalDist().cdf(-z) if alternative == "greater" else NormalDist().cdf(z)


def min_signed_rank_p(n: int) -> float:
    """The smallest one-sided p-value ``n`` pairs can give (every pair on one side)."""
    return 2.0**-n if n <= EXACT_MAX else 0.0


def ratio_ci(
    current: Sequence[float], base: Sequence[float], confidence: float = 0.95
) -> tuple[float, float] | None:
    """Interval of the median of ``current_i / base_i`` as a percent change, or None when
    there are too few pairs for that confidence."""
    ratios = [c / b for c, b in zip(current, base, strict=False) if c > 0 and b > 0]
    ci = median_ci(ratios, confidence)
    return None if ci is None else ((ci[0] - 1) * 100, (ci[1] - 1) * 100)


def median_ratio_pct(current: Sequence[float], base: Sequence[float]) -> float:
    """The median per-pair change in percent."""
    ratios = [c / b for c, b in zip(current, base, strict=False) if c > 0 and b > 0]
    return (statistics.median(ratios) - 1) * 100 if ratios else math.nan


def median_se(log_values: Sequence[float], n_effective: float | None = None) -> float | None:
    """The standard error of a median of ``n_effective`` (default: all) values spread like
    ``log_values``: ``sqrt(pi/2) * 1.4826 * MAD / sqrt(n)`` (the MAD keeps a few disturbed
    values from inflating it); None with fewer than two values."""
    n = len(log_values) if n_effective is None else n_effective
    if len(log_values) < 2 or n <= 0:
        return None
    med = statistics.median(log_values)
    spread = MAD_SIGMA * statistics.median(abs(v - med) for v in log_values)
    return MEDIAN_SE_FACTOR * spread / math.sqrt(n)


def noise_floor_pct(log_values: Sequence[float], n_effective: float, alpha: float) -> float | None:
    """The smallest change (percent) a median of ``n_effective`` values with this spread could
    have shown as significant at one-sided level ``alpha``.

    ``log_values``: log times (or log ratios) whose spread is the noise; the spread is
    ``1.4826 * MAD`` (robust to a few disturbed samples), the median's standard error
    ``sqrt(pi/2) * spread / sqrt(n_effective)``, and the floor the ``1 - alpha`` normal
    quantile of that, back on the percent scale. None with fewer than two values.
    """
    se = median_se(log_values, n_effective)
    return None if se is None else pct_of_log(NormalDist().inv_cdf(1 - alpha) * se)


def pct_of_log(value: float) -> float:
    """A log ratio as a percent change (``inf`` beyond the float range)."""
    try:
        return (math.exp(value) - 1) * 100
    except OverflowError:
        return math.inf


def _ranks(values: Sequence[float]) -> tuple[list[float], float]:
    """Average ranks (1-based) and the tie term ``sum(t^3 - t)`` over groups of ties."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    tie_term = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        t = j - i + 1
        tie_term += t**3 - t
        i = j + 1
    return ranks, tie_term


_COUNTS: dict[int, list[int]] = {}


def _signed_rank_counts(n: int) -> list[int]:
    """How many of the 2^n sign patterns give each rank sum 0..n(n+1)/2."""
    cached = _COUNTS.get(n)
    if cached is None:
        counts = [1]
        for k in range(1, n + 1):
            grown = counts + [0] * k
            for s in range(len(counts)):
                grown[s + k] += counts[s]
            counts = grown
        _COUNTS[n] = cached = counts
    return cached
