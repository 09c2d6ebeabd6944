"""``ft-bench dashboard`` and the HTML/SVG charts: names a pull request controls are escaped
wherever they land (issue 16, item 4), and a long history gives a bounded page (item 11)."""

from __future__ import annotations

import dataclasses
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factory import MemoryStore, make_report, noisy, ts
from ftbench.analyse import MAX_POINTS, charts, columns, sampling, trend
from ftbench.analyse.charts import Points, json_in_html, page, series_from, svg_from
from ftbench.analyse.dashboard import build
from ftbench.archive.base import Archives, report_key
from ftbench.archive.index import run_lines
from ftbench.archive.local import LocalArchive
from ftbench.cli.app import main
from ftbench.report.model import Report

RID = "abcd1234"
HOSTILE = [
    "<!--<script>",
    "</script><script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "&lt;",
    "a\nb\r\nc",
    "line\u2028sep\u2029",
    "' onmouseover='alert(1)",
]


@pytest.fixture(autouse=True)
def _no_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("S3_") or name == "FTBENCH_ARCHIVE_DIR":
            monkeypatch.delenv(name)


def hostile_report(i: int, name: str, *, slower: bool = False, **kw: Any) -> Report:
    """A report whose tier, branch, commit and step names are ``name``."""
    kw = {"tier": name, "branch": name, "commit": name, **kw}
    r = make_report(
        warm=noisy(0.1 * (1.3 if slower else 1.0), 6, seed=i),
        cold=noisy(0.2, 3, seed=100 + i),
        timestamp=ts(i),
        run_id=f"{i:032x}",
        **kw,
    )
    assert r.runs.warm is not None
    warm = dataclasses.replace(
        r.runs.warm, steps={name: r.runs.warm.stats, "plain": r.runs.warm.stats}
    )
    return dataclasses.replace(r, runs=dataclasses.replace(r.runs, warm=warm))


def put(local: LocalArchive, reports: Sequence[Report]) -> None:
    for r in reports:
        data = r.archive_bytes()
        local.put(report_key("benchmarks", RID, data, r.timestamp), data)


# --- what a parser makes of the output ------------------------------------------------------

HTML_TAGS = {
    "html", "head", "meta", "title", "style", "body", "nav", "a", "h1", "p", "label",
    "select", "div", "script", "table", "tr", "th", "td", "ul", "li",
}  # fmt: skip
SVG_TAGS = {
    "svg",
    "style",
    "title",
    "line",
    "text",
    "tspan",
    "polygon",
    "polyline",
    "circle",
    "path",
}
ATTRIBUTES = {
    "lang", "charset", "href", "id", "type", "class", "xmlns", "viewBox", "width", "height",
    "x", "y", "x1", "x2", "y1", "y2", "dy", "text-anchor", "points", "cx", "cy", "r", "d",
}  # fmt: skip


