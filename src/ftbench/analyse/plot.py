"""The PNG chart of ``ft-bench trend --chart``: per-report medians with their spread, the
segment levels and the change points.

Uses matplotlib's object API with the Agg canvas (no pyplot, no global backend switch, no
display needed). The file is written atomically: a temporary file in the same directory,
then ``os.replace``.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

from ftbench import paths
from ftbench.errors import SetupError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ftbench.analyse.trend import Trend

MAX_TICKS = 12


def _literal(text: str) -> str:
    """``text`` drawn as written: a name with two ``$`` would otherwise be parsed as
    matplotlib mathtext (and ``$\\frac{$`` raise while drawing)."""
    return text.replace("$", r"\$")


def _tick_label(timestamp: str, commit: str | None) -> str:
    day = timestamp[5:10] if len(timestamp) >= 10 else timestamp
    return _literal(f"{day}\n{commit[:7]}" if commit else day)


def write_chart(trend: Trend, path: Path) -> None:
    """Draw ``trend`` into ``path`` (PNG). Raises ImportError without matplotlib and
    :class:`~ftbench.errors.SetupError` when the file cannot be written."""
    from datetime import datetime

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import date2num
    from matplotlib.figure import Figure

    points = trend.points
    kb = trend.unit == "KB"
    seconds = kb or max(p.value for p in points) >= 1
    scale, unit = (1.0, "KB" if kb else "s") if seconds else (1000.0, "ms")
    xs = [
        float(date2num(datetime.fromisoformat(p.timestamp.replace("Z", "+00:00"))))  # type: ignore[no-untyped-call]
        for p in points
    ]
    medians = [p.value * scale for p in points]
    nan = math.nan

    fig = Figure(figsize=(max(6.0, min(16.0, 2.0 + 0.25 * len(points))), 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    lows = [p.min * scale if p.min is not None else nan for p in points]
    highs = [p.max * scale if p.max is not None else nan for p in points]
    if any(not math.isnan(v) for v in lows):
        ax.fill_between(xs, lows, highs, color="tab:blue", alpha=0.12, linewidth=0, label="min–max")
    ci_low = [p.ci95[0] * scale if p.ci95 else nan for p in points]
    ci_high = [p.ci95[1] * scale if p.ci95 else nan for p in points]
    if any(not math.isnan(v) for v in ci_low):
        ax.fill_between(
            xs, ci_low, ci_high, color="tab:blue", alpha=0.28, linewidth=0, label="95% CI of median"
        )
    ax.plot(
        xs,
        medians,
        marker="o" if len(points) <= 1500 else None,
        markersize=3.5,
        color="tab:blue",
        linewidth=1.2,
        label="median",
    )
    judged = [i for i, p in enumerate(points) if p.verdict == "regression"]
    if judged:
        ax.plot(
            [xs[i] for i in judged],
            [medians[i] for i in judged],
            linestyle="none",
            marker="^",
            color="tab:red",
            label="verdict: regression",
        )

    changes = trend.changes or ()
    bounds = [0, *(c.index for c in changes), len(points)]
    levels = [changes[0].before] if changes else []
    levels += [c.after for c in changes]
    for i, level in enumerate(levels):
        ax.hlines(
            level * scale,
            xs[bounds[i]],
            xs[bounds[i + 1] - 1],
            colors="tab:gray",
            linestyles="dashed",
            linewidth=1.0,
            label="segment median" if i == 0 else "_nolegend_",
        )
    for c in changes:
        color = "tab:red" if c.pct > 0 else "tab:green"
        where = _literal(c.commit[:7] if c.commit else c.timestamp[:10])
        at = xs[c.index - 1] + (xs[c.index] - xs[c.index - 1]) / 2
        ax.axvline(at, color=color, linewidth=1.3, label=f"change {c.pct:+.0f}% at {where}")
        ax.annotate(
            f"{c.pct:+.0f}% {where}",
            (at, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            color=color,
            va="bottom",
        )

    step = max(1, math.ceil(len(points) / MAX_TICKS))
    ticks = list(range(0, len(points), step))
    ax.set_xticks([xs[i] for i in ticks])
    ax.set_xticklabels(
        [_tick_label(points[i].timestamp, points[i].commit) for i in ticks], fontsize=7
    )
    ax.set_ylim(bottom=0)
    what = " ".join([trend.phase, *([trend.step] if trend.step else []), trend.metric])
    ax.set_ylabel(_literal(f"{what} ({unit})"))
    branch = f", branch {trend.branch}" if trend.branch else ""
    ax.set_title(
        _literal(
            f"ft-bench trend: {trend.tier} / {trend.mode} / {trend.phase}"
            f" (repo {trend.repo_id}{branch})"
        ),
        fontsize=10,
    )
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    _save(fig, Path(path))


def _save(fig: Figure, path: Path) -> None:
    png = io.BytesIO()
    fig.savefig(png, format="png")
    try:
        paths.write(path, png.getvalue())
    except OSError as exc:
        raise SetupError(f"cannot write the chart {path}: {exc.strerror or exc}") from None
