"""The regression judge: is the current report slower than its baseline, beyond noise?

:func:`judge` is a pure function of the current report and the baseline reports; it returns
the report's ``regression`` block (:class:`~ftbench.report.model.Verdict`).

Method, per phase (warm always, cold when both sides measured it), on the wall time of the
samples that count (failed and timed-out samples are left out and counted): the current
samples against the pooled samples of the baseline reports. A phase **regressed** when the
median slowdown is above ``regress_pct`` *and* a one-sided Mann-Whitney U test says "slower"
with p below the per-phase alpha (``alpha`` divided by the number of judged phases, so the
whole job's false alarm rate stays at most ``alpha``). The 95% interval of the change is a
percentile bootstrap of the median ratio (seeded: the same inputs give the same interval).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from ftbench.errors import EXIT_OK, EXIT_REGRESSION
from ftbench.judge import stats
from ftbench.judge.comparable import differences
from ftbench.judge.options import JudgeOptions
from ftbench.report.model import (
    BaselineInfo,
    KeyedReport,
    PhaseVerdict,
    Report,
    SideStats,
    Verdict,
    VerdictName,
)

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261125
METRIC = "wall_s"
PHASES = ("warm", "cold")
METHOD = (
    "current vs pooled baseline samples of wall_s (ok samples only); one-sided Mann-Whitney U "
    "(exact without ties, else normal approximation) at alpha split across the judged "
    "phases; regression when the median slowdown exceeds the threshold and p < alpha; 95% CI: "
    f"percentile bootstrap of the median ratio ({BOOTSTRAP_RESAMPLES} resamples, fixed seed)"
)


def judge_phase(
    current: Sequence[float],
    baseline: Sequence[float],
    *,
    phase: str,
    alpha: float,
    regress_pct: float,
    current_side: SideStats | None = None,
    baseline_side: SideStats | None = None,
) -> PhaseVerdict:
    """Judge one phase from raw wall times (``alpha`` is this phase's level)."""
    cur = current_side or SideStats(n=len(current), median=_median(current))
    base = baseline_side or SideStats(n=len(baseline), median=_median(baseline))
    if not current or not baseline:
        which = "current run" if not current else "baseline"
        return PhaseVerdict(
            verdict="inconclusive",
            metric=METRIC,
            current=cur,
            baseline=base,
            alpha=alpha,
            reason=f"no ok {phase} samples in the {which}",
        )
    change = stats.pct_change(current, baseline)
    alternative: Literal["greater", "less"] = "greater" if change >= 0 else "less"
    p_value = stats.mann_whitney_p(current, baseline, alternative)
    direction = "slower" if change >= 0 else "faster"
    verdict: VerdictName
    if stats.min_p_value(len(current), len(baseline)) >= alpha:
        verdict = "inconclusive"
        reason = f"too few samples ({len(current)} vs {len(baseline)}) for p < {alpha:g}"
    elif abs(change) <= regress_pct:
        verdict, reason = "no change", f"change within {regress_pct:g}%"
    elif p_value < alpha:
        verdict = "regression" if change > 0 else "improvement"
        reason = (
            f"{abs(change):.1f}% {direction} (> {regress_pct:g}%) and significant (p < {alpha:g})"
        )
    else:
        verdict = "inconclusive"  # a big change that is not significant: can't tell
        reason = f"{abs(change):.1f}% {direction} but not significant (p >= {alpha:g})"
    ci = stats.bootstrap_ratio_ci(
        current, baseline, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED
    )
    # a ratio beyond the float range (sub-normal wall times) has no number the report's JSON
    # can hold: left out rather than written as Infinity/NaN, which no reader accepts
    if ci is not None and not all(math.isfinite(v) for v in ci):
        ci = None
    return PhaseVerdict(
        verdict=verdict,
        metric=METRIC,
        current=cur,
        baseline=base,
        pct_change=_round(change) if math.isfinite(change) else None,
        ci95_pct=None if ci is None else (_round(ci[0]), _round(ci[1])),
        p_value=p_value,
        alternative=alternative,
        alpha=alpha,
        reason=reason,
    )


def judge(
    current: Report,
    baselines: Sequence[KeyedReport],
    options: JudgeOptions,
    *,
    same_target: bool = True,
    selection: str = "",
    notes: Sequence[str] = (),
    no_baseline_reason: str = "no baseline report",
) -> Verdict:
    """Judge ``current`` against ``baselines`` (their samples pooled). Pure: no I/O.

    ``same_target=False`` (``ft-bench compare``: the user picked both sides on purpose)
    compares different commands or tiers; machine class, backend and tool versions still
    count. ``selection``, ``notes`` and ``no_baseline_reason`` describe how the baselines were
    chosen.
    """
    notes = list(notes)
    if not baselines:
        return _verdict(
            options, "no baseline", reason=no_baseline_reason, selection=selection, notes=notes
        )
    diffs = {b.key: differences(current, b.report, same_target=same_target) for b in baselines}
    all_diffs = tuple(dict.fromkeys(d for b in baselines for d in diffs[b.key]))
    comparable = [b for b in baselines if not diffs[b.key]]
    if options.allow_incomparable:
        used, is_comparable = list(baselines), not all_diffs
        if all_diffs:
            notes.append("judged although not comparable (--allow-incomparable)")
    elif comparable:
        used, is_comparable = comparable, True
        if len(comparable) < len(baselines):
            notes.append(
                f"left out {len(baselines) - len(comparable)} baseline report(s) "
                "that are not comparable: " + "; ".join(all_diffs)
            )
        all_diffs = ()
    else:
        return _verdict(
            options,
            "not comparable",
            keys=tuple(b.key for b in baselines),
            comparable=False,
            differences=all_diffs,
            selection=selection,
            notes=notes,
            reason="baseline from a different machine class, "
            "measuring backend, tool versions or target",
        )
    measured = [
        ph
        for ph in PHASES
        if current.runs.get(ph) is not None and any(b.report.runs.get(ph) is not None for b in used)
    ]
    phase_alpha = options.alpha / max(1, len(measured))
    verdicts: dict[str, PhaseVerdict] = {}
    for ph in measured:
        mine = current.runs.get(ph)
        assert mine is not None
        theirs = [p for b in used if (p := b.report.runs.get(ph)) is not None]
        cur = mine.walls()
        base = [w for p in theirs for w in p.walls()]
        verdicts[ph] = judge_phase(
            cur,
            base,
            phase=ph,
            alpha=phase_alpha,
            regress_pct=options.regress_pct,
            current_side=SideStats(
                n=len(cur), median=_median(cur), failed=mine.failed, timed_out=mine.timed_out
            ),
            baseline_side=SideStats(
                n=len(base),
                median=_median(base),
                failed=sum(p.failed for p in theirs),
                timed_out=sum(p.timed_out for p in theirs),
            ),
        )
        if mine.failed or mine.timed_out:
            notes.append(
                f"{ph}: left out {mine.failed} failed and {mine.timed_out} timed-out "
                "current sample(s)"
            )
    return _verdict(
        options,
        _overall(list(verdicts.values())),
        phases=verdicts,
        keys=tuple(b.key for b in used),
        comparable=is_comparable,
        differences=all_diffs,
        selection=selection,
        notes=notes,
        reason="" if measured else "no phase measured by both the current run and the baseline",
    )


def _overall(phases: Sequence[PhaseVerdict]) -> VerdictName:
    verdicts = {p.verdict for p in phases}
    candidates: tuple[VerdictName, ...] = ("regression", "improvement", "inconclusive")
    for candidate in candidates:
        if candidate in verdicts:
            return candidate
    return "no change" if phases else "inconclusive"


def _verdict(
    options: JudgeOptions,
    verdict: VerdictName,
    *,
    reason: str = "",
    phases: dict[str, PhaseVerdict] | None = None,
    keys: tuple[str, ...] = (),
    comparable: bool = True,
    differences: tuple[str, ...] = (),
    selection: str = "",
    notes: Sequence[str] = (),
) -> Verdict:
    phases = phases or {}
    regressed = [name for name, p in phases.items() if p.verdict == "regression"]
    fails = options.fail_on != "never" and any(
        options.fail_on in ("any", name) for name in regressed
    )
    made = Verdict(
        verdict=verdict,
        summary="",
        reason=reason,
        metric=METRIC,
        method=METHOD,
        alpha=options.alpha,
        threshold_pct=options.regress_pct,
        fail_on=options.fail_on,
        exit_code=EXIT_REGRESSION if fails else EXIT_OK,
        baseline=BaselineInfo(
            keys=keys,
            reports=len(keys),
            selection=selection,
            samples={name: p.baseline.n for name, p in phases.items()},
        ),
        comparable=comparable,
        differences=differences,
        notes=tuple(notes),
        phases=phases,
    )
    return replace(made, summary=summary_line(made))


def summary_line(verdict: Verdict) -> str:
    """The one line a reviewer reads: ``warm +18% (95% CI +12%..+24%), p=0.0004: regression``."""
    if verdict.verdict == "no baseline":
        return f"no baseline: {verdict.reason}" if verdict.reason else "no baseline"
    if verdict.verdict == "not comparable":
        return "not comparable (not judged): " + "; ".join(verdict.differences)
    text = "; ".join(_phase_summary(name, p) for name, p in verdict.phases.items()) or (
        f"{verdict.verdict}: {verdict.reason}"
    )
    tail = []
    if verdict.baseline.selection:
        tail.append(f"baseline: {verdict.baseline.selection}")
    if not verdict.comparable:
        tail.append("NOT comparable: " + "; ".join(verdict.differences))
    return text + (" - " + ", ".join(tail) if tail else "")


def _phase_summary(name: str, p: PhaseVerdict) -> str:
    if p.pct_change is None:
        return f"{name}: {p.verdict} ({p.reason})"
    text = f"{name} {pct(p.pct_change)}"
    if p.ci95_pct is not None:
        text += f" (95% CI {pct(p.ci95_pct[0])}..{pct(p.ci95_pct[1])})"
    if p.p_value is not None:
        text += f", {_p(p.p_value)}"
    text += f": {p.verdict}"
    if p.verdict == "inconclusive" and p.reason:
        text += f" ({p.reason})"
    return text


def pct(value: float) -> str:
    """``+18%``, ``-2.5%``: one decimal below 10%."""
    digits = 1 if abs(value) < 10 else 0
    text = f"{value:+.{digits}f}"
    if text in ("+0", "-0", "+0.0", "-0.0"):
        text = "+0" if digits == 0 else "+0.0"
    return text + "%"


def _p(value: float) -> str:
    if value < 0.0001:
        return "p<0.0001"
    return f"p={value:.2g}" if value < 0.01 else f"p={value:.2f}"


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _round(value: float) -> float:
    return round(value, 3)


def pool(reports: Sequence[Report]) -> Report:
    """One report whose phases hold the samples of all ``reports`` (the rest of the first)."""
    phases = {}
    for name in ("cold", "warm"):
        present = [p for r in reports if (p := r.runs.get(name)) is not None]
        if present:
            phases[name] = replace(present[0], samples=tuple(s for p in present for s in p.samples))
    return replace(reports[0], runs=replace(reports[0].runs, **phases))
