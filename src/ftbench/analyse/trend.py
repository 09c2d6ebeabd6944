"""The *analyse* stage: the history of archived reports and the points where it changed.

Values only — no argparse, no printing (``ftbench.cli.trend`` is the command)::

    trend = analyse(archives, repo_id, tier="lite", phase="warm", last=50)
    trend.points      # one Point per report, oldest first
    trend.changes     # Change per new segment; None when not computed

:func:`select` turns reports (newest first, as :meth:`Archives.newest` gives them) into
points; :func:`change_points` finds where the per-report medians change.

Method (``docs/trends.md``): the signal is ``log(median)`` — timing noise is multiplicative, so
on the log scale a step of +25% is the same size at 10 ms and at 10 s — divided by a robust
noise scale (MAD of successive differences / sqrt(2), which a level shift barely moves, floored
at 1%). PELT with the ``l1`` cost (least absolute deviations from each segment's median), so
one slow outlier report does not open a segment of its own, ``min_size`` 2 and a penalty in
units of that noise (default :data:`DEFAULT_PENALTY`).

numpy and ruptures are imported only inside :func:`change_points`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

from ftbench.analyse import DEFAULT_LAST, DEFAULT_PENALTY
from ftbench.archive.base import key_name
from ftbench.report.model import KeyedReport, Report

if TYPE_CHECKING:
    from ftbench.archive.base import Archives

PhaseName = Literal["warm", "cold"]
MIN_SIZE = 2
NOISE_FLOOR = 0.01  # 1% on the log scale: below this, report-to-report jitter is not news
SKIP_RUPTURES = "[SKIP] change points need ruptures: pip install 'ftbench[plot]'"


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One report's phase: its median and spread."""

    key: str
    timestamp: str
    commit: str | None
    branch: str | None
    median_s: float
    n: int
    min_s: float | None = None
    max_s: float | None = None
    ci95: tuple[float, float] | None = None
    config_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "timestamp": self.timestamp,
            "commit": self.commit,
            "branch": self.branch,
            "median_s": self.median_s,
            "n": self.n,
            "min_s": self.min_s,
            "max_s": self.max_s,
            "ci95": list(self.ci95) if self.ci95 else None,
            "config_hash": self.config_hash,
        }


@dataclass(frozen=True)
class Change:
    """A change point: the segment starting at ``points[index]`` differs from the one before.

    ``before_s``/``after_s`` are the medians of the per-report medians of the two segments.
    """

    index: int
    timestamp: str
    commit: str | None
    key: str
    before_s: float
    after_s: float

    @property
    def pct(self) -> float:
        return (self.after_s / self.before_s - 1.0) * 100.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "timestamp": self.timestamp,
            "commit": self.commit,
            "key": self.key,
            "before_s": self.before_s,
            "after_s": self.after_s,
            "pct": round(self.pct, 2),
        }


