"""``ft-bench trend``: history over the archive, change points, a chart (``docs/trends.md``).

Reads this repository's reports from every archive store (local, plus S3 when configured),
keeps the successful ones of one tier and mode (default: those of the newest report), oldest to
newest, at most ``--last``, and prints one row per report with the median of a phase and the
change points found by :mod:`ftbench.analyse.trend`::

    ft-bench trend                       # warm phase of the newest report's tier and mode
    ft-bench trend --phase cold --branch main --last all --chart trend.html
    ft-bench trend --since 2026-01-01 --last all
    ft-bench trend --step pytest --metric user_s --json

Only argparse and printing live here; matplotlib (PNG charts) and rich are imported only inside
the functions that need them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ftbench.analyse import DEFAULT_LAST, DEFAULT_PENALTY
from ftbench.cli.common import add_location_arguments, add_range_arguments, bounded
from ftbench.errors import EXIT_OK, UsageError
from ftbench.report.escape import terminal

if TYPE_CHECKING:  # the analysis is imported by the command that uses it
    from ftbench.analyse.trend import Change, Trend

HELP = "history of the archived reports, change points and a chart"
DESCRIPTION = (
    "Show the history of this repository's archived reports (one tier, mode, phase, step and "
    "metric) read from the archive index, the change points found in the per-report medians "
    "and optionally a chart (HTML or SVG; PNG needs matplotlib). Always exits 0 unless the "
    "arguments or archive are unusable."
)
METRICS = ("wall_s", "cpu_s", "user_s", "sys_s", "max_rss_kb")
CHART_SUFFIXES = (".html", ".svg", ".png")
_penalty = bounded(float, low=0, open_low=True)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``trend`` subcommand (sets ``func``)."""
    p = subparsers.add_parser("trend", help=HELP, description=DESCRIPTION)
    add_location_arguments(p, repo_id=True)
    sel = p.add_argument_group("selection")
    sel.add_argument("--tier", default=None, help="tier (default: the newest report's)")
    sel.add_argument("--mode", default=None, help="mode (default: the newest report's)")
    sel.add_argument(
        "--phase",
        choices=("warm", "cold"),
        default=None,
        help="phase to follow (default: warm, else cold)",
    )
    sel.add_argument(
        "--step", default=None, metavar="S", help="follow step S (default: the whole phase)"
    )
    sel.add_argument(
        "--metric",
        choices=METRICS,
        default=None,
        help="metric to follow (default: the one the newest judged report's gate used: wall_s "
        "with --metric any, wall time being the user's time; cpu_s is user + system CPU)",
    )
    sel.add_argument("--branch", default=None, metavar="B", help="only reports of branch B")
    add_range_arguments(sel, last=DEFAULT_LAST, what="")
    out = p.add_argument_group("analysis and output")
    out.add_argument(
        "--penalty",
        type=_penalty,
        default=DEFAULT_PENALTY,
        metavar="X",
        help=f"change-point penalty (x (7 + ln n) noise squared); higher finds "
        f"fewer changes (default {DEFAULT_PENALTY:g})",
    )
    out.add_argument(
        "--chart",
        type=Path,
        default=None,
        metavar="PATH",
        help="write a chart: .html (interactive, self-contained), .svg or .png (matplotlib)",
    )
    out.add_argument(
        "--json", action="store_true", help="print the points and change points as JSON"
    )
    p.set_defaults(func=run)


def check_chart_path(path: Path | None) -> None:
    if path is not None and path.suffix.lower() not in CHART_SUFFIXES:
        raise UsageError(f"--chart must name a .html, .svg or .png file, got {str(path)!r}")


def run(args: argparse.Namespace) -> int:
    from ftbench import paths
    from ftbench.analyse.trend import analyse
    from ftbench.archive.repo_id import repo_id
    from ftbench.archive.sync import open_archives
    from ftbench.cli.common import repo_root

    check_chart_path(args.chart)
    root = repo_root(args.repo)
    if args.chart is not None:  # no link on the way to it (ftbench.paths)
        paths.check(args.chart.parent, paths.anchor(args.chart.parent, root))
    rid = repo_id(root, args.repo_id)
    # every key: --last counts matching reports, and may exceed the archives' default scan
    archives, notes = open_archives(root, args.archive_dir, scan_limit=None, check=True)
    trend = analyse(
        archives,
        rid,
        tier=args.tier,
        mode=args.mode,
        branch=args.branch,
        phase=args.phase,
        step=args.step,
        metric=args.metric,
        last=args.last,
        since=args.since,
        penalty=args.penalty,
        notes=notes,
    )
    out, err = sys.stdout, sys.stderr
    chart_line: str | None = None
    if args.chart is not None and len(trend.points) >= 2:
        chart_line = write_chart_or_skip(trend, args.chart)
    if args.json:
        skipped_chart = chart_line is not None and chart_line.startswith("[")
        data = trend.to_dict()
        for found, change in zip(data["changes"] or [], trend.changes or (), strict=True):
            found["bisect"] = bisect_command(trend, change)
        data["message"] = too_few_line(trend) if len(trend.points) < 2 else None
        data["chart"] = str(args.chart) if chart_line and not skipped_chart else None
        out.write(json.dumps(data, indent=2) + "\n")
        if skipped_chart and chart_line:
            err.write(chart_line + "\n")
        return EXIT_OK
    if len(trend.points) < 2:
        extra = " (no chart written)" if args.chart is not None else ""
        out.write(terminal(too_few_line(trend)) + extra + "\n")
    else:
        print_history(trend, out)
        if chart_line:
            out.write(chart_line + "\n")
    for note in trend.notes:
        out.write(terminal(f"note: {note}") + "\n")
    return EXIT_OK


