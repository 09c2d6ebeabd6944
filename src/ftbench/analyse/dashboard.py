"""``ft-bench dashboard``: a static site over one repository's archive.

For every tier and mode of the repository: one interactive page (``{tier}-{mode}.html``,
every phase, step and metric selectable, change points and regression verdicts marked) and
one SVG per phase and step (wall time); ``index.html`` links them with the number of reports,
the newest verdict and the change points of each phase. Every page is self-contained (its
data and script inside): the directory can be published as a CI artifact or on any static
host.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftbench.analyse import DEFAULT_PENALTY
from ftbench.analyse.charts import page, series_of, svg_of, write_text
from ftbench.analyse.trend import METRICS, Trend, select, trend_of

if TYPE_CHECKING:
    from ftbench.archive.base import Archives

Rows = list[tuple[str, list[dict[str, Any]]]]


@dataclass
class Site:
    """What was written."""

    directory: Path
    pages: list[Path] = field(default_factory=list)
    svgs: list[Path] = field(default_factory=list)
    reports: int = 0
    notes: list[str] = field(default_factory=list)


def _slug(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9._]+", "_", p) for p in parts)


def series_keys(rows: Rows) -> list[tuple[str, str | None, str]]:
    """Every ``(phase, step, metric)`` present in ``rows``, phases first then steps."""
    found: set[tuple[str, str | None, str]] = set()
    for _key, report_rows in rows:
        for r in report_rows:
            if r.get("phase") and r.get("metric") in METRICS:
                found.add((r["phase"], r.get("step"), r["metric"]))
    order = {m: i for i, m in enumerate(METRICS)}
    return sorted(found, key=lambda k: (k[0] != "warm", k[1] is not None, k[1] or "", order[k[2]]))


def trends(
    rows: Rows,
    repo_id: str,
    tier: str,
    mode: str,
    *,
    branch: str | None = None,
    penalty: float = DEFAULT_PENALTY,
) -> list[Trend]:
    """One trend per phase, step and metric of ``tier``/``mode`` (whole history)."""
    mine = [(k, r) for k, r in rows if r and r[0].get("tier") == tier and r[0].get("mode") == mode]
    out = []
    for phase, step, metric in series_keys(mine):
        sel = select(
            mine,
            tier=tier,
            mode=mode,
            branch=branch,
            phase=phase,  # type: ignore[arg-type]
            step=step,
            metric=metric,
            last=None,
        )
        if sel.points:
            out.append(
                trend_of(sel, repo_id, branch=branch, step=step, metric=metric, penalty=penalty)
            )
    return out


def _changes_text(trend: Trend) -> str:
    found = [f"{c.pct:+.0f}% at {(c.commit or '')[:7]}" for c in trend.changes or ()]
    return ", ".join(found) or "none"


def _index_page(repo_id: str, entries: Sequence[dict[str, Any]], notes: Sequence[str]) -> str:
    head = "<tr><th>tier / mode</th><th>reports</th><th>newest</th><th>verdict</th>" + (
        "<th>change points (wall time per phase)</th></tr>"
    )
    body = "".join(
        f"<tr><td><a href='{html.escape(e['href'])}'>{html.escape(e['name'])}</a></td>"
        f"<td>{e['reports']}</td><td>{html.escape(e['newest'])}</td>"
        f"<td>{html.escape(e['verdict'] or '-')}</td><td>{html.escape(e['changes'])}</td></tr>"
        for e in entries
    )
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    empty = "" if entries else "<p>no successful report</p>"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>ft-bench dashboard: {html.escape(repo_id)}</title></head><body>"
        f"<h1>ft-bench dashboard: repository {html.escape(repo_id)}</h1>{empty}"
        f"<table id='tiers'>{head}{body}</table>"
        f"{'<ul>' + notes_html + '</ul>' if notes_html else ''}</body></html>\n"
    )


def build(
    archives: Archives,
    repo_id: str,
    directory: Path,
    *,
    branch: str | None = None,
    penalty: float = DEFAULT_PENALTY,
    notes: Sequence[str] = (),
) -> Site:
    """Write the site of ``repo_id`` into ``directory``."""
    site = Site(Path(directory), notes=list(notes))
    rows: Rows = archives.run_rows(repo_id, site.notes)
    rows = [(k, r) for k, r in rows if r and r[0].get("succeeded")]
    site.reports = len(rows)
    groups = sorted({(r[0]["tier"], r[0]["mode"]) for _k, r in rows})
    entries = []
    nav = "<nav><a href='index.html'>all tiers</a></nav>"
    for tier, mode in groups:
        found = trends(rows, repo_id, tier, mode, branch=branch, penalty=penalty)
        if not found:
            continue
        name = _slug(tier, mode)
        title = f"{repo_id}: tier {tier}, mode {mode}" + (f", branch {branch}" if branch else "")
        target = site.directory / f"{name}.html"
        write_text(target, page(title, [series_of(t) for t in found], nav=nav))
        site.pages.append(target)
        for t in found:
            if t.metric == "wall_s":
                svg = (
                    site.directory / "svg" / f"{_slug(tier, mode, t.phase, t.step or 'phase')}.svg"
                )
                write_text(svg, svg_of(t))
                site.svgs.append(svg)
        whole = [t for t in found if t.step is None and t.metric == "wall_s"]
        newest = max((t.points[-1] for t in whole), key=lambda p: p.timestamp)
        changes = "; ".join(
            f"{t.phase}: "
            + (
                ", ".join(f"{c.pct:+.0f}% at {(c.commit or '')[:7]}" for c in t.changes or ())
                or "none"
            )
            for t in whole
        )
        entries.append(
            {
                "href": f"{name}.html",
                "name": f"{tier} / {mode}",
                "reports": max(len(t.points) for t in whole),
                "newest": newest.timestamp,
                "verdict": newest.verdict,
                "changes": changes,
            }
        )
    index = site.directory / "index.html"
    write_text(index, _index_page(repo_id, entries, site.notes))
    site.pages.insert(0, index)
    return site
