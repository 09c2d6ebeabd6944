"""``ft-bench trend``: the *analyse* stage — history over the archive, change points, a chart.

Reads this repository's reports from every archive store (local, plus S3 when configured),
keeps the successful ones of one tier and mode (default: those of the newest report), oldest to
newest, at most ``--last``, and prints one row per report with the median of a phase. Change
points are found with PELT (``ruptures``) on the per-report medians::

    ft-bench trend                       # warm phase of the newest report's tier and mode
    ft-bench trend --phase cold --branch main --last 100 --chart trend.png
    ft-bench trend --json

Method (``docs/trends.md``): the signal is ``log(median)`` — timing noise is multiplicative, so
on the log scale a step of +25% is the same size at 10 ms and at 10 s — divided by a robust
noise scale (MAD of successive differences / sqrt(2), which a level shift barely moves, floored
at 1%). PELT with the ``l1`` cost (least absolute deviations from each segment's median), so
one slow outlier report does not open a segment of its own, ``min_size`` 2 and a penalty in
units of that noise (default :data:`DEFAULT_PENALTY`).

numpy, ruptures, matplotlib and rich are imported only inside the functions that need them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ftbench.archive.base import key_name, newest_reports, report_succeeded
from ftbench.cli.args import bounded
from ftbench.cli.tables import print_table
from ftbench.errors import EXIT_OK, UsageError
from ftbench.report.markdown import fmt_s

HELP = "history of the archived reports, change points and a chart"
DESCRIPTION = (
    "Show the history of this repository's archived reports (one tier, mode and phase), the "
    "change points found in the per-report medians (PELT, needs ruptures) and optionally a "
    "PNG chart (needs matplotlib). Always exits 0 unless the arguments or archive are unusable."
)

PHASES = ("warm", "cold")
DEFAULT_LAST = 50
MAX_LAST = 1000  # PELT with the l1 cost takes ~1.5 s on 1000 reports
DEFAULT_PENALTY = 7.0
MIN_SIZE = 2
NOISE_FLOOR = 0.01  # 1% on the log scale: below this, report-to-report jitter is not news
SKIP_RUPTURES = "[SKIP] change points need ruptures: pip install 'ftbench[plot]'"
SKIP_MATPLOTLIB = "[SKIP] charts need matplotlib: pip install 'ftbench[plot]'"

_last = bounded(int, low=2, high=MAX_LAST)
_penalty = bounded(float, low=0, open_low=True)


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One report's phase: its median and spread."""

    key: str
    timestamp: str
    commit: str | None
    branch: str | None
    median_s: float
    n: int | None
    min_s: float | None = None
    max_s: float | None = None
    ci95: tuple[float, float] | None = None
    config_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "timestamp": self.timestamp, "commit": self.commit,
                "branch": self.branch, "median_s": self.median_s, "n": self.n,
                "min_s": self.min_s, "max_s": self.max_s,
                "ci95": list(self.ci95) if self.ci95 else None,
                "config_hash": self.config_hash}


@dataclass(frozen=True)
class Change:
    """A change point: the segment starting at ``points[index]`` differs from the one before."""

    index: int
    timestamp: str
    commit: str | None
    key: str
    before_s: float
    after_s: float

    @property
    def pct(self) -> float:
        return (self.after_s / self.before_s - 1.0) * 100.0

    def line(self, phase: str) -> str:
        commit = f" (commit {self.commit[:12]})" if self.commit else ""
        return (f"change at {self.timestamp}{commit}: {phase} {fmt_s(self.before_s)} -> "
                f"{fmt_s(self.after_s)} ({_pct(self.pct)})")

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "timestamp": self.timestamp, "commit": self.commit,
                "key": self.key, "before_s": self.before_s, "after_s": self.after_s,
                "pct": round(self.pct, 2)}


@dataclass
class Trend:
    """What ``ft-bench trend`` found."""

    repo_id: str
    tier: str | None
    mode: str | None
    phase: str
    branch: str | None
    penalty: float
    points: list[Point] = field(default_factory=list)
    # None: not computed (ruptures missing or fewer than 2 * MIN_SIZE reports)
    changes: list[Change] | None = None
    noise: float | None = None
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def starts(self) -> dict[int, Change]:
        return {c.index: c for c in self.changes or []}

    def describe(self) -> str:
        parts = [f"repository {self.repo_id}",
                 f"tier {self.tier}" if self.tier else "any tier",
                 f"mode {self.mode}" if self.mode else "any mode", f"{self.phase} phase"]
        if self.branch:
            parts.append(f"branch {self.branch}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id, "tier": self.tier, "mode": self.mode,
            "phase": self.phase, "branch": self.branch, "penalty": self.penalty,
            "noise": None if self.noise is None else round(self.noise, 6),
            "points": [p.to_dict() for p in self.points],
            "changes": None if self.changes is None else [c.to_dict() for c in self.changes],
            "skipped": self.skipped, "notes": list(self.notes),
        }


