"""The A/B judge (``ft-bench run --against REF``): the report's runs against its base side.

Sample ``i`` of each side ran back to back (``measure/ab.py``), so each pair shares that
moment's conditions, whatever the machine's drift: every metric, wall time included, is judged
on the per-pair ratios (:mod:`.paired`, :func:`ftbench.judge.phase.paired_metric`), and the
gated ones make the verdict (:mod:`.gate`). Sampling is adaptive; :func:`clear_enough` tells
the measuring stage when to stop, and alpha is split across the phases, the gated metrics and
the looks that can reject (:func:`pairs_to_reject`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace
from statistics import NormalDist

from ftbench.judge import accept, gate, paired
from ftbench.judge import metrics as m
from ftbench.judge.options import JudgeOptions
from ftbench.judge.phase import paired_metric
from ftbench.judge.verdicts import make_verdict, phase_verdict
from ftbench.report.model import (
    Acceptance,
    MetricVerdict,
    Phase,
    PhaseVerdict,
    Report,
    Runs,
    Verdict,
    VerdictName,
)

PHASES = ("warm", "cold")
METHOD_AB = (
    "A/B, interleaved pairs (ABBA) on the same machine: per-pair ratios current/base of each "
    "metric (wall, cpu, rss), the gated ones (--metric) deciding; one-sided Wilcoxon "
    "signed-rank test of the log ratios at alpha split across phases, gated metrics and the "
    "looks of adaptive sampling; regression when the median ratio exceeds the threshold and "
    "p < alpha; 95% CI: order statistics of the pair ratios"
)
#: looks that can reject, for the alpha of each (the first look of a phase, the cap)
REJECTING_LOOKS = 2


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
            options,
            "no baseline",
            method=METHOD_AB,
            reason="not an A/B run",
            threshold=(threshold, source),
        )
    judged = _common_steps(current)
    diffs = tuple(_tool_differences(base.tool_versions, current.environment.tool_versions, judged))
    if judged is not None:  # the sides ran different steps: only the ones both ran count
        current = _restricted(current, judged)
        base = current.against
        assert base is not None
    measured = [
        ph for ph in PHASES if current.runs.get(ph) is not None and base.runs.get(ph) is not None
    ]
    gated = m.gates(options.metric)
    verdicts: dict[str, PhaseVerdict] = {}
    applied: list[Acceptance] = []
    if not diffs or options.allow_incomparable:
        for ph in measured:
            mine, theirs = current.runs.get(ph), base.runs.get(ph)
            assert mine is not None and theirs is not None
            alpha = pair_alpha(options, len(measured), (looks or {}).get(ph, 1))
            verdicts[ph], used = judge_pairs(
                mine,
                theirs,
                gated=gated,
                alpha=alpha,
                threshold=threshold,
                phase=ph,
                acceptances=[
                    a
                    for name in m.METRICS
                    if (a := accept.matching(options.accept, current.tier, ph, name))
                ],
            )
            applied += used
    name: VerdictName = gate.worst(v.verdict for v in verdicts.values())
    if not verdicts:
        name = "not comparable" if measured else "inconclusive"
    return make_verdict(
        options,
        name,
        method=METHOD_AB,
        phases=verdicts,
        comparable=not diffs,
        differences=diffs,
        notes=definition_notes(current),
        selection=f"A/B against {base.how}",
        reason="" if verdicts or not diffs else "the two sides run different tool versions",
        threshold=(threshold, source),
        accepted=applied,
    )


def pair_alpha(options: JudgeOptions, phases: int, looks: int) -> float:
    """The level of one gated metric at one look at one phase of an A/B run."""
    return options.alpha / max(1, phases) / len(m.gates(options.metric)) / max(1, looks)


def pairs_to_reject(options: JudgeOptions, phases: int) -> int:
    """The fewest pairs that can show a significant change at a look's level: with fewer, a
    look can only stop on a clear "no change" (it spends no alpha)."""
    alpha = pair_alpha(options, phases, REJECTING_LOOKS)
    n = 1
    while paired.min_signed_rank_p(n) >= alpha:
        n += 1
    return n


def clear_enough(
    current: Sequence[m.Counted],
    base: Sequence[m.Counted],
    options: JudgeOptions,
    *,
    phases: int,
    looks: int,
) -> bool:
    """Whether adaptive sampling of an A/B phase may stop: a gated metric is a significant
    regression (the phase is one, whatever the others say); or every gated metric is clear
    on its own: a significant improvement, or within the threshold with a one-sided
    :data:`CLEAR_CONFIDENCE` bound on each side (:func:`_within`).

    Stopping on "no change" cannot raise a false alarm, so its bound need not be at the
    rejection's level: it only risks missing a change, and a change of twice the threshold
    passes for "no change" only when its estimate is more than three standard errors short
    of it (0.1% of the time). On a busy machine wall times need many pairs to prove a change
    within 5% at the rejection's level; at 90% they stop as soon as the answer is plain."""
    pairs = _pairs(current, base)
    threshold, _ = options.threshold(paired=True)
    alpha = pair_alpha(options, phases, looks)
    clear = []
    for metric in m.gates(options.metric):
        cur, bas = _values(pairs, metric)
        if not cur:
            return False
        made = paired_metric(cur, bas, alpha=alpha, threshold=threshold)
        if made.verdict == "regression":
            return True
        clear.append(made.verdict == "improvement" or _within(cur, bas, threshold))
    return all(clear)


