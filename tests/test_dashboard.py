"""``ft-bench dashboard`` and the HTML/SVG charts: names a pull request controls are escaped
wherever they land (issue 16, item 4), and a long history gives a bounded page (item 11)."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from factory import MemoryStore, make_report, noisy, ts
from ftbench.analyse.charts import epoch_ms, json_in_html, page
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


def test_every_name_field_of_a_series_is_escaped() -> None:
    """phase, step, metric, label, commit and verdict: whatever an index line says."""
    bad = HOSTILE[0] + HOSTILE[1] + HOSTILE[2] + "\x00\x1b\ud800"
    values = [0.1, 0.1, 0.1, 0.2, 0.2, 0.2]
    series = {
        "phase": bad,
        "step": bad,
        "metric": bad,
        "unit": "s",
        "label": bad,
        "level": 0.15,
        "points": [
            [epoch_ms(ts(i)), v, None, None, bad[:12], bad, 5] for i, v in enumerate(values)
        ],
        "changes": [[3, 100.0, 0.1, 0.2]],
    }
    found, data = check_page(page(bad, [series], nav=""), scripts=2)
    assert data == json.loads(json.dumps({"series": [series]}))
    assert "".join(found.titles) == bad.replace("\x00", "\ufffd").replace("\x1b", "\ufffd").replace(
        "\ud800", "\ufffd"
    )


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


def test_streamed_lines_are_the_lines() -> None:
    """``run_lines(take=...)`` hands over what it would have kept; ``each_run_lines`` hands
    each key once, from the first store that lists it."""
    first, second = MemoryStore("local"), MemoryStore("s3")
    reports = [hostile_report(i, "lite") for i in range(8)]
    for r in reports[:5]:
        first.add(r)
    for r in reports[3:]:
        second.add(r)
    kept = run_lines(first, RID, []).lines
    taken: dict[str, list[bytes]] = {}
    assert run_lines(first, RID, [], take=taken.__setitem__).lines == {}
    assert taken == kept and len(kept) == 5
    handed: list[str] = []
    Archives([first, second]).each_run_lines(RID, [], lambda k, lines: handed.append(k))
    assert sorted(handed) == sorted(set(first.data) | set(second.data)) and len(handed) == 8
