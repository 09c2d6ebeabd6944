"""Judging one run against earlier runs when runs differ more than samples do.

Samples of one run share that run's conditions (the machine's load, its CPU's frequency, what
sits in the caches), so two runs of unchanged code differ by more than the spread *within*
either suggests. The archive judge therefore compares the current run's median with the
medians of the baseline runs, one value per run, on a log scale: with ``K`` baseline runs of
mean ``m`` and standard deviation ``s`` (the spread *between* runs, which includes the
within-run noise of each median), the current median ``x`` is beyond noise when

    t = (x - m) / (s_eff * sqrt(1 + 1/K))  >  t_{K-1}(1 - alpha)

the one-sided Student-t prediction bound for one more run (``s_eff`` is ``s``, but never less
than the current run's own within-run standard error of its median). The noise floor is the
change at that bound. Needs at least :data:`MIN_RUNS` baseline runs; with fewer the judge
falls back to the within-run test and says so.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import NamedTuple

from ftbench.judge.paired import MAD_SIGMA, MEDIAN_SE_FACTOR, pct_of_log

#: fewer baseline runs than this give no usable estimate of the spread between runs
MIN_RUNS = 3
#: the spread between runs is taken as at least 1% (log scale): runs that agree closer than
#: that by chance must not make a 1% change look significant
MIN_SPREAD = 0.01


class BetweenRuns(NamedTuple):
    p_value: float
    noise_floor_pct: float
    spread: float  # s_eff, log scale


def between_runs(
    current: Sequence[float], runs: Sequence[Sequence[float]], alpha: float
) -> BetweenRuns | None:
    """The one-sided p-value that ``current``'s median is above the baseline runs' and the
    noise floor at ``alpha``; None with fewer than :data:`MIN_RUNS` usable runs."""
    medians = [statistics.median(r) for r in runs if r and statistics.median(r) > 0]
    if len(medians) < MIN_RUNS or not current or statistics.median(current) <= 0:
        return None
    logs = [math.log(m) for m in medians]
    k = len(logs)
    # mean and standard deviation, as the t prediction bound assumes: a robust spread (MAD)
    # of 10 values is much noisier than 9 degrees of freedom allow, and raised false alarms
    # to 1-2% with 5-10% drift between runs (benchmarks/verdicts.py)
    mean, sd = statistics.fmean(logs), statistics.stdev(logs)
    cur_logs = [math.log(v) for v in current if v > 0]
    within = 0.0
    if len(cur_logs) > 1:
        mid = statistics.median(cur_logs)
        mad = statistics.median(abs(v - mid) for v in cur_logs)
        within = MEDIAN_SE_FACTOR * MAD_SIGMA * mad / math.sqrt(len(cur_logs))
    s_eff = max(sd, within, MIN_SPREAD)
    scale = s_eff * math.sqrt(1 + 1 / k)
    t = (math.log(statistics.median(current)) - mean) / scale
    df = k - 1
    p = t_sf(t, df)
    floor = pct_of_log(t_ppf(1 - alpha, df) * scale)
    return BetweenRuns(p, floor, s_eff)


def t_sf(t: float, df: int) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    x = df / (df + t * t)
    tail = 0.5 * _betainc(df / 2, 0.5, x)
    return tail if t >= 0 else 1 - tail


def t_ppf(q: float, df: int) -> float:
    """The ``q`` quantile of Student's t (bisection on :func:`t_sf`; q in (0.5, 1))."""
    lo, hi = 0.0, 1.0
    while t_sf(hi, df) > 1 - q:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        if t_sf(mid, df) > 1 - q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b) (continued fraction, Lentz)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    if x > (a + 1) / (a + b + 2):
        return 1 - _betainc(b, a, 1 - x)
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + num * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return math.exp(log_front) * h / a