class Structure(HTMLParser):
    """Tags, attributes, the text of ``<title>`` and the content of each ``<script>``."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.titles: list[str] = []
        self._in: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.update(a for a, _ in attrs)
        if tag == "script":
            self.scripts.append((dict(attrs), ""))
        self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        elif self._in == "title":
            self.titles.append(data)


def check_page(text: str, scripts: int) -> tuple[Structure, dict[str, Any] | None]:
    """The page's structure holds: only the expected tags and attributes, exactly
    ``scripts`` script elements, and the data block is JSON."""
    found = Structure(text)
    assert set(found.tags) <= HTML_TAGS, set(found.tags) - HTML_TAGS
    assert found.attributes <= ATTRIBUTES, found.attributes - ATTRIBUTES
    assert len(found.scripts) == scripts
    if not scripts:
        return found, None
    (data_attrs, data), (code_attrs, code) = found.scripts
    assert data_attrs == {"id": "ftbench-data", "type": "application/json"} and code_attrs == {}
    assert code.startswith("// ftbench trend chart") and code.rstrip().endswith("})();")
    for raw in ("<", ">", "&"):
        assert raw not in data
    return found, json.loads(data)


def check_svg(text: str) -> ET.Element:
    root = ET.fromstring(text)  # well-formed XML: the browser loads it
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    assert tags <= SVG_TAGS, tags - SVG_TAGS
    attributes = {a for el in root.iter() for a in el.attrib}
    assert attributes <= ATTRIBUTES, attributes - ATTRIBUTES
    return root


# --- escaping ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_through_the_dashboard(tmp_path: Path, name: str) -> None:
    local = LocalArchive(tmp_path / "archive")
    put(local, [hostile_report(i, name, slower=i >= 6) for i in range(12)])
    notes = [f"note with {name}"]
    site = build(Archives([local]), RID, tmp_path / "site", branch=name, notes=notes)
    index, tier_page = site.pages
    found, _ = check_page(index.read_bytes().decode(), scripts=0)
    assert "".join(found.titles) == f"ft-bench dashboard: {RID}"
    text = index.read_bytes().decode()
    assert "<img" not in text and "<script" not in text and text.count("<li>") == 1

    found, data = check_page(tier_page.read_bytes().decode(), scripts=2)
    assert "".join(found.titles) == f"{RID}: tier {name}, mode normal, branch {name}"
    assert data is not None
    steps = {s["step"] for s in data["series"]}
    assert steps == {"(phase)", name, "plain"}  # the names read back unchanged
    hostile = next(s for s in data["series"] if s["step"] == name)
    assert hostile["label"] == f"{name}/normal warm {name} wall_s"
    assert {p[4] for p in hostile["points"]} == {name[:12]}
    assert len(hostile["changes"]) == 1

    assert len(site.svgs) == 4  # cold and warm phases, two warm steps
    for svg in site.svgs:
        assert svg.parent == tmp_path / "site" / "svg"  # a name never leaves the directory
        root = check_svg(svg.read_bytes().decode())
        title = root.find("{http://www.w3.org/2000/svg}title")
        assert title is not None and title.text is not None and name.split("\n")[0] in title.text


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_through_the_trend_charts(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    local = LocalArchive(tmp_path / "archive")
    put(local, [hostile_report(i, name, slower=i >= 6) for i in range(12)])
    common = ["trend", "--repo", str(tmp_path), "--archive-dir", str(tmp_path / "archive")]
    for suffix in ("html", "svg"):
        chart = tmp_path / f"chart.{suffix}"
        args = [*common, "--repo-id", RID, "--step", name, "--chart", str(chart)]
        assert main(args) == 0, capsys.readouterr()
        text = chart.read_bytes().decode()
        if suffix == "svg":
            check_svg(text)
            continue
        found, data = check_page(text, scripts=2)
        assert data is not None and data["series"][0]["step"] == name
        assert "".join(found.titles).startswith(f"ft-bench trend: {RID} {name}/normal warm {name}")


@pytest.mark.parametrize("name", ["a$\\frac{$b", "$x^$", HOSTILE[0]])
def test_hostile_names_through_the_png_chart(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """matplotlib would read a name with two ``$`` as mathtext (``$\\frac{$`` raised)."""
    local = LocalArchive(tmp_path / "archive")
    put(local, [hostile_report(i, name, slower=i >= 6) for i in range(12)])
    chart = tmp_path / "chart.png"
    args = ["trend", "--repo", str(tmp_path), "--archive-dir", str(tmp_path / "archive")]
    assert main([*args, "--repo-id", RID, "--step", name, "--chart", str(chart)]) == 0
    assert f"chart: {chart}" in capsys.readouterr().out
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_every_name_field_of_a_series_is_escaped() -> None:
    """phase, step, metric, label, commit and verdict: whatever an index line says."""
    bad = HOSTILE[0] + HOSTILE[1] + HOSTILE[2] + "\x00\x1b\ud800"
    points = Points(
        stamps=[ts(i) for i in range(6)],
        values=[0.1, 0.1, 0.1, 0.2, 0.2, 0.2],
        lows=[None] * 6,
        highs=[None] * 6,
        commits=[bad] * 6,
        verdicts=[bad, "regression", bad, bad, bad, bad],
        ns=[5] * 6,
    )
    series = series_from(points, [(3, 0.1, 0.2)], label=bad, phase=bad, step=bad, metric=bad)
    found, data = check_page(page(bad, [series], nav=""), scripts=2)
    assert data == json.loads(json.dumps({"series": [series]}))
    assert "".join(found.titles) == bad.replace("\x00", "\ufffd").replace("\x1b", "\ufffd").replace(
        "\ud800", "\ufffd"
    )
    check_svg(svg_from(series))


def test_file_names_stay_in_the_directory_and_do_not_collide(tmp_path: Path) -> None:
    store = MemoryStore()
    for i, tier in enumerate(["a/b", "a_b", "../..", "a b"] * 2):
        store.add(hostile_report(i, "plain", tier=tier))
    site = build(Archives([store], scan_limit=None), RID, tmp_path / "site")
    names = [p.name for p in site.pages]
    assert len(names) == 5 and len(set(names)) == 5 and "a_b-normal.html" in names
    assert all(p.parent == tmp_path / "site" for p in site.pages)
    assert all(p.parent == tmp_path / "site" / "svg" for p in site.svgs)
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == sorted([*names, "svg"])


def test_json_in_html_escapes_every_tokenizer_character() -> None:
    value = {"a": "<!--<script></script>&amp;\u2028\u2029>", "<key>": ["]]>", "\ud800"]}
    text = json_in_html(value)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert "\\u003c!--\\u003cscript\\u003e" in text
    assert json.loads(text) == value


# --- bounded pages ----------------------------------------------------------------------------


def long_points(n: int, at: int) -> tuple[Points, list[tuple[int, float, float]]]:
    values = [(0.1 if i < at else 0.13) * (1 + 0.02 * math.sin(i)) for i in range(n)]
    values[n // 3] = 0.5  # one spike
    values[n // 5] = 0.01  # one dip
    verdicts = ["regression" if i == n // 2 + 1 else "no change" for i in range(n)]
    return (
        Points(
            stamps=[f"20{20 + i // 500000:02d}-01-01T00:00:00Z" for i in range(n)],
            values=values,
            lows=[v * 0.9 for v in values],
            highs=[v * 1.1 for v in values],
            commits=[f"{i:012x}" for i in range(n)],
            verdicts=verdicts,
            ns=[5] * n,
        ),
        [(at, 0.1, 0.13)],
    )


def test_a_long_series_is_down_sampled_keeping_what_matters() -> None:
    n, at = 20_000, 13_337
    points, changes = long_points(n, at)
    s = series_from(points, changes, label="t/m", phase="warm", step=None, metric="wall_s")
    drawn = s["points"]
    assert s["reports"] == n and len(drawn) <= MAX_POINTS
    commits = [p[4] for p in drawn]
    assert commits == sorted(commits)  # in time order, each report once
    assert len(set(commits)) == len(commits)
    ((index, pct, before, after),) = s["changes"]
    assert (drawn[index][4], drawn[index - 1][4]) == (f"{at:012x}", f"{at - 1:012x}")
    assert round(pct) == 30 and (before, after) == (0.1, 0.13)
    values = [p[1] for p in drawn]
    assert max(values) == 0.5 and min(values) == 0.01  # the extremes survive
    assert [p[4] for p in drawn if p[5] == "regression"] == [f"{n // 2 + 1:012x}"]
    assert (drawn[0][4], drawn[-1][4]) == (f"{0:012x}", f"{n - 1:012x}")
    # the band spans each bucket's reports: nothing of the history falls outside it
    assert min(p[2] for p in drawn) == pytest.approx(0.009) and max(p[3] for p in drawn) == 0.55


def test_a_short_series_is_drawn_whole() -> None:
    points, changes = long_points(50, 30)
    s = series_from(points, changes, label="t/m", phase="warm", step=None, metric="wall_s")
    assert s["reports"] == 50 and len(s["points"]) == 50 and s["changes"][0][0] == 30


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(0.001, 10.0), min_size=1, max_size=400),
    limit=st.integers(12, 60),
    data=st.data(),
)
def test_pick_is_bounded_ordered_and_keeps_change_points(
    values: list[float], limit: int, data: st.DataObject
) -> None:
    n = len(values)
    starts = sorted(
        data.draw(st.sets(st.integers(1, max(1, n - 1)), max_size=limit // 8)) if n > 1 else set()
    )
    marked = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    kept = sampling.pick(values, marked, starts, limit)
    at = [k.at for k in kept]
    assert len(kept) <= max(limit, n if n <= limit else 0) and at == sorted(set(at))
    assert all(k.first <= k.at < k.stop <= n for k in kept)
    assert {0, n - 1} <= set(at) and all({c - 1, c} <= set(at) for c in starts)
    covered: set[int] = set()
    for k in kept:
        covered.update(range(k.first, k.stop))
    assert covered == set(range(n))  # every report is in the band of a point drawn
    for k in kept:  # each bucket shows its extremes and its first marked report
        span = range(k.first, k.stop)
        inside = [j for j in at if j in span]
        assert max(values[j] for j in inside) == max(values[j] for j in span)
        assert min(values[j] for j in inside) == min(values[j] for j in span)
        first_marked = next((j for j in span if marked[j]), None)
        assert first_marked is None or first_marked in inside


def test_the_dashboard_page_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "MAX_POINTS", 30)
    store = MemoryStore()
    for i in range(150):
        store.add(
            make_report(
                warm=noisy(0.1 * (1.3 if i >= 100 else 1.0), 6, seed=i),
                cold=noisy(0.2, 3, seed=500 + i),
                timestamp=ts(i),
                run_id=f"{i:032x}",
                commit=f"{i:012x}" + "0" * 28,
            )
        )
    site = build(Archives([store], scan_limit=None), RID, tmp_path / "site")
    _, data = check_page(site.pages[1].read_bytes().decode(), scripts=2)
    assert data is not None and site.reports == 150
    for s in data["series"]:
        assert s["reports"] == 150 and len(s["points"]) <= 30
    warm = next(s for s in data["series"] if s["label"] == "lite/normal warm (phase) wall_s")
    ((index, *_),) = warm["changes"]
    assert warm["points"][index][4] == f"{100:012x}"


# --- the same selection as trend, --last and --since ------------------------------------------


def series_by_name(data: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(s["phase"], s["step"], s["metric"]): s for s in data["series"]}


def test_the_dashboard_draws_what_trend_selects(tmp_path: Path) -> None:
    store = MemoryStore()
    reports = [hostile_report(i, "lite", slower=i >= 14) for i in range(24)]
    reports[3] = hostile_report(3, "lite", ok=False)  # failed: left out
    reports[5] = hostile_report(5, "lite", tier="other")
    for r in reports:
        store.add(r)
    archives = Archives([store], scan_limit=None)
    site = build(archives, RID, tmp_path / "site")
    assert [p.name for p in site.pages] == ["index.html", "lite-normal.html", "other-normal.html"]
    _, data = check_page((tmp_path / "site" / "lite-normal.html").read_bytes().decode(), scripts=2)
    assert data is not None
    drawn = series_by_name(data)
    assert set(drawn) == {
        ("warm", "(phase)", "wall_s"),
        ("warm", "(phase)", "max_rss_kb"),
        ("warm", "lite", "wall_s"),
        ("warm", "plain", "wall_s"),
        ("cold", "(phase)", "wall_s"),
        ("cold", "(phase)", "max_rss_kb"),
    }
    for (phase, step, metric), s in drawn.items():
        t = trend.analyse(
            archives,
            RID,
            tier="lite",
            phase=phase,  # type: ignore[arg-type]
            step=None if step == "(phase)" else step,
            metric=metric,
            last=None,
        )
        assert s == charts.series_of(t), (phase, step, metric)
    assert len(drawn[("warm", "(phase)", "wall_s")]["points"]) == 22


def test_last_and_since(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = LocalArchive(tmp_path / "archive")
    put(local, [hostile_report(i, "lite", slower=i >= 30) for i in range(40)])
    out = tmp_path / "site"
    common = ["dashboard", "--repo", str(tmp_path), "--archive-dir", str(tmp_path / "archive")]
    common += ["--repo-id", RID, "--out", str(out)]

    def drawn() -> list[str]:
        _, data = check_page((out / "lite-normal.html").read_bytes().decode(), scripts=2)
        assert data is not None
        warm = series_by_name(data)[("warm", "(phase)", "wall_s")]
        return [p[4] for p in warm["points"]]

    assert main([*common]) == 0 and len(drawn()) == 40
    assert "40 report(s)" in capsys.readouterr().out
    assert main([*common, "--last", "10"]) == 0
    assert drawn() == ["lite"] * 10
    _, data = check_page((out / "lite-normal.html").read_bytes().decode(), scripts=2)
    assert data is not None
    assert data["series"][0]["points"][0][0] == charts.epoch_ms(ts(30))
    assert main([*common, "--since", ts(35)]) == 0
    assert len(drawn()) == 5
    assert main([*common, "--since", "2026-11-02"]) == 0  # ts(24) is 2026-11-02T00:00:00Z
    assert len(drawn()) == 16
    capsys.readouterr()
    for bad, says in (
        (["--since", "last week"], "argument --since: expected a date (2026-11-01) or a time"),
        (["--last", "1"], "argument --last: expected a whole number >= 2, got '1'"),
        (["--last", "some"], "argument --last: expected a whole number >= 2, got 'some'"),
    ):
        with pytest.raises(SystemExit) as exc:  # argparse's own errors
            main([*common, *bad])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and len(err.strip().splitlines()) == 1 and says in err

    trend_args = ["trend", *common[1:5], "--repo-id", RID, "--json"]
    assert main([*trend_args, "--since", "2026-11-02T06:00:00+02:00", "--last", "all"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    assert [p["timestamp"] for p in points] == [ts(i) for i in range(28, 40)]


def test_unusable_index_rows_are_left_out() -> None:
    """Rows of the wrong shape or types are skipped, a report whose timestamp is not one is
    left out (counted in a note), never a crash, the others kept. (Lines that are not JSON
    never reach the columns: the index's reader heals their segment, tests/test_index_damage.)"""
    good: list[Any] = [
        {
            "key": "k",
            "timestamp": "2026-11-01T00:00:00Z",
            "tier": "lite",
            "mode": "normal",
            "succeeded": True,
            "commit": "abc",
            "phase": "warm",
            "step": None,
            "metric": "wall_s",
            "value": 0.1,
            "n": 5,
            "min": 0.09,
            "max": 0.11,
            "phase_verdict": "ok",
        },
        {"phase": "warm", "step": 7, "metric": "wall_s", "value": 0.1},  # a step: no name
        {"phase": "warm", "step": None, "metric": "user_s", "value": "fast"},
        [1, 2],
    ]
    history = columns.History()
    history.add_rows("k", good)
    history.add_rows("bad-time", [{**good[0], "timestamp": "yesterday"}])
    history.add_rows("not-rows", ["text"])
    assert history.unreadable == 1 and history.keys == ["k"]
    ((phase, step, metric, points),) = history.series("lite", "normal")
    assert (phase, step, metric, list(points.values), list(points.lows)) == (
        "warm",
        None,
        "wall_s",
        [0.1],
        [0.09],
    )


def test_streamed_rows_are_the_rows() -> None:
    """``run_lines(take_rows=...)`` hands over what it would have kept; ``each_run_rows``
    hands each key once, from the first store that lists it."""
    first, second = MemoryStore("local"), MemoryStore("s3")
    reports = [hostile_report(i, "lite") for i in range(8)]
    for r in reports[:5]:
        first.add(r)
    for r in reports[3:]:
        second.add(r)
    kept = run_lines(first, RID, []).rows
    taken: dict[str, list[dict[str, Any]]] = {}
    found = run_lines(first, RID, [], take_rows=taken.__setitem__)
    assert found.lines == {} and found.rows == {}
    assert taken == kept and len(kept) == 5
    handed: list[str] = []
    Archives([first, second]).each_run_rows(RID, [], lambda k, rows: handed.append(k))
    assert sorted(handed) == sorted(set(first.data) | set(second.data)) and len(handed) == 8


def test_the_index_shows_the_newest_reports_verdict_whatever_the_reading_order() -> None:
    """Issue 21 (one verdict everywhere): the rows of an archive come newest first or by
    segment; the index's verdict is the newest report's, not the last one read."""

    def line(key: str, stamp: str, verdict: str) -> bytes:
        return (
            f'{{"key":"{key}","timestamp":"{stamp}","tier":"lite","mode":"normal",'
            f'"succeeded":true,"commit":"abc","phase":"warm","step":null,"metric":"wall_s",'
            f'"value":0.1,"n":5,"min":0.09,"max":0.11,"phase_verdict":"ok",'
            f'"verdict":"{verdict}"}}'
        ).encode()

    history = columns.History()
    history.add_rows("new", [json.loads(line("new", "2026-11-03T00:00:00Z", "no change"))])
    history.add_rows("old", [json.loads(line("old", "2026-11-01T00:00:00Z", "regression"))])
    assert history.newest_verdict("lite", "normal") == "no change"
