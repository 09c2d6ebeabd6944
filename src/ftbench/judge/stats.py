"""The judge's statistics in pure Python: the core install has no numpy or scipy
(``tests/test_stats.py`` checks everything here against them).

* :func:`mann_whitney`, :func:`mann_whitney_p`: one-sided Mann-Whitney U p-values as
  ``scipy.stats.mannwhitneyu(x, y, alternative=..., method="auto")`` gives them: exact when the
  smaller sample has at most 8 values and there are no ties, else the normal approximation with
  tie and continuity correction (scipy's ``_mwu_choose_method``, checked against scipy 1.17);
* :func:`min_p_value`: the smallest p-value two sample sizes can give;
* :func:`bootstrap_ratio_ci`: percentile-bootstrap interval of the median ratio, in percent.

The exact null distribution of U is counted with integers (Gaussian binomial coefficients,
truncated at the summed tail). The bootstrap draws each resample's median from its exact
distribution (order statistics of a resample are binomial counts) instead of drawing and
sorting n values: the same distribution, ~20x faster than resample-and-sort at n=300.
"""

from __future__ import annotations

import math
import random
import statistics
from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate
from typing import Literal, NamedTuple

Alternative = Literal["greater", "less"]
Method = Literal["auto", "exact", "asymptotic"]

#: scipy's ``method="auto"`` uses the exact distribution when the smaller sample has at most
#: this many values (and there are no ties); scipy/stats/_mannwhitneyu.py, _mwu_choose_method.
EXACT_MAX_SMALLER = 8


class MWUResult(NamedTuple):
    u1: float  # U statistic of the first sample (scipy's ``statistic``)
    p_greater: float  # one-sided p, alternative "x is stochastically greater than y"
    p_less: float  # one-sided p, alternative "x is stochastically less than y"
    method: Literal["exact", "asymptotic"]


def median(values: Sequence[float]) -> float:
    """The sample median (mean of the two middle values for an even count)."""
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


def pct_change(current: Sequence[float], baseline: Sequence[float]) -> float:
    """``100 * (median(current) / median(baseline) - 1)``."""
    return (median(current) / median(baseline) - 1.0) * 100.0


def choose_method(n1: int, n2: int, ties: bool) -> Literal["exact", "asymptotic"]:
    """scipy's rule for ``method="auto"``."""
    if min(n1, n2) <= EXACT_MAX_SMALLER and not ties:
        return "exact"
    return "asymptotic"


def mann_whitney(x: Sequence[float], y: Sequence[float], method: Method = "auto") -> MWUResult:
    """U of ``x`` and both one-sided p-values (``method`` as scipy's)."""
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    values = [float(v) for v in x] + [float(v) for v in y]
    if any(math.isnan(v) for v in values):
        raise ValueError("samples must not contain NaN")
    order = sorted(range(n1 + n2), key=values.__getitem__)
    rank2_x = 0  # twice the rank sum of x (average ranks of ties are halves)
    tie_term = 0  # sum of t**3 - t over groups of t equal values
    i = 0
    while i < len(order):
        j = i + 1
        while j < len(order) and values[order[j]] == values[order[i]]:
            j += 1
        rank2_x += (i + 1 + j) * sum(1 for k in order[i:j] if k < n1)
        tie_term += (j - i) ** 3 - (j - i)
        i = j
    u1 = (rank2_x - n1 * (n1 + 1)) / 2
    u2 = n1 * n2 - u1
    chosen = choose_method(n1, n2, tie_term > 0) if method == "auto" else method
    if chosen == "exact":
        p_greater, p_less = _exact_sf((int(u1), int(u2)), n1, n2)
    else:
        p_greater = _normal_sf(u1, n1, n2, tie_term)
        p_less = _normal_sf(u2, n1, n2, tie_term)
    return MWUResult(u1, p_greater, p_less, chosen)


