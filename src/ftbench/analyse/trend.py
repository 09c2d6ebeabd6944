"""The *analyse* stage: the history of archived reports and the points where it changed.

Values only — no argparse, no printing (``ftbench.cli.trend`` is the command)::

    trend = analyse(archives, repo_id, tier="lite", phase="warm", last=None)
    trend.points      # one Point per report, oldest first
    trend.changes     # Change per new segment; None when fewer than 4 points

The history is read from the archive index (``Archives.run_lines``: one ``runs`` row per
report, phase, step and metric; reports the index lacks are derived from the reports and
added to it), so a whole history of thousands of reports costs a few objects, not one per
report. Change points come from :mod:`ftbench.analyse.changepoints` (pure Python, PELT with
the L2 cost on log values, near-linear).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from ftbench.analyse import DEFAULT_LAST, DEFAULT_PENALTY
from ftbench.analyse.changepoints import MIN_SIZE, change_points, segment_levels
from ftbench.archive.base import key_name

if TYPE_CHECKING:
    from ftbench.archive.base import Archives

PhaseName = Literal["warm", "cold"]
#: ``cpu_s``: user + system CPU time (the sum of the two rows), what ``--metric cpu`` gates
METRICS = ("wall_s", "cpu_s", "user_s", "sys_s", "max_rss_kb")
#: the trend metric of each gated metric (``regression.gates``; ``any`` gates wall and cpu:
#: the trend follows wall time, the user's time)
GATE_METRICS = {"wall": "wall_s", "cpu": "cpu_s", "rss": "max_rss_kb"}


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One report's value of the followed phase, step and metric (its median)."""

    key: str
    timestamp: str
    commit: str | None
    branch: str | None
    value: float
    n: int
    min: float | None = None
    max: float | None = None
    ci95: tuple[float, float] | None = None
    config_hash: str | None = None
    #: the report's verdict of this phase (the A/B confirmation's when one decided it)
    verdict: str | None = None
    #: an A/B report (``--against``): judged against a ref measured in the same job
    ab: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "timestamp": self.timestamp,
            "commit": self.commit,
            "branch": self.branch,
            "value": self.value,
            "n": self.n,
            "min": self.min,
            "max": self.max,
            "ci95": list(self.ci95) if self.ci95 else None,
            "config_hash": self.config_hash,
            "verdict": self.verdict,
            "ab": self.ab,
        }


@dataclass(frozen=True)
class Change:
    """A change point: the segment starting at ``points[index]`` differs from the one before.

    ``before``/``after`` are the medians of the per-report values of the two segments.
    """

    index: int
    timestamp: str
    commit: str | None
    key: str
    before: float
    after: float

    @property
    def pct(self) -> float:
        return (self.after / self.before - 1.0) * 100.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "timestamp": self.timestamp,
            "commit": self.commit,
            "key": self.key,
            "before": self.before,
            "after": self.after,
            "pct": round(self.pct, 2),
        }


@dataclass(frozen=True)
class Trend:
    """The history of one repository's reports of one tier, mode, phase, step and metric."""

    repo_id: str
    tier: str | None
    mode: str | None
    phase: PhaseName
    branch: str | None
    penalty: float
    points: tuple[Point, ...] = ()
    #: None: not computed (fewer than ``2 * MIN_SIZE`` points)
    changes: tuple[Change, ...] | None = None
    #: report-to-report noise on the log scale (set when change points were computed)
    noise: float | None = None
    notes: tuple[str, ...] = ()
    step: str | None = None
    metric: str = "wall_s"
    #: why this metric, when it was not asked for: the gate's
    metric_reason: str | None = None

    @property
    def starts(self) -> dict[int, Change]:
        """The changes by the index of the first point of their segment."""
        return {c.index: c for c in self.changes or ()}

    @property
    def unit(self) -> str:
        return "KB" if self.metric == "max_rss_kb" else "s"

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "tier": self.tier,
            "mode": self.mode,
            "phase": self.phase,
            "step": self.step,
            "metric": self.metric,
            "metric_reason": self.metric_reason,
            "branch": self.branch,
            "penalty": self.penalty,
            "noise": None if self.noise is None else round(self.noise, 6),
            "points": [p.to_dict() for p in self.points],
            "changes": None if self.changes is None else [c.to_dict() for c in self.changes],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Selection:
    """What :func:`select` kept: the tier, mode and phase in force and the points."""

    tier: str | None
    mode: str | None
    phase: PhaseName
    points: tuple[Point, ...]


