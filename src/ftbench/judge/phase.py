"""One phase, one metric: the verdict from values, by the archive rule or the paired rule.

Both rules call a change a **regression** when the estimated change is above the threshold
*and* significant at the metric's alpha, an **improvement** likewise below minus the threshold,
**no change** when within the threshold, **inconclusive** when beyond it but not significant
(or when the samples cannot reach significance at all). See ``docs/regression.md``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Literal

from ftbench.judge import between, paired, stats
from ftbench.report.verdict import MetricVerdict, VerdictName

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261125


def decide(
    change: float,
    p_value: float,
    *,
    alpha: float,
    threshold: float,
    min_p: float,
    sizes: str = "",
) -> tuple[VerdictName, str]:
    """The verdict and its reason from a percent change and its one-sided p-value."""
    direction = "slower" if change >= 0 else "faster"
    if abs(change) <= threshold:
        return "no change", f"change within {threshold:g}%"
    if min_p >= alpha:
        return "inconclusive", (
            f"{abs(change):.1f}% {direction}, but too few samples{sizes} for p < {alpha:g}"
        )
    if p_value < alpha:
        return ("regression" if change > 0 else "improvement"), (
            f"{abs(change):.1f}% {direction} (> {threshold:g}%) and significant (p < {alpha:g})"
        )
    return "inconclusive", f"{abs(change):.1f}% {direction} but not significant (p >= {alpha:g})"


def archive_metric(
    current: Sequence[float],
    runs: Sequence[Sequence[float]],
    *,
    alpha: float,
    threshold: float,
) -> MetricVerdict:
    """``current`` (this run's values) against earlier runs (one list per baseline report):
    the spread between runs when there are enough of them (:mod:`.between`), else the
    within-run Mann-Whitney U test on the pooled samples. Only positive values are used: a
    ratio to zero means nothing (a clock or ``getrusage`` that read 0, a hand-made report)."""
    current = [v for v in current if v > 0]
    runs = [kept for r in runs if (kept := [v for v in r if v > 0])]
    pooled = [v for r in runs for v in r]
    if not current or not pooled:
        which = "current run" if not current else "baseline"
        return MetricVerdict(
            verdict="inconclusive",
            current_median=_median(current),
            baseline_median=_median(pooled),
            reason=f"no usable samples in the {which}",
        )
    change = stats.pct_change(current, pooled)
    alternative: Literal["greater", "less"] = "greater" if change >= 0 else "less"
    spread = between.between_runs(current, runs, alpha)
    if spread is not None:
        p = spread.p_value if change >= 0 else 1 - spread.p_value
        floor: float | None = spread.noise_floor_pct
        min_p = 0.0
    else:
        p = stats.mann_whitney_p(current, pooled, alternative)
        min_p = stats.min_p_value(len(current), len(pooled))
        # the spread within each side around its own median (not across the change itself)
        floor = paired.noise_floor_pct(
            [*_centred_logs(current), *_centred_logs(pooled)],
            1 / (1 / len(current) + 1 / len(pooled)) / 2,
            alpha,
        )
    verdict, reason = decide(
        change,
        p,
        alpha=alpha,
        threshold=threshold,
        min_p=min_p,
        sizes=f" ({len(current)} vs {len(pooled)})",
    )
    if spread is None:
        reason += f" (within-run test: fewer than {between.MIN_RUNS} baseline runs)"
    ci = stats.bootstrap_ratio_ci(
        current, pooled, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED
    )
    return _made(verdict, current, pooled, change, ci, p, floor, reason)


def paired_metric(
    current: Sequence[float], base: Sequence[float], *, alpha: float, threshold: float
) -> MetricVerdict:
    """Pairs ``(current[i], base[i])`` measured back to back: per-pair ratios, the signed-rank
    test, the order-statistic interval of the median ratio."""
    logs = paired.log_ratios(current, base)
    if not logs:
        return MetricVerdict(
            verdict="inconclusive",
            current_median=_median(current),
            baseline_median=_median(base),
            reason="no complete pairs",
        )
    cur = [c for c, b in zip(current, base, strict=False) if c > 0 and b > 0]
    bas = [b for c, b in zip(current, base, strict=False) if c > 0 and b > 0]
    change = paired.median_ratio_pct(cur, bas)
    alternative: Literal["greater", "less"] = "greater" if change >= 0 else "less"
    p = paired.signed_rank_p(logs, alternative)
    floor = paired.noise_floor_pct(logs, len(logs), alpha)
    verdict, reason = decide(
        change,
        p,
        alpha=alpha,
        threshold=threshold,
        min_p=paired.min_signed_rank_p(len(logs)),
        sizes=f" ({len(logs)} pairs)",
    )
    return _made(verdict, cur, bas, change, paired.ratio_ci(cur, bas), p, floor, reason)


def _made(
    verdict: VerdictName,
    current: Sequence[float],
    base: Sequence[float],
    change: float,
    ci: tuple[float, float] | None,
    p: float,
    floor: float | None,
    reason: str,
) -> MetricVerdict:
    # a ratio beyond the float range has no number JSON can hold: left out
    if ci is not None and not all(math.isfinite(v) for v in ci):
        ci = None
    return MetricVerdict(
        verdict=verdict,
        current_median=_median(current),
        baseline_median=_median(base),
        pct_change=_round(change) if math.isfinite(change) else None,
        ci95_pct=None if ci is None else (_round(ci[0]), _round(ci[1])),
        p_value=p,
        noise_floor_pct=None if floor is None or not math.isfinite(floor) else _round(floor),
        reason=reason,
    )


def _centred_logs(values: Sequence[float]) -> list[float]:
    logs = [math.log(v) for v in values if v > 0]
    mid = statistics.median(logs) if logs else 0.0
    return [v - mid for v in logs]


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _round(value: float) -> float:
    return round(value, 3)