def mann_whitney_p(
    x: Sequence[float], y: Sequence[float], alternative: Alternative, method: Method = "auto"
) -> float:
    """One-sided p: ``scipy.stats.mannwhitneyu(x, y, alternative=..., method=...).pvalue``."""
    result = mann_whitney(x, y, method)
    if alternative == "greater":
        return result.p_greater
    if alternative == "less":
        return result.p_less
    raise ValueError(f"alternative must be 'greater' or 'less', not {alternative!r}")


def min_p_value(n1: int, n2: int, method: Method = "auto") -> float:
    """The smallest one-sided p these sample sizes give: complete separation, no ties
    (exact: ``1 / C(n1 + n2, n1)``). When it is not below alpha, no data can be significant.
    1.0 when a side is empty."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return mann_whitney_p(
        [float(n2 + i) for i in range(n1)], [float(i) for i in range(n2)], "greater", method
    )


def _exact_sf(us: tuple[int, ...], n1: int, n2: int) -> list[float]:
    """P(U >= u) under the null (no ties) for each u, from exact integer counts."""
    m, n = min(n1, n2), max(n1, n2)
    total = math.comb(m + n, m)
    # The distribution is symmetric, P(U >= u) = P(U <= m*n - u): sum the shorter tail.
    tails = [(m * n - u, False) if u > m * n - u else (u - 1, True) for u in us]
    counts = _counts(max(k for k, _ in tails), m, n)
    sums = [sum(counts[: k + 1]) if k >= 0 else 0 for k, _ in tails]
    return [
        min(1.0, ((total - c) if upper else c) / total)
        for c, (_, upper) in zip(sums, tails, strict=True)
    ]


def _counts(k: int, m: int, n: int) -> list[int]:
    """How many of the C(m+n, m) arrangements have U = 0..k: the coefficients of the Gaussian
    binomial ``prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i)`` up to q^k (power series, exact)."""
    if k < 0:
        return []
    c = [1] + [0] * k
    for i in range(1, m + 1):
        s = n + i  # times (1 - q^s)
        if s <= k:
            c[s:] = [a - b for a, b in zip(c[s:], c[:-s], strict=True)]
        for r in range(min(i, k + 1)):  # divided by (1 - q^i): running sums with stride i
            c[r::i] = list(accumulate(c[r::i]))
    return c


def _normal_sf(u: float, n1: int, n2: int, tie_term: int) -> float:
    """scipy's normal approximation: tie-corrected variance, continuity correction 0.5."""
    n = n1 + n2
    s = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    numerator = u - n1 * n2 / 2 - 0.5
    if s == 0:  # every value equal: U is its mean, the numerator -0.5
        return 1.0 if numerator < 0 else 0.0
    return min(1.0, max(0.0, _ndtr(-numerator / s)))


def _ndtr(x: float) -> float:
    """Standard normal CDF, as cephes (scipy.special.ndtr) evaluates it."""
    y = x / math.sqrt(2.0)
    if abs(y) < 1 / math.sqrt(2.0):
        return 0.5 + 0.5 * math.erf(y)
    half = 0.5 * math.erfc(abs(y))
    return 1.0 - half if y > 0 else half


# --- bootstrap -----------------------------------------------------------------------------


