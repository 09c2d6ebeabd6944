"""The verdict block both rules make (``judge/core.py`` archive, ``judge/ab.py`` A/B): a
phase's verdict from its metrics' (the gated ones deciding, :mod:`.gate`), and the report's
``regression`` block from its phases'."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import replace

from ftbench.errors import EXIT_OK, EXIT_REGRESSION
from ftbench.judge import gate
from ftbench.judge import metrics as m
from ftbench.judge.options import JudgeOptions
from ftbench.judge.summary import summary_line
from ftbench.report.model import (
    Acceptance,
    BaselineInfo,
    MetricVerdict,
    Phase,
    PhaseVerdict,
    SideStats,
    Verdict,
    VerdictName,
)


def phase_verdict(
    gated: tuple[str, ...],
    per: dict[str, MetricVerdict],
    mine: Phase,
    theirs: Sequence[Phase],
    alpha: float,
    *,
    phase: str,
) -> PhaseVerdict:
    """The phase's verdict: the worst of the gated metrics' (:mod:`.gate`), with the figures
    of the one that decided and every metric's verdict beside it."""
    metric = gate.deciding(per, gated)
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
        verdict=gate.worst(per[g].verdict for g in gated if g in per),
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
        gates=gated,
        raw_pct_change=decided.raw_pct_change,
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


def make_verdict(
    options: JudgeOptions,
    verdict: VerdictName,
    *,
    method: str,
    reason: str = "",
    phases: dict[str, PhaseVerdict] | None = None,
    keys: tuple[str, ...] = (),
    comparable: bool = True,
    differences: tuple[str, ...] = (),
    selection: str = "",
    window: str | None = None,
    notes: Sequence[str] = (),
    threshold: tuple[float, str],
    accepted: Sequence[Acceptance] = (),
    commit: str | None = None,
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
        metric=_headline_metric(phases, verdict, options.metric),
        method=method,
        alpha=options.alpha,
        threshold_pct=threshold[0],
        fail_on=options.fail_on,
        exit_code=EXIT_REGRESSION if fails else EXIT_OK,
        baseline=BaselineInfo(
            keys=keys,
            reports=len(keys),
            selection=selection,
            samples={name: p.baseline.n for name, p in phases.items()},
            window=window,
            commit=commit,
        ),
        comparable=comparable,
        differences=differences,
        notes=tuple(notes),
        phases=phases,
        threshold_source=threshold[1],
        gates=m.gates(options.metric),
        accepted=tuple(dict.fromkeys(accepted)) or None,
    )
    return replace(made, summary=summary_line(made))


def _headline_metric(phases: dict[str, PhaseVerdict], verdict: str, option: str) -> str:
    """The metric of the phase that made the job's verdict (the first gated one without)."""
    worst = next((p for p in phases.values() if p.verdict == verdict), None)
    if worst is None:
        worst = next(iter(phases.values()), None)
    return worst.metric if worst is not None else m.gates(option)[0]
