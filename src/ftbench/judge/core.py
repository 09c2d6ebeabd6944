"""The regression judge: is the current report slower than its baseline, beyond noise?

:func:`judge` (against archived reports) and :func:`judge_against` (an A/B run's base side)
are pure functions of reports; they return the report's ``regression`` block
(:class:`~ftbench.report.model.Verdict`).

Per phase (warm always, cold when both sides measured it) every metric is judged (CPU time,
wall time, peak memory: :mod:`.metrics`) and one decides (``--metric``, default ``auto``). The
archive rule compares this run with the baseline *runs* (:mod:`.between`: the spread between
runs, not only within one); the A/B rule works on per-pair ratios (:mod:`.paired`). ``alpha``
is split across the judged phases (and, for A/B, across the looks of adaptive sampling), so
the whole job's false-alarm rate stays at most ``alpha``. See ``docs/regression.md``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace

from ftbench.errors import EXIT_OK, EXIT_REGRESSION
from ftbench.judge import between
from ftbench.judge import metrics as m
from ftbench.judge.comparable import differences
from ftbench.judge.options import UNSTEADY_SPEED_PCT, JudgeOptions
from ftbench.judge.phase import archive_metric
from ftbench.judge.summary import summary_line
from ftbench.report.model import (
    BaselineInfo,
    KeyedReport,
    MetricVerdict,
    Phase,
    PhaseVerdict,
    Report,
    SideStats,
    Verdict,
    VerdictName,
)

PHASES = ("warm", "cold")
#: CPU time is judged relative to the machine's speed only when that does not widen the
#: spread between the baseline runs by more than this factor
SPEED_SPREAD_SLACK = 1.1
METHOD = (
    "each metric (cpu, wall, rss) of the ok samples; archive: this run's median against the "
    "baseline runs' medians (log scale, one-sided Student-t prediction bound with the spread "
    "between runs; Mann-Whitney U on pooled samples with fewer than 3 runs); regression when "
    "the change exceeds the threshold and p < alpha (split across the judged phases); 95% CI: "
    "percentile bootstrap of the median ratio"
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
    """Judge ``current`` against ``baselines`` (one run each). Pure: no I/O.

    ``same_target=False`` (``ft-bench compare``: the user picked both sides on purpose)
    compares different commands or tiers; machine class, backend and tool versions still
    count. ``selection``, ``notes`` and ``no_baseline_reason`` describe how the baselines were
    chosen.
    """
    notes = list(notes)
    threshold, source = options.threshold(paired=False)
    if not baselines:
        return make_verdict(
            options,
            "no baseline",
            reason=no_baseline_reason,
            selection=selection,
            notes=notes,
            threshold=(threshold, source),
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
        return make_verdict(
            options,
            "not comparable",
            keys=tuple(b.key for b in baselines),
            comparable=False,
            differences=all_diffs,
            selection=selection,
            notes=notes,
            reason="baseline from a different machine class, "
            "measuring backend, tool versions or target",
            threshold=(threshold, source),
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
        pairs = [(p, b.report) for b in used if (p := b.report.runs.get(ph)) is not None]
        theirs = [p for p, _ in pairs]
        speeds = _speeds(mine, theirs)
        if speeds is not None:
            notes.append(_speed_note(ph, speeds))
        metric = m.choose(options.metric, mine.samples, [s for p in theirs for s in p.samples])
        per = {
            name: _archive_metric(name, mine, theirs, speeds, phase_alpha, threshold)
            for name in m.METRICS
            if m.values(mine.samples, name)
        }
        verdict = phase_verdict(metric, per, mine, theirs, phase_alpha, phase=ph)
        busy = _busy(current, mine)
        if busy and verdict.verdict in ("regression", "improvement"):
            verdict = replace(
                verdict,
                verdict="inconclusive",
                reason=f"machine busy ({busy}): {verdict.verdict} not trusted",
            )
        verdicts[ph] = verdict
        if mine.failed or mine.timed_out:
            notes.append(
                f"{ph}: left out {mine.failed} failed and {mine.timed_out} timed-out "
                "current sample(s)"
            )
    return make_verdict(
        options,
        overall(list(verdicts.values())),
        phases=verdicts,
        keys=tuple(b.key for b in used),
        comparable=is_comparable,
        differences=all_diffs,
        selection=selection,
        notes=notes,
        reason="" if measured else "no phase measured by both the current run and the baseline",
        threshold=(threshold, source),
    )


def _archive_metric(
    name: str,
    mine: Phase,
    theirs: Sequence[Phase],
    speeds: list[float] | None,
    alpha: float,
    threshold: float,
) -> MetricVerdict:
    """One metric against the baseline runs; CPU time relative to each phase's machine speed
    when every phase measured it (``speeds``: current first; the medians shown stay in s)."""
    cur = m.values(mine.samples, name)
    runs = [m.values(p.samples, name) for p in theirs]
    if name != "cpu" or speeds is None:
        return archive_metric(cur, runs, alpha=alpha, threshold=threshold)
    made = archive_metric(
        [v / speeds[0] for v in cur],
        [[v / ref for v in vs] for vs, ref in zip(runs, speeds[1:], strict=True)],
        alpha=alpha,
        threshold=threshold,
    )
    pooled = [v for vs in runs for v in vs]
    return replace(
        made,
        current_median=statistics.median(cur) if cur else None,
        baseline_median=statistics.median(pooled) if pooled else None,
    )


def _speeds(mine: Phase, theirs: Sequence[Phase]) -> list[float] | None:
    """The phases' reference-loop times (``speed_ref_ms``), current first, when CPU time is
    to be judged relative to them: every phase has one, there are enough baseline runs to see
    it, and it does not widen the spread between the baseline runs' CPU medians by more than
    :data:`SPEED_SPREAD_SLACK` (how much a command's CPU time follows the loop's depends on
    the command: a short exec-bound one barely does)."""
    refs = [p.speed_ref_ms for p in (mine, *theirs)]
    if len(theirs) < between.MIN_RUNS or any(r is None or r <= 0 for r in refs):
        return None
    speeds = [r for r in refs if r is not None]
    medians = [statistics.median(v) for p in theirs if (v := m.values(p.samples, "cpu"))]
    if len(medians) < len(theirs) or min(medians) <= 0:
        return None
    raw = statistics.stdev(math.log(v) for v in medians)
    relative = statistics.stdev(
        math.log(v / ref) for v, ref in zip(medians, speeds[1:], strict=True)
    )
    return speeds if relative <= raw * SPEED_SPREAD_SLACK else None


def _speed_note(phase: str, speeds: list[float]) -> str:
    return (
        f"{phase}: cpu judged relative to the machine's speed (reference loop: this run "
        f"{speeds[0]:.2f} ms, baselines {min(speeds[1:]):.2f}-{max(speeds[1:]):.2f} ms)"
    )


def phase_verdict(
    metric: str,
    per: dict[str, MetricVerdict],
    mine: Phase,
    theirs: Sequence[Phase],
    alpha: float,
    *,
    phase: str,
) -> PhaseVerdict:
    """The phase's verdict: the deciding metric's, with every metric's beside it."""
    decided = per.get(metric) or MetricVerdict(
        verdict="inconclusive",
        current_median=None,
        baseline_median=None,
        reason=f"no ok {phase} samples in the current run"
        if not m.values(mine.samples, metric)
        else f"no ok {phase} samples in the baseline",
    )
    n_base = sum(len(m.values(p.samples, metric)) for p in theirs)
    change = decided.pct_change
    return PhaseVerdict(
        verdict=decided.verdict,
        metric=metric,
        current=SideStats(
            n=len(m.values(mine.samples, metric)),
            median=decided.current_median,
            failed=mine.failed,
            timed_out=mine.timed_out,
        ),
        baseline=SideStats(
            n=n_base,
            median=decided.baseline_median,
            failed=sum(p.failed for p in theirs),
            timed_out=sum(p.timed_out for p in theirs),
        ),
        pct_change=change,
        ci95_pct=decided.ci95_pct,
        p_value=decided.p_value,
        alternative=None if change is None else ("greater" if change >= 0 else "less"),
        alpha=alpha,
        reason=decided.reason,
        noise_floor_pct=decided.noise_floor_pct,
        metrics=per or None,
        steps=_steps(metric, mine, theirs),
    )