def bootstrap_ratio_ci(
    current: Sequence[float],
    baseline: Sequence[float],
    *,
    resamples: int,
    seed: int,
    confidence: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile-bootstrap interval of ``median(current) / median(baseline)`` as a percent
    change: ``resamples`` resamples of each side (with replacement, same size), the ratio of
    their medians, percentiles (linear interpolation, as numpy's default) at ``(1 -
    confidence) / 2`` and ``(1 + confidence) / 2``. The same inputs and seed give the same
    interval. None when a side is empty or has a value that is not finite and positive."""
    if not current or not baseline or resamples < 1 or not 0 < confidence < 1:
        return None
    if not all(math.isfinite(v) and v > 0 for v in (*current, *baseline)):
        return None
    rng = random.Random(seed)
    draw_cur = _MedianSampler(sorted(current))
    draw_base = _MedianSampler(sorted(baseline))
    ratios = sorted(draw_cur.draw(rng) / draw_base.draw(rng) for _ in range(resamples))
    tail = (1.0 - confidence) / 2.0
    lo, hi = percentile(ratios, tail * 100.0), percentile(ratios, (1.0 - tail) * 100.0)
    return (lo - 1.0) * 100.0, (hi - 1.0) * 100.0


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of sorted values, linear interpolation (numpy's)."""
    h = (len(sorted_values) - 1) * q / 100.0
    lo = min(math.floor(h), len(sorted_values) - 1)
    a, b = sorted_values[lo], sorted_values[min(lo + 1, len(sorted_values) - 1)]
    t = h - lo
    return a + (b - a) * t if t < 0.5 else b - (b - a) * (1.0 - t)


class _MedianSampler:
    """Draws the median of a bootstrap resample of ``values`` (sorted) without drawing it.

    With N_j ~ Binomial(n, j/n) the number of resampled values among the j smallest, the k-th
    smallest resampled value is values[J-1] with P(J <= j) = P(N_j >= k). For even n the median
    also needs J' (the (k+1)-th, k = n/2): given J = j, J' = j unless N_j = k, and
    P(J = j, J' > b) = P(N_j = k) (1 - ((j-1)/j)^k) ((n-b)/(n-j))^(n-k) for b >= j.
    """

    def __init__(self, values: list[float]) -> None:
        self.values = values
        n = self.n = len(values)
        self.k = k = (n + 1) // 2 if n % 2 else n // 2
        cdf = [0.0] * n
        for j in range(1, n):
            cdf[j - 1] = max(_binom_sf(n, j / n, k), cdf[j - 2] if j > 1 else 0.0)
        cdf[n - 1] = 1.0
        self.cdf = cdf
        self.stay = [1.0] * n  # P(J' = J | J = j), even n
        if n % 2 == 0:
            for j in range(1, n):
                p_j = cdf[j - 1] - (cdf[j - 2] if j > 1 else 0.0)
                if p_j > 0:
                    move = _binom_pmf(n, j / n, k) * (1.0 - ((j - 1) / j) ** k) / p_j
                    self.stay[j - 1] = 1.0 - min(1.0, max(0.0, move))

    def draw(self, rng: random.Random) -> float:
        j = bisect_left(self.cdf, rng.random()) + 1
        if self.n % 2:
            return self.values[j - 1]
        move = 1.0 - self.stay[j - 1]
        w = rng.random()
        if w >= move:
            return self.values[j - 1]
        n, k = self.n, self.k
        b = min(n, max(j + 1, math.ceil(n - (n - j) * math.pow(w / move, 1.0 / (n - k)))))
        return (self.values[j - 1] + self.values[b - 1]) / 2.0


def _binom_pmf(n: int, p: float, i: int) -> float:
    if p <= 0.0 or p >= 1.0:
        return float(i == (0 if p <= 0.0 else n))
    log = math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
    log += i * math.log(p) + (n - i) * math.log1p(-p)
    return math.exp(log) if log > -745.0 else 0.0


def _binom_sf(n: int, p: float, k: int) -> float:
    """P(Binomial(n, p) >= k) to absolute precision ~1e-16, for k >= n*p or k - 1 < n*p
    (the sum starts at the term nearest the mean and runs away from it)."""
    # upward from k, or 1 - P(X <= k - 1) summed downward from k - 1
    i, step = (k, 1) if k > n * p else (k - 1, -1)
    term = _binom_pmf(n, p, i)
    total = 0.0
    odds = p / (1.0 - p)
    while 0 <= i <= n and term > 0.0:
        total += term
        if term < 1e-18 * total:
            break
        term *= (n - i) / (i + 1) * odds if step > 0 else i / (n - i + 1) / odds
        i += step
    return min(1.0, total) if step > 0 else max(0.0, 1.0 - total)