# --- reading reports ------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def matches(report: Mapping[str, Any], *, tier: str | None, mode: str | None,
            branch: str | None) -> bool:
    """A successful schema-1 report of ``tier``/``mode``/``branch`` (None: any)."""
    if report.get("schema") != 1 or not report_succeeded(report):
        return False
    if tier is not None and report.get("tier") != tier:
        return False
    if mode is not None and report.get("mode") != mode:
        return False
    return branch is None or _mapping(report.get("git")).get("branch") == branch


def point_of(key: str, report: Mapping[str, Any], phase: str) -> Point | None:
    """The point of ``phase`` in ``report``; None when the phase has no positive median."""
    block = _mapping(_mapping(report.get("runs")).get(phase))
    stats = _mapping(block.get("stats"))
    median = _num(block.get("elapsed_s"))
    if median is None:
        median = _num(stats.get("median"))
    if median is None or median <= 0:
        return None
    n_value = stats.get("n")
    n: int | None = n_value if isinstance(n_value, int) and not isinstance(n_value, bool) \
        else None
    samples = block.get("samples")
    if n is None and isinstance(samples, list):
        n = sum(1 for s in samples if isinstance(s, Mapping) and s.get("ok") is True)
    ci = stats.get("ci95")
    ci95: tuple[float, float] | None = None
    if isinstance(ci, list) and len(ci) == 2:
        low, high = _num(ci[0]), _num(ci[1])
        if low is not None and high is not None and 0 < low <= high:
            ci95 = (low, high)
    low_s, high_s = _num(stats.get("min")), _num(stats.get("max"))
    if low_s is not None and high_s is not None and not 0 < low_s <= high_s:
        low_s = high_s = None
    git = _mapping(report.get("git"))
    timestamp = _text(report.get("timestamp")) or _key_timestamp(key)
    return Point(key=key, timestamp=timestamp, commit=_text(git.get("commit")),
                 branch=_text(git.get("branch")), median_s=median, n=n, min_s=low_s,
                 max_s=high_s, ci95=ci95,
                 config_hash=_text(_mapping(report.get("target")).get("config_hash")))


def _key_timestamp(key: str) -> str:
    return key_name(key)[:20]


@dataclass
class Selection:
    tier: str | None
    mode: str | None
    phase: str
    points: list[Point]


def collect(stores: Sequence[Any], repo_id: str, *, tier: str | None = None,
            mode: str | None = None, branch: str | None = None, phase: str | None = None,
            last: int = DEFAULT_LAST, notes: list[str] | None = None) -> Selection:
    """The last ``last`` matching points, oldest first.

    Stores are read newest first and deduplicated by key (then run id); reading stops once
    ``last`` points are found. The first (newest) matching report fixes the tier and mode that
    were not given, and the phase (``warm`` when it has one, else ``cold``).
    """
    notes = notes if notes is not None else []
    points: list[Point] = []
    for stored in newest_reports(stores, repo_id, notes):
        key, report = stored.key, stored.report
        if not matches(report, tier=tier, mode=mode, branch=branch):
            continue
        if tier is None or mode is None:  # the newest matching report sets the defaults
            own_tier, own_mode = _text(report.get("tier")), _text(report.get("mode"))
            if own_tier is None or own_mode is None:
                continue
            tier = tier if tier is not None else own_tier
            mode = mode if mode is not None else own_mode
        if phase is None:
            phase = "warm" if "warm" in _mapping(report.get("runs")) else "cold"
        point = point_of(key, report, phase)
        if point is None:
            continue
        points.append(point)
        if len(points) >= last:
            break
    points.sort(key=lambda p: (p.timestamp, key_name(p.key)))
    return Selection(tier, mode, phase or "warm", points)


# --- change points --------------------------------------------------------------------------


def noise_scale(log_medians: Sequence[float]) -> float:
    """Robust report-to-report noise on the log scale: MAD of successive differences / sqrt 2
    (a level shift moves one difference only), at least :data:`NOISE_FLOOR`."""
    import numpy as np

    diffs = np.diff(np.asarray(log_medians, dtype=float))
    if diffs.size == 0:
        return NOISE_FLOOR
    mad = float(np.median(np.abs(diffs - np.median(diffs))))
    return max(1.4826 * mad / math.sqrt(2.0), NOISE_FLOOR)


