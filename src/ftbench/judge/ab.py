"""The A/B judge (``ft-bench run --against REF``): the report's runs against its base side.

Sample ``i`` of each side ran back to back (``measure/ab.py``), so each pair shares that
moment's conditions: every metric is judged on the per-pair ratios (:mod:`.paired`,
:func:`ftbench.judge.phase.paired_metric`). Sampling is adaptive; :func:`clear_enough` tells
the measuring stage when to stop, and alpha is split across the phases and the looks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ftbench.judge import metrics as m
from ftbench.judge.core import make_verdict, overall, phase_verdict
from ftbench.judge.options import JudgeOptions
from ftbench.judge.phase import paired_metric
from ftbench.report.model import MetricVerdict, Phase, PhaseVerdict, Report, Verdict, VerdictName

PHASES = ("warm", "cold")
METHOD_AB = (
    "A/B, interleaved pairs (ABBA) on the same machine: per-pair ratios current/base of each "
    "metric; one-sided Wilcoxon signed-rank test of the log ratios at alpha split across "
    "phases and the looks of adaptive sampling; regression when the median ratio exceeds the "
    "threshold and p < alpha; 95% CI: order statistics of the pair ratios"
)


def judge_against(
    current: Report, options: JudgeOptions, *, looks: Mapping[str, int] | None = None
) -> Verdict:
    """Judge an A/B report: its runs against its ``against`` block's runs, pair by pair.

    ``looks``: per phase, how many times sampling could check the verdict (alpha is split
    across them)."""
    base = current.against
    threshold, source = options.threshold(paired=True)
    if base is None:
        return make_verdict(
            options, "no baseline", reason="not an A/B run", threshold=(threshold, source)
        )
    diffs = tuple(_tool_differences(base.tool_versions, current.environment.tool_versions))
    measured = [
        ph for ph in PHASES if current.runs.get(ph) is not None and base.runs.get(ph) is not None
    ]
    verdicts: dict[str, PhaseVerdict] = {}
    if not diffs or options.allow_incomparable:
        for ph in measured:
            mine, theirs = current.runs.get(ph), base.runs.get(ph)
            assert mine is not None and theirs is not None
            alpha = pair_alpha(options, len(measured), (looks or {}).get(ph, 1))
            verdicts[ph] = judge_pairs(
                mine, theirs, metric=options.metric, alpha=alpha, threshold=threshold, phase=ph
            )
    name: VerdictName = overall(list(verdicts.values())) if verdicts else "not comparable"
    if not measured:
        name = "inconclusive"
    return replace(
        make_verdict(
            options,
            name,
            phases=verdicts,
            comparable=not diffs,
            differences=diffs,
            selection=f"A/B against {base.how}",
            reason="" if verdicts or not diffs else "the two sides run different tool versions",
            threshold=(threshold, source),
        ),
        method=METHOD_AB,
    )


def pair_alpha(options: JudgeOptions, phases: int, looks: int) -> float:
    """The level of one look at one phase of an A/B run."""
    return options.alpha / max(1, phases) / max(1, looks)


def clear_enough(
    current: Sequence[m.Counted],
    base: Sequence[m.Counted],
    options: JudgeOptions,
    *,
    phases: int,
    looks: int,
) -> bool:
    """Whether adaptive sampling of an A/B phase may stop: the deciding metric is a
    significant regression or improvement; or it is within the threshold and a change of the
    threshold's size would have shown (noise floor below it), or its 95% interval lies within
    the threshold. Stopping on "no change" cannot raise a false alarm; a real change of twice
    the threshold passes for one only when its estimate is three standard errors short."""
    pairs = _pairs(current, base)
    metric = m.choose(options.metric, [c for c, _ in pairs], [b for _, b in pairs])
    cur, bas = _values(pairs, metric)
    if not cur:
        return False
    threshold, _ = options.threshold(paired=True)
    made = paired_metric(cur, bas, alpha=pair_alpha(options, phases, looks), threshold=threshold)
    if made.verdict in ("regression", "improvement"):
        return True
    floor, change = made.noise_floor_pct, made.pct_change
    if floor is not None and change is not None and floor < threshold >= abs(change):
        return True
    ci = made.ci95_pct
    return ci is not None and -threshold < ci[0] and ci[1] < threshold


def judge_pairs(
    mine: Phase, theirs: Phase, *, metric: str, alpha: float, threshold: float, phase: str
) -> PhaseVerdict:
    """One phase of an A/B run: sample i of each side is a pair (both must count)."""
    pairs = _pairs(mine.samples, theirs.samples)
    chosen = m.choose(metric, [c for c, _ in pairs], [b for _, b in pairs])
    per: dict[str, MetricVerdict] = {}
    for name in m.METRICS:
        cur, bas = _values(pairs, name)
        if cur:
            per[name] = paired_metric(cur, bas, alpha=alpha, threshold=threshold)
    return phase_verdict(chosen, per, mine, [theirs], alpha, phase=phase)


def _pairs(
    current: Sequence[m.Counted], base: Sequence[m.Counted]
) -> list[tuple[m.Counted, m.Counted]]:
    """Sample i of each side, where both count."""
    return [(c, b) for c, b in zip(current, base, strict=False) if m.counts(c) and m.counts(b)]


def _values(
    pairs: Sequence[tuple[m.Counted, m.Counted]], metric: str
) -> tuple[list[float], list[float]]:
    """The metric of both sides of the pairs where both have it."""
    both = [(m.value(c, metric), m.value(b, metric)) for c, b in pairs]
    kept = [(c, b) for c, b in both if c is not None and b is not None]
    return [c for c, _ in kept], [b for _, b in kept]


def _tool_differences(base: dict[str, str | None], current: dict[str, str | None]) -> list[str]:
    return [
        f"tool_versions.{step}: {base.get(step)} -> {current.get(step)}"
        for step in sorted(set(base) | set(current))
        if base.get(step) != current.get(step)
    ]
