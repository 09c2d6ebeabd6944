"""The regression judge: is the current report slower than its baseline, beyond noise?

:func:`judge` (against archived reports) and :func:`judge_against` (an A/B run's base side)
are pure functions of reports; they return the report's ``regression`` block
(:class:`~ftbench.report.model.Verdict`).

Per phase (warm always, cold when both sides measured it) every metric is judged (wall time,
CPU time, peak memory: :mod:`.metrics`); the gated ones (``--metric``, default ``any``: wall
and CPU) make the verdict, the worst of them winning (:mod:`.gate`). The archive rule compares
this run with the baseline *runs* since the history's last level shift (:mod:`.window`,
:mod:`.between`: the spread between runs, not only within one), and blames the machine only on
evidence that differs from the baselines' (:mod:`.busy`); the A/B rule works on per-pair
ratios (:mod:`.paired`). ``alpha`` is split across the judged phases and gated metrics (and,
for A/B, the looks of adaptive sampling), so the whole job's false-alarm rate stays at most
``alpha``. Intended slowdowns are applied per metric (:mod:`.accept`). See
``docs/regression.md``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from ftbench.judge import accept, between, busy, gate
from ftbench.judge import metrics as m
from ftbench.judge.comparable import differences
from ftbench.judge.options import JudgeOptions
from ftbench.judge.phase import archive_metric
from ftbench.judge.verdicts import make_verdict, phase_verdict
from ftbench.judge.window import window
from ftbench.report.model import (
    Acceptance,
    KeyedReport,
    MetricVerdict,
    Phase,
    PhaseVerdict,
    Report,
    Verdict,
)

PHASES = ("warm", "cold")
#: CPU time is judged relative to the machine's speed only when that does not widen the
#: spread between the baseline runs by more than this factor
SPEED_SPREAD_SLACK = 1.1
METHOD = (
    "each metric (wall, cpu, rss) of the ok samples, the gated ones (--metric) deciding; "
    "archive: this run's median against the medians of the baseline runs since the last level "
    "shift (log scale, one-sided Student-t prediction bound with the spread between runs; "
    "Mann-Whitney U on pooled samples with fewer than 3 runs); regression when the change "
    "exceeds the threshold and p < alpha (split across the judged phases and gated metrics); "
    "95% CI: percentile bootstrap of the median ratio"
)


def judge(
    current: Report,
    baselines: Sequence[KeyedReport],
    options: JudgeOptions,
    *,
    same_target: bool = True,
    windowed: bool = False,
    selection: str = "",
    notes: Sequence[str] = (),
    no_baseline_reason: str = "no baseline report",
) -> Verdict:
    """Judge ``current`` against ``baselines`` (one run each, newest first). Pure: no I/O.

    ``same_target=False`` (``ft-bench compare``: the user picked both sides on purpose)
    compares different commands or tiers; machine class, backend and tool versions still
    count. ``windowed``: the baselines were chosen from the history, so only the runs since
    its last level shift are used (:mod:`.window`). ``selection``, ``notes`` and
    ``no_baseline_reason`` describe how the baselines were chosen.
    """
    notes = list(notes)
    threshold, source = options.threshold(paired=False)
    if not baselines:
        return make_verdict(
            options,
            "no baseline",
            method=METHOD,
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
            method=METHOD,
            keys=tuple(b.key for b in baselines),
            comparable=False,
            differences=all_diffs,
            selection=selection,
            notes=notes,
            reason="baseline from a different machine class, "
            "measuring backend, tool versions or target",
            threshold=(threshold, source),
        )
    gated = m.gates(options.metric)
    window_note = None
    if windowed:
        used, window_notes = window(used, gated, threshold)
        window_note = "; ".join(window_notes) or None
    measured = [
        ph
        for ph in PHASES
        if current.runs.get(ph) is not None and any(b.report.runs.get(ph) is not None for b in used)
    ]
    metric_alpha = options.alpha / max(1, len(measured)) / len(gated)
    verdicts: dict[str, PhaseVerdict] = {}
    applied: list[Acceptance] = []
    for ph in measured:
        mine = current.runs.get(ph)
        assert mine is not None
        theirs = [p for b in used if (p := b.report.runs.get(ph)) is not None]
        speeds = _speeds(mine, theirs)
        if speeds is not None:
            notes.append(_speed_note(ph, speeds))
        verdicts[ph], found = _judge_phase(
            ph, mine, theirs, speeds, options, metric_alpha, threshold, current.tier
        )
        applied += found
        if mine.failed or mine.timed_out:
            notes.append(
                f"{ph}: left out {mine.failed} failed and {mine.timed_out} timed-out "
                "current sample(s)"
            )
    return make_verdict(
        options,
        gate.worst(v.verdict for v in verdicts.values()) if verdicts else "inconclusive",
        method=METHOD,
        phases=verdicts,
        keys=tuple(b.key for b in used),
        comparable=is_comparable,
        differences=all_diffs,
        selection=selection,
        window=window_note,
        notes=notes,
        reason="" if measured else "no phase measured by both the current run and the baseline",
        threshold=(threshold, source),
        accepted=applied,
        commit=used[0].report.git.commit if used else None,
    )


def _judge_phase(
    phase: str,
    mine: Phase,
    theirs: Sequence[Phase],
    speeds: list[float] | None,
    options: JudgeOptions,
    alpha: float,
    threshold: float,
    tier: str,
) -> tuple[PhaseVerdict, list[Acceptance]]:
    """One phase against the baseline runs' phases: every metric judged (each at ``alpha``),
    the machine blamed only on evidence, acceptances applied; the gated metrics decide."""
    gated = m.gates(options.metric)
    machine = busy.evidence(mine, theirs)
    per: dict[str, MetricVerdict] = {}
    applied: list[Acceptance] = []
    for name in m.METRICS:
        if not m.values(mine.samples, name):
            continue
        judged = partial(_archive_metric, name, mine, theirs, speeds, alpha, threshold)
        # CPU time judged relative to the machine's speed needs no other excuse
        blamed = None if name == "cpu" and speeds is not None else machine
        found = accept.matching(options.accept, tier, phase, name)
        per[name], used = accept.apply(
            _blame_machine(judged(), name, blamed, threshold),
            found,
            lambda factor, judged=judged: judged(scale=factor),  # type: ignore[misc]
        )
        if used and found is not None:
            applied.append(found)
    verdict = phase_verdict(gated, per, mine, theirs, alpha, phase=phase)
    if machine is not None:
        verdict = replace(verdict, machine=machine.text)
    return verdict, applied


def _blame_machine(
    made: MetricVerdict, metric: str, machine: busy.Evidence | None, threshold: float
) -> MetricVerdict:
    """A regression or improvement the machine's difference explains becomes inconclusive."""
    change = made.pct_change
    if machine is None or change is None or made.verdict not in ("regression", "improvement"):
        return made
    if not machine.explains(metric, change, threshold):
        return made
    return replace(
        made,
        verdict="inconclusive",
        reason=f"machine {'busier' if change > 0 else 'quieter'} than during the baselines "
        f"({machine.text}): {made.verdict} not trusted",
    )