def change_points(medians: Sequence[float], penalty: float = DEFAULT_PENALTY
                  ) -> tuple[list[int], float]:
    """Indices where a new segment starts, and the noise scale used.

    Raises ImportError when ruptures (or numpy) is missing.
    """
    import numpy as np
    import ruptures

    log = np.log(np.asarray(medians, dtype=float))
    sigma = noise_scale(log.tolist())
    if log.size < 2 * MIN_SIZE:
        return [], sigma
    signal = ((log - float(np.median(log))) / sigma).reshape(-1, 1)
    algo = ruptures.Pelt(model="l1", min_size=MIN_SIZE, jump=1).fit(signal)
    ends = [int(b) for b in algo.predict(pen=float(penalty))]
    return [b for b in ends if 0 < b < log.size], sigma


def _median(values: Sequence[float]) -> float:
    import statistics

    return float(statistics.median(values))


def changes_from(points: Sequence[Point], starts: Sequence[int]) -> list[Change]:
    """One :class:`Change` per segment start: medians of the segments either side."""
    bounds = [0, *starts, len(points)]
    out = []
    for i, start in enumerate(starts, start=1):
        before = [p.median_s for p in points[bounds[i - 1]:start]]
        after = [p.median_s for p in points[start:bounds[i + 1]]]
        p = points[start]
        out.append(Change(index=start, timestamp=p.timestamp, commit=p.commit, key=p.key,
                          before_s=_median(before), after_s=_median(after)))
    return out


def analyse(stores: Sequence[Any], repo_id: str, *, tier: str | None = None,
            mode: str | None = None, branch: str | None = None, phase: str | None = None,
            last: int = DEFAULT_LAST, penalty: float = DEFAULT_PENALTY,
            notes: Sequence[str] = ()) -> Trend:
    """Select the points and find the change points (``changes`` None without ruptures)."""
    all_notes = list(notes)
    sel = collect(stores, repo_id, tier=tier, mode=mode, branch=branch, phase=phase,
                  last=last, notes=all_notes)
    trend = Trend(repo_id=repo_id, tier=sel.tier, mode=sel.mode, phase=sel.phase,
                  branch=branch, penalty=penalty, points=sel.points, notes=all_notes)
    if len(trend.points) < 2:
        return trend
    if len(trend.points) < 2 * MIN_SIZE:
        trend.notes.append(f"change points need at least {2 * MIN_SIZE} reports")
        return trend
    try:
        starts, trend.noise = change_points([p.median_s for p in trend.points], penalty)
    except ImportError:
        trend.skipped = SKIP_RUPTURES
        return trend
    trend.changes = changes_from(trend.points, starts)
    return trend


# --- output ---------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{value:+.0f}%" if abs(value) >= 10 else f"{value:+.1f}%"


def table_rows(trend: Trend, *, ascii_marks: bool = True) -> list[list[str]]:
    """Header, then one row per point, oldest first."""
    rows = [["#", "timestamp", "commit", "branch", trend.phase + " median", "n", "change"]]
    starts = trend.starts
    for i, p in enumerate(trend.points):
        change = starts.get(i)
        mark = ""
        if change is not None:
            up = change.pct >= 0
            arrow = ("^" if up else "v") if ascii_marks else ("▲" if up else "▼")
            mark = f"{arrow} {_pct(change.pct)}"
        rows.append([str(i + 1), p.timestamp, (p.commit or "-")[:12], p.branch or "-",
                     fmt_s(p.median_s), "-" if p.n is None else str(p.n), mark])
    return rows


def summary_lines(trend: Trend) -> list[str]:
    if trend.skipped:
        return [trend.skipped]
    if trend.changes is None:
        return []
    noise = f"noise {trend.noise * 100:.1f}%, " if trend.noise is not None else ""
    if not trend.changes:
        return [f"no change points ({noise}penalty {trend.penalty:g})"]
    return [c.line(trend.phase) for c in trend.changes]


def print_history(trend: Trend, out: TextIO) -> None:
    """The history table (rich on a terminal, plain text otherwise), then the changes."""
    tty = out.isatty()
    rows = table_rows(trend, ascii_marks=not tty)
    title = f"ft-bench trend: {trend.describe()} ({len(trend.points)} reports)"
    footer = summary_lines(trend)
    starts = trend.starts
    styles = {i: "bold red" if change.pct > 0 else "bold green"
              for i in range(len(rows) - 1) if (change := starts.get(i)) is not None}
    print_table(rows, out, title=title, styles=styles, footer=footer)