#: the one-sided confidence of the bounds that stop sampling on "no change"
CLEAR_CONFIDENCE = 0.9


def _within(current: Sequence[float], base: Sequence[float], threshold: float) -> bool:
    """Whether the median pair ratio lies within ``threshold`` percent with a one-sided
    :data:`CLEAR_CONFIDENCE` bound on each side (normal approximation of the median of the
    log ratios, its spread from their MAD; :func:`paired.median_se`)."""
    logs = paired.log_ratios(current, base)
    se = paired.median_se(logs)
    if se is None:
        return False
    bound = NormalDist().inv_cdf(CLEAR_CONFIDENCE) * se
    mid = statistics.median(logs)
    return mid + bound < math.log1p(threshold / 100) and mid - bound > math.log1p(-threshold / 100)


def judge_pairs(
    mine: Phase,
    theirs: Phase,
    *,
    gated: tuple[str, ...],
    alpha: float,
    threshold: float,
    phase: str,
    acceptances: Sequence[Acceptance | None] = (),
) -> tuple[PhaseVerdict, list[Acceptance]]:
    """One phase of an A/B run: sample i of each side is a pair (both must count); the
    acceptances that applied (``acceptances``: per metric of :data:`metrics.METRICS`)."""
    pairs = _pairs(mine.samples, theirs.samples)
    per: dict[str, MetricVerdict] = {}
    applied: list[Acceptance] = []
    for name, found in zip(m.METRICS, [*acceptances, *[None] * 3], strict=False):
        cur, bas = _values(pairs, name)
        if not cur:
            continue
        made = paired_metric(cur, bas, alpha=alpha, threshold=threshold)
        made, used = accept.apply(
            made,
            found,
            lambda f, c=cur, b=bas: paired_metric(  # type: ignore[misc]
                [v / f for v in c], b, alpha=alpha, threshold=threshold
            ),
        )
        if used and found is not None:
            applied.append(found)
        per[name] = made
    return phase_verdict(gated, per, mine, [theirs], alpha, phase=phase), applied


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


def _tool_differences(
    base: dict[str, str | None], current: dict[str, str | None], steps: frozenset[str] | None
) -> list[str]:
    """Tool versions that differ between the sides, of the judged ``steps`` (None: all)."""
    return [
        f"tool_versions.{step}: {base.get(step)} -> {current.get(step)}"
        for step in sorted(set(base) | set(current))
        if base.get(step) != current.get(step) and (steps is None or step in steps)
    ]


def _common_steps(report: Report) -> frozenset[str] | None:
    """The steps both sides ran, when one side ran steps the other did not (else None)."""
    base = report.against
    if base is None or not base.unjudged_steps:
        return None
    return frozenset(s.name for s in report.target.steps) & {
        st.name for _, ph in base.runs.items() for s in ph.samples for st in s.steps
    }


def _restricted(report: Report, names: frozenset[str]) -> Report:
    """The report with each sample of both sides summed over the steps ``names`` only."""

    def phase(ph: Phase) -> Phase:
        samples = tuple(
            replace(s, wall_s=p.wall_s, user_s=p.user_s, sys_s=p.sys_s, max_rss_kb=p.max_rss_kb)
            for s, p in zip(ph.samples, m.restrict(ph.samples, names), strict=True)
        )
        steps = {k: v for k, v in ph.steps.items() if k in names}
        return replace(ph, samples=samples, steps=steps)

    def runs(r: Runs) -> Runs:
        return Runs(**{name: phase(ph) for name, ph in r.items()})

    assert report.against is not None
    against = replace(report.against, runs=runs(report.against.runs))
    return replace(report, runs=runs(report.runs), against=against)


def definition_notes(report: Report) -> list[str]:
    """What the verdict says when the tier's definition differs between REF and HEAD."""
    base = report.against
    if base is None or base.definition is None:
        return []
    changes = "; ".join(base.definition_changes or ()) or "it differs"
    if base.definition == "own":
        out = [
            f"the tier's definition differs between {base.ref} and HEAD ({changes}): each side "
            "ran its own, so the change of definition is judged with the commit "
            "(--base-definition current: HEAD's on both sides)"
        ]
    else:
        out = [
            f"the tier's definition differs between {base.ref} and HEAD ({changes}): both sides "
            "ran HEAD's (the commit's code only)"
        ]
    if base.unjudged_steps:
        out.append(
            f"steps only one side ran, measured but not judged: {', '.join(base.unjudged_steps)}"
        )
    return out
