"""The baseline window: the runs since the history's last level shift.

The archive judge estimates the spread between runs from its baseline runs, so a window that
mixes runs from before and after a level shift (a regression that landed, a faster runner
image) compares with a level that is gone and takes the step for noise: every later noise
floor widens. The window therefore starts at the newest level shift among the baseline runs:

* an **accepted** report (a slowdown its commit declared intended: ``judge/accept.py``) starts
  a new level: it and the runs after it are the window;
* a **detected shift**: the newest ``s >= 2`` runs (at least :data:`MIN_AFTER`) all lie beyond
  the one-sided prediction bound of the older runs (at least :data:`between.MIN_RUNS`), on the
  same side, by more than the threshold, in a gated metric of the phase's medians;
* with no new level, a run that **failed the gate** (its verdict a regression, not accepted)
  is left out: it is no reference for the runs after it (a refused push's run, archived as
  every run is, must not widen the next run's noise floor); two such runs in a row at one
  level are a level shift (above), and an accepted one starts a level;
* a single run far from all the others (an **outlier**, a run measured in a disturbed moment)
  is left out rather than widening the spread: beyond the leave-one-out prediction bound at
  :data:`OUTLIER_ALPHA` and by more than the threshold; at most one, with five runs or more.

What was done is said in the verdict's notes; with no shift and no outlier the window is the
baseline runs as chosen.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from ftbench.judge import between
from ftbench.judge import metrics as m
from ftbench.report.model import KeyedReport, Phase

#: the newer side of a detected shift holds at least this many runs (one alone is an outlier)
MIN_AFTER = 2
#: the level of the bound a shift must pass (each of the newer runs)
SHIFT_ALPHA = 0.01
#: the level of the bound an outlier must pass, over all the runs
OUTLIER_ALPHA = 0.001


def _logs(runs: Sequence[KeyedReport], phase: str, metric: str) -> list[float] | None:
    """Each run's log median of ``metric`` in ``phase`` (None when one has none)."""
    out = []
    for run in runs:
        p: Phase | None = run.report.runs.get(phase)
        values = m.values(p.samples, metric) if p is not None else []
        if not values or statistics.median(values) <= 0:
            return None
        out.append(math.log(statistics.median(values)))
    return out


def _beyond(value: float, others: Sequence[float], alpha: float, threshold: float) -> int:
    """+1 (above) / -1 (below) when ``value`` lies beyond the one-sided prediction bound of
    ``others`` at ``alpha`` and farther than ``threshold`` percent from their mean, else 0."""
    k = len(others)
    mean, sd = statistics.fmean(others), max(statistics.stdev(others), between.MIN_SPREAD)
    bound = between.t_ppf(1 - alpha, k - 1) * sd * math.sqrt(1 + 1 / k)
    gap = value - mean
    if abs(gap) > bound and abs(gap) > math.log1p(threshold / 100):
        return 1 if gap > 0 else -1
    return 0


def shift_at(logs: Sequence[float], threshold: float) -> int | None:
    """The number of newest runs after the newest level shift (``logs`` newest first), or
    None: the largest ``s`` whose newest ``s`` runs all lie beyond the older runs' bound on
    one side."""
    found = None
    for s in range(MIN_AFTER, len(logs) - between.MIN_RUNS + 1):
        older = logs[s:]
        sides = {_beyond(v, older, SHIFT_ALPHA, threshold) for v in logs[:s]}
        if len(sides) == 1 and 0 not in sides:
            found = s
    return found


def outlier(logs: Sequence[float], threshold: float) -> int | None:
    """The index of the one run far from all the others, or None (fewer than 5 runs, none
    or more than one such run)."""
    if len(logs) < 5:
        return None
    alpha = OUTLIER_ALPHA / len(logs)
    far = [
        i for i, v in enumerate(logs) if _beyond(v, [*logs[:i], *logs[i + 1 :]], alpha, threshold)
    ]
    return far[0] if len(far) == 1 else None


def _accepted(run: KeyedReport) -> bool:
    verdict = run.report.regression
    return verdict is not None and verdict.verdict == "accepted"


def _failed_gate(run: KeyedReport) -> bool:
    verdict = run.report.regression
    return verdict is not None and verdict.verdict == "regression"


def window(
    runs: Sequence[KeyedReport], gated: Sequence[str], threshold: float
) -> tuple[list[KeyedReport], list[str]]:
    """The runs (newest first) the archive judge uses, and notes saying what was left out."""
    runs = list(runs)
    notes: list[str] = []
    accepted = next((i for i, r in enumerate(runs) if _accepted(r)), None)
    if accepted is not None and accepted + 1 < len(runs):
        notes.append(
            f"baseline window: the {accepted + 1} run(s) since the accepted slowdown of "
            f"{runs[accepted].key.rsplit('/', 1)[-1]}"
        )
        runs = runs[: accepted + 1]
    phase = "warm" if all(r.report.runs.get("warm") for r in runs) else "cold"
    series = {name: logs for name in gated if (logs := _logs(runs, phase, name)) is not None}
    shifts = [s for logs in series.values() if (s := shift_at(logs, threshold)) is not None]
    if shifts:
        s = min(shifts)
        notes.append(
            f"baseline window: the {s} run(s) since a level shift "
            f"({len(runs) - s} older run(s) left out)"
        )
        runs = runs[:s]
        series = {name: logs[:s] for name, logs in series.items()}
    else:  # no new level: a run that failed the gate is no reference for later runs
        failed = [i for i, r in enumerate(runs) if _failed_gate(r)]
        if failed and len(failed) < len(runs):
            notes.append(
                f"baseline window: left out {len(failed)} run(s) that failed the gate "
                "(a regression not accepted)"
            )
            runs = [r for i, r in enumerate(runs) if i not in failed]
            series = {
                name: [v for i, v in enumerate(logs) if i not in failed]
                for name, logs in series.items()
            }
    far = {i for logs in series.values() if (i := outlier(logs, threshold)) is not None}
    if len(far) == 1:
        (i,) = far
        notes.append(
            f"baseline window: left out one run far from all the others "
            f"({runs[i].key.rsplit('/', 1)[-1]})"
        )
        runs = [r for j, r in enumerate(runs) if j != i]
    return runs, notes