def too_few_line(trend: Trend) -> str:
    count = len(trend.points)
    found = "no successful report" if count == 0 else "only 1 successful report"
    return f"{found} of {trend.describe()}: a trend needs at least 2"


# --- command --------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``trend`` subcommand (sets ``func``)."""
    p = subparsers.add_parser("trend", help=HELP, description=DESCRIPTION)
    p.add_argument("--repo", type=Path, default=None, metavar="DIR",
                   help="repository root (default: the git top level of the current "
                        "directory)")
    p.add_argument("--archive-dir", type=Path, default=None, metavar="DIR",
                   help="local archive directory (default: $FTBENCH_ARCHIVE_DIR or "
                        ".firsttry/archive)")
    p.add_argument("--repo-id", default=None, metavar="ID",
                   help="repository id (default: $S3_REPO_ID, else derived from the git "
                        "remote or the path)")
    sel = p.add_argument_group("selection")
    sel.add_argument("--tier", default=None, help="tier (default: the newest report's)")
    sel.add_argument("--mode", default=None, help="mode (default: the newest report's)")
    sel.add_argument("--phase", choices=PHASES, default=None,
                     help="phase to follow (default: warm, else cold)")
    sel.add_argument("--branch", default=None, metavar="B", help="only reports of branch B")
    sel.add_argument("--last", type=_last, default=DEFAULT_LAST, metavar="N",
                     help=f"at most the newest N reports (default {DEFAULT_LAST}, "
                          f"at most {MAX_LAST})")
    out = p.add_argument_group("analysis and output")
    out.add_argument("--penalty", type=_penalty, default=DEFAULT_PENALTY, metavar="X",
                     help=f"PELT penalty in units of the report-to-report noise; higher finds "
                          f"fewer changes (default {DEFAULT_PENALTY:g})")
    out.add_argument("--chart", type=Path, default=None, metavar="PATH.png",
                     help="write a PNG chart (needs matplotlib)")
    out.add_argument("--json", action="store_true",
                     help="print the points and change points as JSON")
    p.set_defaults(func=run)


def check_chart_path(path: Path | None) -> None:
    if path is not None and path.suffix.lower() != ".png":
        raise UsageError(f"--chart must name a .png file, got {str(path)!r}")


def run(args: argparse.Namespace) -> int:
    from ftbench.archive.repo_id import repo_id
    from ftbench.archive.sync import open_stores_safely
    from ftbench.cli.app import repo_root

    check_chart_path(args.chart)
    root = repo_root(args.repo)
    rid = repo_id(root, args.repo_id)
    stores, notes = open_stores_safely(root, args.archive_dir)
    trend = analyse(stores, rid, tier=args.tier, mode=args.mode, branch=args.branch,
                    phase=args.phase, last=args.last, penalty=args.penalty, notes=notes)
    out, err = sys.stdout, sys.stderr
    chart_line: str | None = None
    if args.chart is not None and len(trend.points) >= 2:
        chart_line = write_chart_or_skip(trend, args.chart)
    if args.json:
        data = trend.to_dict()
        data["message"] = too_few_line(trend) if len(trend.points) < 2 else None
        data["chart"] = str(args.chart) if chart_line and not chart_line.startswith("[") \
            else None
        out.write(json.dumps(data, indent=2) + "\n")
        for line in (trend.skipped, chart_line if chart_line and chart_line.startswith("[")
                     else None):
            if line:
                err.write(line + "\n")
        return EXIT_OK
    if len(trend.points) < 2:
        extra = " (no chart written)" if args.chart is not None else ""
        out.write(too_few_line(trend) + extra + "\n")
        for note in trend.notes:
            out.write(f"note: {note}\n")
        return EXIT_OK
    print_history(trend, out)
    if chart_line:
        out.write(chart_line + "\n")
    for note in trend.notes:
        out.write(f"note: {note}\n")
    return EXIT_OK


def write_chart_or_skip(trend: Trend, path: Path) -> str:
    """``chart: PATH`` after writing it, or the [SKIP] line when matplotlib is missing."""
    from ftbench.analyse.plot import write_chart

    try:
        write_chart(trend, path)
    except ImportError:
        return SKIP_MATPLOTLIB
    return f"chart: {path}"