# --- index rows to points ---------------------------------------------------------------------


def needle(step: str | None, metric: str) -> bytes:
    """Bytes every wanted ``runs`` line contains (a cheap filter before parsing)."""
    if step is None:
        return f'"step":null,"metric":"{metric}"'.encode()
    return f'"metric":"{metric}"'.encode()


def positive(value: object) -> float | None:
    """``value`` as a float when it is a positive finite number, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and number > 0:
            return number
    return None


def point_of(key: str, row: dict[str, Any]) -> Point | None:
    """The point of one ``runs`` row; None when its value is not positive."""
    value = positive(row.get("value"))
    if value is None:
        return None
    low, high = positive(row.get("ci_low")), positive(row.get("ci_high"))
    ci95 = (low, high) if low is not None and high is not None and low <= high else None
    vmin, vmax = positive(row.get("min")), positive(row.get("max"))
    if vmin is None or vmax is None or vmin > vmax:
        vmin = vmax = None
    return Point(
        key=key,
        timestamp=str(row.get("timestamp", "")),
        commit=row.get("commit") or None,
        branch=row.get("branch") or None,
        value=value,
        n=int(row.get("n") or 0),
        min=vmin,
        max=vmax,
        ci95=ci95,
        config_hash=row.get("config_hash"),
        verdict=row.get("phase_verdict"),
        ab=row.get("ab") is True,
    )


def select(
    reports: Iterable[tuple[str, Sequence[dict[str, Any]]]],
    *,
    tier: str | None = None,
    mode: str | None = None,
    branch: str | None = None,
    phase: PhaseName | None = None,
    step: str | None = None,
    metric: str = "wall_s",
    last: int | None = DEFAULT_LAST,
    since: str | None = None,
) -> Selection:
    """The last ``last`` (None: all) points of ``reports`` — ``(key, runs rows)``, newest
    first — oldest first. Kept are successful reports of ``tier``/``mode``/``branch``, from
    ``since`` on (a timestamp as the reports write it: ``2026-11-01T00:00:00Z``); the first
    one fixes the tier and mode not given and the phase (``warm`` when it has one)."""
    points: list[Point] = []
    for key, rows in reports:
        if not rows or not rows[0].get("succeeded"):
            continue
        head = rows[0]
        if (
            (tier is not None and head.get("tier") != tier)
            or (mode is not None and head.get("mode") != mode)
            or (branch is not None and head.get("branch") != branch)
            or (since is not None and str(head.get("timestamp", "")) < since)
        ):
            continue
        tier = tier if tier is not None else head.get("tier")
        mode = mode if mode is not None else head.get("mode")
        if phase is None:
            phase = "warm" if any(r.get("phase") == "warm" for r in rows) else "cold"
        wanted = ("user_s", "sys_s") if metric == "cpu_s" else (metric,)
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            name = row.get("metric")
            if row.get("phase") == phase and row.get("step") == step and name in wanted:
                found.setdefault(str(name), row)
        if len(found) == len(wanted):
            point = point_of(key, _summed(found) if metric == "cpu_s" else found[metric])
            if point is not None:
                points.append(point)
        if last is not None and len(points) >= last:
            break
    points.sort(key=lambda p: (p.timestamp, key_name(p.key)))
    return Selection(tier, mode, phase or "warm", tuple(points))


def _summed(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One ``cpu_s`` row: the user and system CPU medians added (no interval of the sum)."""
    user, system = rows["user_s"], rows["sys_s"]
    total = (positive(user.get("value")) or 0.0) + (positive(system.get("value")) or 0.0)
    return {**user, "metric": "cpu_s", "value": total, "ci_low": None, "ci_high": None}