def write_chart_or_skip(trend: Trend, path: Path) -> str:
    """``chart: PATH`` after writing it, or the [SKIP] line when matplotlib is missing (PNG)."""
    from ftbench.analyse.charts import SKIP_MATPLOTLIB, write_chart

    try:
        write_chart(trend, path)
    except ImportError:
        return SKIP_MATPLOTLIB
    return f"chart: {path}"


# --- text -----------------------------------------------------------------------------------


def describe(trend: Trend) -> str:
    """``repository R, tier T, mode M, warm phase[, branch B]``."""
    parts = [
        f"repository {trend.repo_id}",
        f"tier {trend.tier}" if trend.tier else "any tier",
        f"mode {trend.mode}" if trend.mode else "any mode",
        f"{trend.phase} phase",
    ]
    if trend.step:
        parts.append(f"step {trend.step}")
    if trend.metric_reason:  # chosen for the user: say which and why
        parts.append(f"metric {trend.metric} ({trend.metric_reason})")
    elif trend.metric != "wall_s":
        parts.append(f"metric {trend.metric}")
    if trend.branch:
        parts.append(f"branch {trend.branch}")
    return ", ".join(parts)


def fmt_pct(value: float) -> str:
    return f"{value:+.0f}%" if abs(value) >= 10 else f"{value:+.1f}%"


def fmt_value(trend: Trend, value: float) -> str:
    """A value of the trend's metric: ``12.3 ms`` (times) or ``1234 KB`` (peak RSS)."""
    from ftbench.report.formats import fmt_s

    return f"{value:.0f} KB" if trend.unit == "KB" else fmt_s(value)


def series_name(trend: Trend) -> str:
    """``warm``, ``warm pytest``, ``warm user_s``: what the values are."""
    parts = [trend.phase, *([trend.step] if trend.step else [])]
    if trend.metric != "wall_s":
        parts.append(trend.metric)
    return " ".join(parts)


def change_line(change: Change, trend: Trend) -> str:
    commit = f" (commit {change.commit[:12]})" if change.commit else ""
    return (
        f"change at {change.timestamp}{commit}: {series_name(trend)} "
        f"{fmt_value(trend, change.before)} -> {fmt_value(trend, change.after)} "
        f"({fmt_pct(change.pct)})"
    )


def table_rows(trend: Trend, *, ascii_marks: bool = True) -> list[list[str]]:
    """Header, then one row per point, oldest first."""
    head = ["#", "timestamp", "commit", "branch", series_name(trend) + " median", "n"]
    rows = [[*head, "verdict", "change"]]
    starts = trend.starts
    for i, p in enumerate(trend.points):
        change = starts.get(i)
        mark = ""
        if change is not None:
            up = change.pct >= 0
            arrow = ("^" if up else "v") if ascii_marks else ("▲" if up else "▼")
            mark = f"{arrow} {fmt_pct(change.pct)}"
        rows.append(
            [
                str(i + 1),
                p.timestamp,
                (p.commit or "-")[:12],
                p.branch or "-",
                fmt_value(trend, p.value),
                str(p.n),
                # the phase's verdict as the report decided it; A/B reports marked
                (p.verdict or "-") + (" (A/B)" if p.ab else ""),
                mark,
            ]
        )
    return rows


def summary_lines(trend: Trend) -> list[str]:
    """The lines under the table: the [SKIP] line, the changes, or "no change points"."""
    if trend.changes is None:
        return []
    noise = f"noise {trend.noise * 100:.1f}%, " if trend.noise is not None else ""
    if not trend.changes:
        return [f"no change points ({noise}penalty {trend.penalty:g})"]
    out = []
    for change in trend.changes:
        out.append(change_line(change, trend))
        command = bisect_command(trend, change)
        if command:
            out.append(f"  find the commit: {command}")
    return out


#: ``ft-bench bisect --metric`` for each metric trend follows
BISECT_METRICS = {"wall_s": "wall", "user_s": "cpu", "sys_s": "cpu", "max_rss_kb": "rss"}


def bisect_command(trend: Trend, change: Change) -> str | None:
    """The ``ft-bench bisect`` command that finds the commit of a change point between
    reports of two different commits (None when either commit is unknown or they are the
    same). Names come from the archive: quoted for the shell."""
    import shlex

    before = trend.points[change.index - 1].commit if change.index > 0 else None
    after = change.commit
    if not before or not after or before == after:
        return None
    words = ["ft-bench", "bisect", before[:12], after[:12]]
    if trend.tier:
        words += ["--tier", trend.tier]
    if trend.mode in ("fast", "normal", "full"):
        words += ["--mode", trend.mode]
    words += ["--skip-cold" if trend.phase == "warm" else "--skip-warm"]
    words += ["--metric", BISECT_METRICS.get(trend.metric, "any")]
    return shlex.join(words)


def print_history(trend: Trend, out: TextIO) -> None:
    """The history table (rich on a terminal, plain text otherwise), then the changes."""
    from ftbench.cli.tables import print_table

    tty = out.isatty()
    rows = table_rows(trend, ascii_marks=not tty)
    title = f"ft-bench trend: {describe(trend)} ({len(trend.points)} reports)"
    starts = trend.starts
    styles = {
        i: "bold red" if change.pct > 0 else "bold green"
        for i in range(len(rows) - 1)
        if (change := starts.get(i)) is not None
    }
    print_table(rows, out, title=title, styles=styles, footer=summary_lines(trend))


def too_few_line(trend: Trend) -> str:
    count = len(trend.points)
    found = "no successful report" if count == 0 else "only 1 successful report"
    return f"{found} of {describe(trend)}: a trend needs at least 2"
