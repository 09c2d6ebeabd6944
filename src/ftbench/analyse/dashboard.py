"""``ft-bench dashboard``: a static site over one repository's archive.

For every tier and mode of the repository: one interactive page (``{tier}-{mode}.html``,
every phase, step and metric selectable, change points and regression verdicts marked) and
one SVG per phase and step (wall time); ``index.html`` links them with the number of reports,
the newest verdict and the change points of each phase. Every page is self-contained (its
data and script inside): the directory can be published as a CI artifact or on any static
host.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftbench.analyse import DEFAULT_PENALTY
from ftbench.analyse.changepoints import MIN_SIZE, change_points, segment_levels
from ftbench.analyse.charts import Points, page, series_from, svg_from, text, write_text
from ftbench.analyse.columns import read

if TYPE_CHECKING:
    from ftbench.archive.base import Archives


@dataclass
class Site:
    """What was written."""

    directory: Path
    pages: list[Path] = field(default_factory=list)
    svgs: list[Path] = field(default_factory=list)
    reports: int = 0
    notes: list[str] = field(default_factory=list)


def _slug(*parts: str) -> str:
    """A file name from names: safe characters kept, and a short hash of the names when any
    was changed (``a/b`` and ``a_b`` get different files)."""
    safe = [re.sub(r"[^A-Za-z0-9._]+", "_", p) for p in parts]
    name = "-".join(safe)
    if safe != list(parts):
        name += "-" + hashlib.sha256("\0".join(parts).encode(errors="replace")).hexdigest()[:8]
    return name


@dataclass(frozen=True)
class Series:
    """One series of a page: its points (whole history or ``--last``) and change points."""

    phase: str
    step: str | None
    metric: str
    points: Points
    changes: list[tuple[int, float, float]]  #: (first index of the new segment, before, after)


def analysed(phase: str, step: str | None, metric: str, points: Points, penalty: float) -> Series:
    """One series with its change points, found as ``trend`` finds them (4 reports or more)."""
    values = points.values
    starts: list[int] = []
    if len(values) >= 2 * MIN_SIZE:
        starts, _noise = change_points(values, penalty)
    levels = segment_levels(values, starts)
    changes = [(i, before, after) for i, (before, after) in zip(starts, levels, strict=True)]
    return Series(phase, step, metric, points, changes)


def _changes_text(s: Series) -> str:
    found = [
        f"{(after / before - 1) * 100:+.0f}% at {(s.points.commits[i] or '')[:7]}"
        for i, before, after in s.changes
    ]
    return ", ".join(found) or "none"


def _index_page(repo_id: str, entries: Sequence[dict[str, Any]], notes: Sequence[str]) -> str:
    head = "<tr><th>tier / mode</th><th>reports</th><th>newest</th><th>verdict</th>" + (
        "<th>change points (wall time per phase)</th></tr>"
    )
    body = "".join(
        f"<tr><td><a href='{text(e['href'])}'>{text(e['name'])}</a></td>"
        f"<td>{e['reports']}</td><td>{text(e['newest'])}</td>"
        f"<td>{text(e['verdict'] or '-')}</td><td>{text(e['changes'])}</td></tr>"
        for e in entries
    )
    notes_html = "".join(f"<li>{text(n)}</li>" for n in notes)
    empty = "" if entries else "<p>no successful report</p>"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>ft-bench dashboard: {text(repo_id)}</title></head><body>"
        f"<h1>ft-bench dashboard: repository {text(repo_id)}</h1>{empty}"
        f"<table id='tiers'>{head}{body}</table>"
        f"{'<ul>' + notes_html + '</ul>' if notes_html else ''}</body></html>\n"
    )


def build(
    archives: Archives,
    repo_id: str,
    directory: Path,
    *,
    branch: str | None = None,
    last: int | None = None,
    since: str | None = None,
    penalty: float = DEFAULT_PENALTY,
    notes: Sequence[str] = (),
) -> Site:
    """Write the site of ``repo_id`` into ``directory``: every tier and mode over the whole
    history, or its newest ``last`` reports, from ``since`` on (a report timestamp,
    ``2026-11-01T00:00:00Z``)."""
    site = Site(Path(directory), notes=list(notes))
    history = read(archives, repo_id, site.notes, branch=branch, since=since)
    site.reports = len(history.keys)
    entries = []
    nav = "<nav><a href='index.html'>all tiers</a></nav>"
    for tier, mode in history.groups():
        found = [analysed(*one, penalty) for one in history.series(tier, mode, last)]
        if not found:
            continue
        whole = [s for s in found if s.step is None and s.metric == "wall_s"]
        name = _slug(tier, mode)
        label = f"{tier}/{mode}"
        drawn = [
            series_from(
                s.points, s.changes, label=label, phase=s.phase, step=s.step, metric=s.metric
            )
            for s in found
        ]
        title = f"{repo_id}: tier {tier}, mode {mode}" + (f", branch {branch}" if branch else "")
        target = site.directory / f"{name}.html"
        write_text(target, page(title, drawn, nav=nav))
        site.pages.append(target)
        for s, data in zip(found, drawn, strict=True):
            if s.metric == "wall_s":
                svg = (
                    site.directory / "svg" / f"{_slug(tier, mode, s.phase, s.step or 'phase')}.svg"
                )
                write_text(svg, svg_from(data))
                site.svgs.append(svg)
        newest = max(whole or found, key=lambda s: s.points.stamps[-1]).points
        entries.append(
            {
                "href": f"{name}.html",
                "name": f"{tier} / {mode}",
                "reports": max(len(s.points.values) for s in whole or found),
                "newest": newest.stamps[-1],
                "verdict": history.newest_verdict(tier, mode),  # the report's, not a phase's
                "changes": "; ".join(f"{s.phase}: {_changes_text(s)}" for s in whole) or "none",
            }
        )
    index = site.directory / "index.html"
    write_text(index, _index_page(repo_id, entries, site.notes))
    site.pages.insert(0, index)
    return site