def gate_metric(rows: Sequence[tuple[str, Sequence[dict[str, Any]]]]) -> tuple[str, str | None]:
    """The metric a trend follows when none is asked for: the newest judged report's gate
    (``gates`` of its verdict), and why (None: no report says, wall time as before 0.4)."""
    for _, found in rows:
        gates = next((str(r["gates"]) for r in found if isinstance(r.get("gates"), str)), "")
        if gates:
            names = gates.split(",")
            if "wall" in names:  # --metric any: wall and CPU; wall is the user's time
                if len(names) > 1:
                    return "wall_s", "the gate's: --metric any, wall time being the user's"
                return "wall_s", "the gate's: --metric wall"
            metric = GATE_METRICS.get(names[0], "wall_s")
            return metric, f"the gate's: --metric {names[0]}"
    return "wall_s", None


# --- change points --------------------------------------------------------------------------


def changes_from(points: Sequence[Point], starts: Sequence[int]) -> tuple[Change, ...]:
    """One :class:`Change` per segment start: medians of the segments either side."""
    levels = segment_levels([p.value for p in points], starts)
    return tuple(
        Change(
            index=start,
            timestamp=points[start].timestamp,
            commit=points[start].commit,
            key=points[start].key,
            before=before,
            after=after,
        )
        for start, (before, after) in zip(starts, levels, strict=True)
    )


def trend_of(
    selection: Selection,
    repo_id: str,
    *,
    branch: str | None = None,
    step: str | None = None,
    metric: str = "wall_s",
    penalty: float = DEFAULT_PENALTY,
    notes: Sequence[str] = (),
) -> Trend:
    """The :class:`Trend` of selected points, with change points when there are at least
    four of them (``changes`` stays None, with a note, when not)."""
    base = Trend(
        repo_id=repo_id,
        tier=selection.tier,
        mode=selection.mode,
        phase=selection.phase,
        branch=branch,
        penalty=penalty,
        points=selection.points,
        notes=tuple(notes),
        step=step,
        metric=metric,
    )
    points = selection.points
    if len(points) < 2:
        return base
    if len(points) < 2 * MIN_SIZE:
        return replace(
            base, notes=(*base.notes, f"change points need at least {2 * MIN_SIZE} reports")
        )
    starts, noise = change_points([p.value for p in points], penalty)
    return replace(base, changes=changes_from(points, starts), noise=noise)


def history(
    archives: Archives,
    repo_id: str,
    notes: list[str],
    *,
    step: str | None = None,
    metric: str = "wall_s",
    refresh: bool = True,
) -> list[tuple[str, list[dict[str, Any]]]]:
    """``(key, runs rows of the metric)`` of ``repo_id``'s reports, newest first (``cpu_s``:
    the user and system rows; ``auto``: every phase metric's)."""
    names = {"cpu_s": ("user_s", "sys_s"), "auto": METRICS}.get(metric, (metric,))
    keep = tuple(needle(step, name) for name in names if name != "cpu_s")
    return archives.run_rows(repo_id, notes, keep=keep, refresh=refresh)


def analyse(
    archives: Archives,
    repo_id: str,
    *,
    tier: str | None = None,
    mode: str | None = None,
    branch: str | None = None,
    phase: PhaseName | None = None,
    step: str | None = None,
    metric: str | None = "wall_s",
    last: int | None = DEFAULT_LAST,
    since: str | None = None,
    penalty: float = DEFAULT_PENALTY,
    notes: Sequence[str] = (),
    refresh: bool = True,
) -> Trend:
    """``repo_id``'s trend over ``archives``: select the points, find the change points.

    ``metric=None``: the metric the newest judged report's gate used (:func:`gate_metric`).
    ``notes`` (e.g. from opening the archives) come first in :attr:`Trend.notes`, then those
    of reading (an unreachable store, an unreadable report).
    """
    all_notes = list(notes)
    asked = metric or "auto"
    rows = history(archives, repo_id, all_notes, step=step, metric=asked, refresh=refresh)
    reason = None
    if metric is None:
        metric, reason = gate_metric(rows)
    selection = select(
        rows,
        tier=tier,
        mode=mode,
        branch=branch,
        phase=phase,
        step=step,
        metric=metric,
        last=last,
        since=since,
    )
    made = trend_of(
        selection,
        repo_id,
        branch=branch,
        step=step,
        metric=metric,
        penalty=penalty,
        notes=all_notes,
    )
    return replace(made, metric_reason=reason)