def _steps(metric: str, mine: Phase, theirs: Sequence[Phase]) -> dict[str, float] | None:
    """Per step: the change of the median of ``metric`` (targets of several steps only)."""
    names = list(mine.steps)
    if len(names) < 2:
        return None
    out: dict[str, float] = {}
    for name in names:
        cur = _step_values(metric, [mine], name)
        base = _step_values(metric, theirs, name)
        if cur and base and statistics.median(base) > 0:
            out[name] = round((statistics.median(cur) / statistics.median(base) - 1) * 100, 3)
    return out or None


def _step_values(metric: str, phases: Sequence[Phase], step: str) -> list[float]:
    out = []
    for phase in phases:
        for sample in phase.samples:
            if not sample.counts:
                continue
            for s in sample.steps:
                if s.name == step and (v := m.value(s, metric)) is not None:
                    out.append(v)
    return out


def _busy(report: Report, phase: Phase) -> str:
    """Why the machine was too unsteady to trust a change in ``phase``, or ``""``: its speed
    (the reference loop) changed by more than :data:`UNSTEADY_SPEED_PCT` while it ran."""
    spread = phase.speed_ref_spread_pct
    if spread is None or spread <= UNSTEADY_SPEED_PCT:
        return ""
    figures = [f"machine speed changed {spread:g}% during the phase"]
    load = report.load
    if load is not None and load.cpu_pressure_pct is not None:
        figures.append(f"CPU pressure {load.cpu_pressure_pct:g}%")
    if load is not None and load.load1 is not None:
        figures.append(f"load {load.load1:g} on {load.cpus or '?'} CPUs")
    return ", ".join(figures)


def overall(phases: Sequence[PhaseVerdict]) -> VerdictName:
    verdicts = {p.verdict for p in phases}
    candidates: tuple[VerdictName, ...] = ("regression", "improvement", "inconclusive")
    for candidate in candidates:
        if candidate in verdicts:
            return candidate
    return "no change" if phases else "inconclusive"


def make_verdict(
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
    threshold: tuple[float, str],
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
        metric=next((p.metric for p in phases.values()), options.metric),
        method=METHOD,
        alpha=options.alpha,
        threshold_pct=threshold[0],
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
        threshold_source=threshold[1],
    )
    return replace(made, summary=summary_line(made))


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
