"""Charts of trends: an interactive self-contained HTML page, a static SVG, a PNG.

* HTML: the series are embedded as JSON and drawn as SVG by ``chart.js`` (shipped with the
  package and inlined into the page: no CDN, no network); phase, step and metric are chosen
  in the page. :func:`page` is also what ``ft-bench dashboard`` writes.
* SVG: the same drawing, made here (standard library only).
* PNG: ``ftbench.analyse.plot`` (matplotlib, the ``plot`` extra).

All of them put time on the x axis with date and short commit labels, mark each change point
with its size and commit, and mark reports whose verdict was ``regression``.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftbench import paths
from ftbench.analyse import MAX_POINTS
from ftbench.analyse.sampling import pick
from ftbench.errors import SetupError

if TYPE_CHECKING:
    from ftbench.analyse.trend import Trend

SKIP_MATPLOTLIB = "[SKIP] PNG charts need matplotlib: pip install 'ftbench[plot]'"
WHOLE_PHASE = "(phase)"
W, H, ML, MR, MT, MB = 980, 440, 72, 24, 36, 64

CSS = """
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
select{margin:0 12px 0 4px}#tip{font-family:monospace;min-height:1.4em;color:#444}
.grid{stroke:#eee}.axis{stroke:#888}.tick{font-size:11px;fill:#555}.commit{fill:#777}
.band{fill:#cfe0f5;opacity:.6}.line{fill:none;stroke:#1f5fa8;stroke-width:1.2}
.pt{fill:#1f5fa8}.level{stroke:#333;stroke-dasharray:5 4}.cp{stroke-width:1.5}
.slower{stroke:#c62828;fill:#c62828}.faster{stroke:#2e7d32;fill:#2e7d32}
.cplabel{font-size:11px;stroke:none}.regression{fill:#c62828}
nav a{margin-right:12px}table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left}
"""


def epoch_ms(timestamp: str) -> int:
    """``2026-11-01T10:00:00Z`` -> milliseconds since the epoch (UTC; no zone: UTC)."""
    when = datetime.fromisoformat(timestamp)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


@dataclass(frozen=True)
class Points:
    """One series, oldest first, as the columns a chart draws (``min``/``max``: of the
    report's samples, None when unknown)."""

    stamps: Sequence[str]
    values: Sequence[float]
    lows: Sequence[float | None]
    highs: Sequence[float | None]
    commits: Sequence[str | None]
    verdicts: Sequence[str | None]
    ns: Sequence[int]


def series_of(trend: Trend, limit: int | None = None) -> dict[str, Any]:
    """The JSON value the page draws for one trend (see :func:`series_from`)."""
    pts = trend.points
    points = Points(
        stamps=[p.timestamp for p in pts],
        values=[p.value for p in pts],
        lows=[p.min for p in pts],
        highs=[p.max for p in pts],
        commits=[p.commit for p in pts],
        verdicts=[p.verdict for p in pts],
        ns=[p.n for p in pts],
    )
    return series_from(
        points,
        [(c.index, c.before, c.after) for c in trend.changes or ()],
        label=f"{trend.tier}/{trend.mode}",
        phase=trend.phase,
        step=trend.step,
        metric=trend.metric,
        limit=limit,
    )


def series_from(
    points: Points,
    changes: Sequence[tuple[int, float, float]],
    *,
    label: str,
    phase: str,
    step: str | None,
    metric: str,
    limit: int | None = None,
) -> dict[str, Any]:
    """The JSON value the page draws for one series.

    ``points``: at most ``limit`` (default :data:`~ftbench.analyse.MAX_POINTS`) of them
    (:func:`ftbench.analyse.sampling.pick`), each ``[ms, value, min, max, commit, verdict,
    n]``; ``changes``: ``(index of the first report of the new segment, level before, level
    after)``, drawn as ``[index among the points drawn, pct, before, after]``; ``reports``:
    the number of reports before down-sampling."""
    import statistics

    values = points.values
    marked = [v == "regression" for v in points.verdicts]
    kept = pick(values, marked, [c[0] for c in changes], MAX_POINTS if limit is None else limit)
    where = {k.at: j for j, k in enumerate(kept)}
    if len(kept) < len(values):  # buckets: the band spans their reports
        lows = [v if low is None else low for low, v in zip(points.lows, values, strict=True)]
        highs = [v if h is None else h for h, v in zip(points.highs, values, strict=True)]
    drawn = []
    for i, first, stop in kept:
        low, high = points.lows[i], points.highs[i]
        if stop - first > 1:
            low, high = min(lows[first:stop]), max(highs[first:stop])
        drawn.append(
            [
                epoch_ms(points.stamps[i]),
                _round(values[i]),
                _round(low),
                _round(high),
                (points.commits[i] or "")[:12],
                points.verdicts[i],
                points.ns[i],
            ]
        )
    name = step or WHOLE_PHASE
    return {
        "phase": phase,
        "step": name,
        "metric": metric,
        "unit": "KB" if metric == "max_rss_kb" else "s",
        "label": f"{label} {phase} {name} {metric}",
        "level": statistics.median(values) if values else None,
        "reports": len(values),
        "points": drawn,
        "changes": [
            [where[i], round((after / before - 1.0) * 100.0, 2), _round(before), _round(after)]
            for i, before, after in changes
        ],
    }


def _round(value: float | None) -> float | None:
    """Six significant digits: plenty for a chart, a third of the page's size."""
    return None if value is None else float(f"{value:.6g}")


def _script() -> str:
    return resources.files("ftbench.analyse").joinpath("chart.js").read_text(encoding="utf-8")


#: What JSON inside ``<script>`` must not contain raw: ``<`` (``</script>``, ``<!--``), ``>``
#: and ``&`` (the tokenizer's other states). Escaped as ``\u003c`` etc. they read back as the
#: same string; ``json.dumps`` escapes every other non-ASCII character (U+2028, U+2029, lone
#: surrogates) already.
_JSON_IN_HTML = str.maketrans({c: f"\\u{ord(c):04x}" for c in "<>&"})
#: Characters XML 1.0 forbids (an SVG with one does not load) and lone surrogates.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def json_in_html(value: Any) -> str:
    """``value`` as JSON to embed in an HTML ``<script>`` element: no character of it can
    end the element or enter another state of the HTML tokenizer (``docs/reliability.md``,
    "HTML, SVG and JSON in HTML")."""
    return json.dumps(value, separators=(",", ":")).translate(_JSON_IN_HTML)


def text(value: object) -> str:
    """``value`` as HTML/SVG text or attribute value: ``& < > " '`` escaped, characters
    XML cannot carry replaced by U+FFFD."""
    return html.escape(_NOT_XML.sub("\ufffd", str(value)), quote=True)


def page(title: str, series: list[dict[str, Any]], *, nav: str = "") -> str:
    """A self-contained interactive page drawing ``series`` (see :func:`series_from`);
    ``nav`` is trusted HTML (the dashboard's links)."""
    pickers = "".join(
        f'<label>{name} <select id="pick-{name}"></select></label>'
        for name in ("phase", "step", "metric")
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{text(title)}</title><style>{CSS}</style></head><body>"
        f"{nav}<h1>{text(title)}</h1><p>{pickers}</p>"
        "<p id='caption'></p><div id='chart'></div><div id='tip'></div>"
        f"<script id='ftbench-data' type='application/json'>"
        f"{json_in_html({'series': series})}</script>"
        f"<script>{_script()}</script></body></html>\n"
    )


def _fmt(value: float, unit: str, big: bool) -> str:
    if unit == "KB":
        return f"{value / 1024:.1f} MB" if big else f"{value:.0f} KB"
    if big:
        return f"{value:.2f} s"
    ms = value * 1000
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms" if ms >= 10 else f"{ms:.2f} ms"


def svg_of(trend: Trend) -> str:
    """A static SVG of ``trend`` (the page's drawing, without the interaction)."""
    return svg_from(series_of(trend))


def svg_from(s: dict[str, Any]) -> str:
    """A static SVG of one series of the page (see :func:`series_from`)."""
    pts = s["points"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" '
        f'height="{H}"><style>{CSS}</style><title>{text(s["label"])}</title>'
    ]
    if not pts:
        return out[0] + "</svg>\n"
    values = [p[1] for p in pts]
    unit = s["unit"]
    big = max(values) >= (10240 if unit == "KB" else 1)
    lows = [p[2] if p[2] is not None else p[1] for p in pts]
    highs = [p[3] if p[3] is not None else p[1] for p in pts]
    lo, hi = float(min(lows)), float(max(highs))
    pad = (hi - lo) * 0.08 or hi * 0.05 or 1.0
    lo, hi = max(0.0, lo - pad), hi + pad
    t0, t1 = float(pts[0][0]), float(pts[-1][0])

    def x(t: float) -> float:
        return ML + (0.5 if t1 == t0 else (t - t0) / (t1 - t0)) * (W - ML - MR)

    def y(v: float) -> float:
        return MT + (1 - (v - lo) / (hi - lo)) * (H - MT - MB)

    for k in range(6):
        v = lo + (hi - lo) * k / 5
        out.append(f'<line x1="{ML}" x2="{W - MR}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>')
        out.append(
            f'<text x="{ML - 6}" y="{y(v) + 4:.1f}" text-anchor="end" class="tick">'
            f"{_fmt(v, unit, big)}</text>"
        )
    nx = min(8, len(pts))
    for k in range(nx):
        i = 0 if nx == 1 else round(k * (len(pts) - 1) / (nx - 1))
        p = pts[i]
        day = time.strftime("%Y-%m-%d", time.gmtime(p[0] / 1000))
        anchor = "start" if nx > 1 and k == 0 else "end" if nx > 1 and k == nx - 1 else "middle"
        out.append(
            f'<text x="{x(p[0]):.1f}" y="{H - MB + 18}" text-anchor="{anchor}" class="tick">'
            f'<tspan x="{x(p[0]):.1f}">{day}</tspan><tspan x="{x(p[0]):.1f}" dy="14" '
            f'class="commit">{text(p[4][:7])}</tspan></text>'
        )
    band = [f"{x(p[0]):.1f},{y(h):.1f}" for p, h in zip(pts, highs, strict=True)]
    band += [
        f"{x(p[0]):.1f},{y(low):.1f}" for p, low in reversed(list(zip(pts, lows, strict=True)))
    ]
    out.append(f'<polygon points="{" ".join(band)}" class="band"/>')
    line = " ".join(f"{x(p[0]):.1f},{y(p[1]):.1f}" for p in pts)
    out.append(f'<polyline points="{line}" class="line"/>')
    for p in pts if len(pts) <= 1500 else ():
        out.append(
            f'<circle cx="{x(p[0]):.1f}" cy="{y(p[1]):.1f}" r="2.6" class="pt"><title>'
            f"{text(p[4][:12])} {_fmt(p[1], unit, big)}</title></circle>"
        )
    changes = s["changes"]
    starts = [0, *(c[0] for c in changes), len(pts)]
    for j in range(len(starts) - 1):
        a, b = starts[j], starts[j + 1] - 1
        level = (changes[0][2] if changes else s["level"]) if j == 0 else changes[j - 1][3]
        out.append(
            f'<line x1="{x(pts[a][0]):.1f}" x2="{x(pts[b][0]):.1f}" y1="{y(level):.1f}" '
            f'y2="{y(level):.1f}" class="level"/>'
        )
    for i, pct, _before, _after in changes:
        cx = (x(pts[i - 1][0]) + x(pts[i][0])) / 2
        cls = "slower" if pct >= 0 else "faster"
        size = f"{pct:+.0f}%" if abs(pct) >= 10 else f"{pct:+.1f}%"
        out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{MT}" y2="{H - MB}" class="cp {cls}"/>')
        out.append(
            f'<text x="{cx + 3:.1f}" y="{MT - 6}" class="cplabel {cls}">{size} '
            f"{text(pts[i][4][:7])}</text>"
        )
    for p in pts:
        if p[5] == "regression":
            px, py = x(p[0]), y(p[1])
            out.append(f'<path d="M{px:.1f},{py - 9:.1f} l5,8 l-10,0 z" class="regression"/>')
    out.append("</svg>\n")
    return "".join(out)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically (temporary file, then ``os.replace``); parents created."""
    try:
        paths.write(path, text)  # readable by all: published as is (CI artifacts, static hosts)
    except OSError as exc:
        raise SetupError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_chart(trend: Trend, path: Path) -> None:
    """Write ``trend`` as ``path`` (``.html``, ``.svg`` or ``.png``). Raises ImportError for
    a PNG without matplotlib, :class:`SetupError` when the file cannot be written."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        from ftbench.analyse.plot import write_chart as write_png

        write_png(trend, Path(path))
    elif suffix == ".svg":
        write_text(Path(path), svg_of(trend))
    else:
        series = series_of(trend)
        write_text(Path(path), page(f"ft-bench trend: {trend.repo_id} {series['label']}", [series]))
