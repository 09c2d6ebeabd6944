"""Summary statistics of a set of samples (seconds).

* ``mad`` is the raw median absolute deviation (not scaled to a normal sigma);
* ``ci95`` is the distribution-free confidence interval of the median from order statistics:
  ``[x_(l), x_(n+1-l)]`` with the largest ``l`` whose binomial tail ``P(B <= l-1) <= 2.5%``,
  ``B ~ Binomial(n, 1/2)`` (what ``scipy.stats.quantile_test`` computes; the tests check they
  agree). It is written out here because importing scipy.stats costs ~0.6 s, paid by every
  run for ten lines of arithmetic. With fewer than 6 samples no such interval reaches 95%, and
  it is ``null``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from ftbench.report.model import Stats


def summarize(values: Sequence[float]) -> Stats:
    xs = sorted(float(v) for v in values)
    n = len(xs)
    if n == 0:
        return Stats(
            n=0, median=None, mean=None, stdev=None, min=None, max=None, mad=None, ci95=None
        )
    med = statistics.median(xs)
    return Stats(
        n=n,
        median=med,
        mean=statistics.fmean(xs),
        stdev=statistics.stdev(xs) if n > 1 else 0.0,
        min=xs[0],
        max=xs[-1],
        mad=statistics.median(abs(x - med) for x in xs),
        ci95=median_ci(xs),
    )


def median_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Order-statistic confidence interval of the median, or None when n is too small."""
    xs = sorted(values)
    n = len(xs)
    tail = (1 - confidence) / 2
    cumulative = 0.0
    rank = 0  # l: the number of order statistics cut from each end, plus one
    log_half_n = n * math.log(2)
    for k in range(n // 2 + 1):
        # P(B = k) through log-gamma: exact binomials overflow floats beyond ~1000 samples
        cumulative += math.exp(
            math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - log_half_n
        )
        if cumulative > tail:
            break
        rank = k + 1
    if rank == 0:
        return None
    return float(xs[rank - 1]), float(xs[n - rank])
