"""Change points in a series of per-report medians: pure Python, O(n log n).

Method (``docs/trends.md``, "Change points: method"):

1. the signal is ``log(median)``: timing noise is multiplicative, so a +20% step has the same
   size at 10 ms and at 10 s;
2. the noise ``σ`` is robust: a trimmed mean of the absolute successive differences (a level
   shift moves one difference only, an outlier two), floored at :data:`NOISE_FLOOR`;
3. isolated outliers are clipped: each value is kept within ``±CLIP σ`` of the median of the
   :data:`WINDOW` values around it. A level that lasts three reports or more moves that
   median and passes untouched; one or two slow reports (a noisy CI neighbour) do not;
4. binary segmentation with the L2 cost on the clipped values: a segment is split where the
   split lowers its cost most, when by more than ``penalty · (7 + ln n) · σ²``, then each
   half again. The L2 cost of a segment is O(1) from prefix sums, so the search is
   O(n log n). (PELT, exact for the same cost, was measured quadratic here: with few change
   points its pruning keeps most candidates; ``benchmarks/changepoints.py``.)

The default penalty (:data:`~ftbench.analyse.DEFAULT_PENALTY`) was calibrated by
``benchmarks/changepoints.py``: at most 1% of flat series at 3% and 10% noise get a false
change point (10 to 5,000 reports), and a +20% step at 3% noise is placed at the right
report.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from itertools import pairwise

MIN_SIZE = 2
NOISE_FLOOR = 0.01  # 1% on the log scale: below this, report-to-report jitter is not news
WINDOW = 5
CLIP = 3.0
#: β = penalty · (PENALTY_BASE + ln n) σ²: the constant keeps short series quiet, the
#: logarithm long ones (the largest of n noise-only gains grows like ln n).
PENALTY_BASE = 7.0


def _trimmed_factor(keep: float) -> float:
    """1 / E[|Z| | |Z| below its ``keep`` quantile] for a standard normal Z."""
    q = statistics.NormalDist().inv_cdf(0.5 + keep / 2.0)
    phi = math.exp(-q * q / 2.0) / math.sqrt(2.0 * math.pi)
    return keep / (2.0 * (1.0 / math.sqrt(2.0 * math.pi) - phi))


TRIM_KEEP = 0.8
_FACTOR = _trimmed_factor(TRIM_KEEP)


def noise_scale(log_values: Sequence[float]) -> float:
    """Robust report-to-report noise on the log scale (at least :data:`NOISE_FLOOR`): the
    mean of the smallest 80% of the absolute successive differences, scaled to a standard
    deviation. A level shift moves one difference and an outlier two, which the trim drops;
    for short series it varies much less than the MAD."""
    diffs = sorted(abs(b - a) for a, b in pairwise(log_values))
    if not diffs:
        return NOISE_FLOOR
    kept = diffs[: max(1, int(len(diffs) * TRIM_KEEP))]
    return max(statistics.fmean(kept) * _FACTOR / math.sqrt(2.0), NOISE_FLOOR)


def clipped(values: Sequence[float], sigma: float) -> list[float]:
    """Each value kept within ``CLIP·sigma`` of the running median of :data:`WINDOW`."""
    n = len(values)
    half = WINDOW // 2
    out = []
    limit = CLIP * sigma
    for i, v in enumerate(values):
        lo, hi = max(0, i - half), min(n, i + half + 1)
        window = sorted(values[lo:hi])  # a few values: no statistics.median call per point
        k = len(window) // 2
        med = window[k] if len(window) % 2 else (window[k - 1] + window[k]) / 2
        out.append(min(max(v, med - limit), med + limit))
    return out


def binseg(values: Sequence[float], beta: float, min_size: int = MIN_SIZE) -> list[int]:
    """Indices where a new segment starts: binary segmentation with the L2 cost.

    A segment is split at the point that lowers its cost (sum of squared deviations from the
    segment means) the most, when that lowers it by more than ``beta``; then each half is
    searched the same way. Costs come from prefix sums, so each level of splitting is one
    pass over the series: O(n log n) in all.
    """
    n = len(values)
    s1 = [0.0] * (n + 1)
    s2 = [0.0] * (n + 1)
    for i, v in enumerate(values):
        s1[i + 1] = s1[i] + v
        s2[i + 1] = s2[i] + v * v
    starts: list[int] = []
    todo = [(0, n)]
    while todo:
        a, b = todo.pop()
        if b - a < 2 * min_size:
            continue
        total, count = s1[b] - s1[a], b - a
        # cost(a,t) + cost(t,b) = (s2 terms, constant) - S_left²/n_left - S_right²/n_right,
        # so the best split maximises the explained part below
        base = total * total / count
        best, where = -math.inf, -1
        for t in range(a + min_size, b - min_size + 1):
            left = s1[t] - s1[a]
            right = total - left
            explained = left * left / (t - a) + right * right / (b - t)
            if explained > best:
                best, where = explained, t
        if best - base > beta:
            starts.append(where)
            todo.append((a, where))
            todo.append((where, b))
    return sorted(starts)


def change_points(medians: Sequence[float], penalty: float) -> tuple[list[int], float]:
    """Indices where a new segment starts, and the noise ``σ`` used (log scale)."""
    log = [math.log(v) for v in medians]
    sigma = noise_scale(log)
    n = len(log)
    if n < 2 * MIN_SIZE:
        return [], sigma
    scaled = [v / sigma for v in clipped(log, sigma)]
    return binseg(scaled, penalty_for(n, penalty)), sigma


def penalty_for(n: int, penalty: float) -> float:
    """The cost of one change point in a series of ``n`` (in units of σ²)."""
    return penalty * (PENALTY_BASE + math.log(n))


def segment_levels(values: Sequence[float], starts: Sequence[int]) -> list[tuple[float, float]]:
    """``(before, after)`` per change point: the medians of the segments either side."""
    bounds = [0, *starts, len(values)]
    return [
        (
            float(statistics.median(values[bounds[i - 1] : start])),
            float(statistics.median(values[start : bounds[i + 1]])),
        )
        for i, start in enumerate(starts, start=1)
    ]