def _archive_metric(
    name: str,
    mine: Phase,
    theirs: Sequence[Phase],
    speeds: list[float] | None,
    alpha: float,
    threshold: float,
    *,
    scale: float = 1.0,
) -> MetricVerdict:
    """One metric against the baseline runs; CPU time relative to each phase's machine speed
    when every phase measured it (``speeds``: current first; the medians shown stay in s).
    ``scale``: the current values divided by it (an accepted slowdown)."""
    cur = [v / scale for v in m.values(mine.samples, name)]
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
    cur_median = statistics.median(cur) if cur else None
    base_median = statistics.median(pooled) if pooled else None
    raw = None  # the change of the medians shown (seconds), beside the speed-relative one
    if cur_median is not None and base_median:
        raw = round((cur_median / base_median - 1) * 100, 4)
    return replace(made, current_median=cur_median, baseline_median=base_median, raw_pct_change=raw)


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


def pool(reports: Sequence[Report]) -> Report:
    """One report whose phases hold the samples of all ``reports`` (the rest of the first)."""
    phases = {}
    for name in ("cold", "warm"):
        present = [p for r in reports if (p := r.runs.get(name)) is not None]
        if present:
            phases[name] = replace(present[0], samples=tuple(s for p in present for s in p.samples))
    return replace(reports[0], runs=replace(reports[0].runs, **phases))