@dataclass(frozen=True)
class Trend:
    """The history of one repository's reports of one tier, mode and phase."""

    repo_id: str
    tier: str | None
    mode: str | None
    phase: PhaseName
    branch: str | None
    penalty: float
    points: tuple[Point, ...] = ()
    #: None: not computed (ruptures missing, or fewer than ``2 * MIN_SIZE`` points)
    changes: tuple[Change, ...] | None = None
    #: report-to-report noise on the log scale (set when change points were computed)
    noise: float | None = None
    notes: tuple[str, ...] = ()
    #: the [SKIP] line when change points could not be computed (ruptures missing)
    skipped: str | None = None

    @property
    def starts(self) -> dict[int, Change]:
        """The changes by the index of the first point of their segment."""
        return {c.index: c for c in self.changes or ()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "tier": self.tier,
            "mode": self.mode,
            "phase": self.phase,
            "branch": self.branch,
            "penalty": self.penalty,
            "noise": None if self.noise is None else round(self.noise, 6),
            "points": [p.to_dict() for p in self.points],
            "changes": None if self.changes is None else [c.to_dict() for c in self.changes],
            "skipped": self.skipped,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Selection:
    """What :func:`select` kept: the tier, mode and phase in force and the points."""

    tier: str | None
    mode: str | None
    phase: PhaseName
    points: tuple[Point, ...]


# --- reports to points ----------------------------------------------------------------------


def matches(report: Report, *, tier: str | None, mode: str | None, branch: str | None) -> bool:
    """A successful report of ``tier``/``mode``/``branch`` (None: any)."""
    return (
        report.succeeded
        and (tier is None or report.tier == tier)
        and (mode is None or report.mode == mode)
        and (branch is None or report.git.branch == branch)
    )


def _positive(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


def point_of(keyed: KeyedReport, phase: PhaseName) -> Point | None:
    """The point of ``phase`` in the report; None when the phase is absent or has no positive
    median (``elapsed_s``, else ``stats.median``)."""
    report = keyed.report
    block = report.runs.get(phase)
    if block is None:
        return None
    stats = block.stats
    median = block.elapsed_s if block.elapsed_s is not None else stats.median
    if median is None or not _positive(median):
        return None
    ci95 = stats.ci95
    if ci95 is not None and not (_positive(ci95[0]) and _positive(ci95[1]) and ci95[0] <= ci95[1]):
        ci95 = None
    low, high = stats.min, stats.max
    if low is None or high is None or not (_positive(low) and _positive(high) and low <= high):
        low = high = None
    return Point(
        key=keyed.key,
        timestamp=report.timestamp,
        commit=report.git.commit or None,
        branch=report.git.branch or None,
        median_s=median,
        n=stats.n,
        min_s=low,
        max_s=high,
        ci95=ci95,
        config_hash=report.config_hash,
    )


def select(
    reports: Iterable[KeyedReport],
    *,
    tier: str | None = None,
    mode: str | None = None,
    branch: str | None = None,
    phase: PhaseName | None = None,
    last: int = DEFAULT_LAST,
) -> Selection:
    """The last ``last`` matching points of ``reports`` (given newest first), oldest first.

    The first matching report fixes the tier and mode that were not given, and the phase
    (``warm`` when it has one, else ``cold``). Iteration stops once ``last`` points are found,
    so a lazy source (:meth:`Archives.newest`) reads no further.
    """
    points: list[Point] = []
    for keyed in reports:
        report = keyed.report
        if not matches(report, tier=tier, mode=mode, branch=branch):
            continue
        tier = tier if tier is not None else report.tier
        mode = mode if mode is not None else report.mode
        if phase is None:
            phase = "warm" if report.runs.warm is not None else "cold"
        point = point_of(keyed, phase)
        if point is None:
            continue
        points.append(point)
        if len(points) >= last:
            break
    points.sort(key=lambda p: (p.timestamp, key_name(p.key)))
    return Selection(tier, mode, phase or "warm", tuple(points))


# --- change points --------------------------------------------------------------------------


def noise_scale(log_medians: Sequence[float]) -> float:
    """Robust report-to-report noise on the log scale: MAD of successive differences / sqrt 2
    (a level shift moves one difference only), at least :data:`NOISE_FLOOR`."""
    diffs = [b - a for a, b in pairwise(log_medians)]
    if not diffs:
        return NOISE_FLOOR
    centre = statistics.median(diffs)
    mad = statistics.median(abs(d - centre) for d in diffs)
    return max(1.4826 * mad / math.sqrt(2.0), NOISE_FLOOR)


def change_points(
    medians: Sequence[float], penalty: float = DEFAULT_PENALTY
) -> tuple[list[int], float]:
    """Indices where a new segment starts, and the noise scale used.

    Raises ImportError when ruptures (or numpy) is missing.
    """
    import numpy as np
    import ruptures

    log = np.log(np.asarray(medians, dtype=float))
    sigma = noise_scale([float(v) for v in log])
    if log.size < 2 * MIN_SIZE:
        return [], sigma
    signal = ((log - float(np.median(log))) / sigma).reshape(-1, 1)
    algo = ruptures.Pelt(model="l1", min_size=MIN_SIZE, jump=1).fit(signal)
    ends = [int(b) for b in algo.predict(pen=float(penalty))]
    return [b for b in ends if 0 < b < log.size], sigma


def changes_from(points: Sequence[Point], starts: Sequence[int]) -> tuple[Change, ...]:
    """One :class:`Change` per segment start: medians of the segments either side."""
    bounds = [0, *starts, len(points)]
    out = []
    for i, start in enumerate(starts, start=1):
        before = [p.median_s for p in points[bounds[i - 1] : start]]
        after = [p.median_s for p in points[start : bounds[i + 1]]]
        p = points[start]
        out.append(
            Change(
                index=start,
                timestamp=p.timestamp,
                commit=p.commit,
                key=p.key,
                before_s=float(statistics.median(before)),
                after_s=float(statistics.median(after)),
            )
        )
    return tuple(out)


def trend_of(
    selection: Selection,
    repo_id: str,
    *,
    branch: str | None = None,
    penalty: float = DEFAULT_PENALTY,
    notes: Sequence[str] = (),
) -> Trend:
    """The :class:`Trend` of selected points: change points when there are enough of them
    (``changes`` stays None, with a note or :data:`SKIP_RUPTURES`, when not)."""
    base = Trend(
        repo_id=repo_id,
        tier=selection.tier,
        mode=selection.mode,
        phase=selection.phase,
        branch=branch,
        penalty=penalty,
        points=selection.points,
        notes=tuple(notes),
    )
    points = selection.points
    if len(points) < 2:
        return base
    if len(points) < 2 * MIN_SIZE:
        return replace(
            base, notes=(*base.notes, f"change points need at least {2 * MIN_SIZE} reports")
        )
    try:
        starts, noise = change_points([p.median_s for p in points], penalty)
    except ImportError:
        return replace(base, skipped=SKIP_RUPTURES)
    return replace(base, changes=changes_from(points, starts), noise=noise)


def analyse(
    archives: Archives,
    repo_id: str,
    *,
    tier: str | None = None,
    mode: str | None = None,
    branch: str | None = None,
    phase: PhaseName | None = None,
    last: int = DEFAULT_LAST,
    penalty: float = DEFAULT_PENALTY,
    notes: Sequence[str] = (),
) -> Trend:
    """``repo_id``'s trend over ``archives``: select the points, find the change points.

    ``notes`` (e.g. from opening the archives) come first in :attr:`Trend.notes`, then those
    of reading (an unreachable store, an unreadable report).
    """
    all_notes = list(notes)
    selection = select(
        archives.newest(repo_id, all_notes),
        tier=tier,
        mode=mode,
        branch=branch,
        phase=phase,
        last=last,
    )
    return trend_of(selection, repo_id, branch=branch, penalty=penalty, notes=all_notes)
