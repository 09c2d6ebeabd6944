"""Summary statistics of a set of samples (seconds).

* ``mad`` is the raw median absolute deviation (not scaled to a normal sigma);
* ``ci95`` is a distribution-free 95% confidence interval of the median from order statistics
  (``scipy.stats.quantile_test``); with fewer than 6 samples no such interval reaches 95% and
  it is reported as ``null``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    n: int
    median: float | None
    mean: float | None
    stdev: float | None
    min: float | None
    max: float | None
    mad: float | None
    ci95: tuple[float, float] | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ci95"] = list(self.ci95) if self.ci95 else None
        return data


def summarize(values: Sequence[float]) -> Summary:
    xs = sorted(float(v) for v in values)
    n = len(xs)
    if n == 0:
        return Summary(0, None, None, None, None, None, None, None)
    med = statistics.median(xs)
    return Summary(
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
    if len(values) < 6:
        return None
    from scipy import stats

    result = stats.quantile_test(list(values), q=statistics.median(values), p=0.5)
    ci = result.confidence_interval(confidence_level=confidence)
    low, high = float(ci.low), float(ci.high)
    if math.isnan(low) or math.isnan(high):
        return None
    return low, high
