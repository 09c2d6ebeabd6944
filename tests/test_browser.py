"""The dashboard's pages in a real browser: headless Chromium (Debian's ``chromium``) opens
them with the network off, the charts must be drawn and the console must stay clean.

Marker ``browser`` (its own step in ``.ci/run``, which installs chromium when missing); the
screenshots are kept in ``$FTBENCH_ARTIFACTS`` when set, else in the test's tmp directory.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from factory import make_report, noisy, ts
from ftbench.analyse.dashboard import build
from ftbench.archive.base import Archives, report_key
from ftbench.archive.local import LocalArchive
from test_dashboard import HOSTILE, Structure, hostile_report

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=5000",
]
#: How Chromium logs a page's console messages and uncaught errors on stderr.
CONSOLE = re.compile(r":(?:INFO|WARNING|ERROR):CONSOLE[:(]\d+\)?\] \"(.*)\", source: (.*)")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed"),
]


@pytest.fixture(autouse=True)
def _only_when_selected(request: pytest.FixtureRequest) -> None:
    if "browser" not in (request.config.getoption("markexpr", "") or ""):
        pytest.skip("browser: run with -m browser (.ci/run does)")


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def console_messages(stderr: str) -> list[str]:
    return [m.group(1) for m in CONSOLE.finditer(stderr)]


def artifacts(tmp_path: Path) -> Path:
    where = Path(os.environ.get("FTBENCH_ARTIFACTS", "") or tmp_path / "artifacts")
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture
def site(tmp_path: Path) -> Path:
    local = LocalArchive(tmp_path / "archive")
    for i in range(60):
        r = make_report(
            warm=noisy(0.1 * (1.25 if i >= 40 else 1.0), 6, seed=i),
            cold=noisy(0.2, 3, seed=500 + i),
            timestamp=ts(i),
            run_id=f"{i:032x}",
            commit=f"{i:040x}",
        )
        data = r.archive_bytes()
        local.put(report_key("benchmarks", "abcd1234", data, r.timestamp), data)
    build(Archives([local]), "abcd1234", tmp_path / "site")
    return tmp_path / "site"


def test_dashboard_pages_draw_without_console_errors(site: Path, tmp_path: Path) -> None:
    page = site / "lite-normal.html"
    done = chromium(page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_messages(done.stderr) == []
    dom = done.stdout
    assert 'data-drawn="60"' in dom  # the script ran and drew every report
    assert dom.count("<circle") == 60 and "<polyline" in dom
    assert re.search(r'class="cplabel slower">\+2\d% 0{5}', dom)  # the change point, annotated
    assert '<option value="cold">' in dom and '<option value="max_rss_kb">' in dom

    shot = artifacts(tmp_path) / "dashboard-lite-normal.png"
    done = chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1100,700")
    assert done.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG")
    assert shot.stat().st_size > 10_000  # a drawn chart, not a blank page

    index = chromium(site / "index.html", tmp_path / "profile", "--dump-dom")
    assert console_messages(index.stderr) == [] and "lite-normal.html" in index.stdout


@pytest.mark.parametrize("name", HOSTILE[:3])
def test_pages_with_hostile_names_still_draw(tmp_path: Path, name: str) -> None:
    """A step, tier or commit named ``<!--<script>`` (the HTML tokenizer's "script data
    escaped" states) or ``</script>...`` cannot swallow the page's script (issue 16)."""
    local = LocalArchive(tmp_path / "archive")
    for i in range(12):
        r = hostile_report(i, name, slower=i >= 6)
        data = r.archive_bytes()
        local.put(report_key("benchmarks", "abcd1234", data, r.timestamp), data)
    site = build(Archives([local]), "abcd1234", tmp_path / "site")
    page = site.pages[1]
    done = chromium(page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_messages(done.stderr) == []
    assert 'data-drawn="12"' in done.stdout  # the script ran and drew every report
    dom = Structure(done.stdout)
    assert len(dom.scripts) == 2 and "img" not in dom.tags and "onerror" not in dom.attributes
    escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f">{escaped}</option>" in done.stdout  # the step is offered, as text


def test_a_down_sampled_page_draws(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long history's page (here: at most 25 points of 60) draws, with its change point, and
    says how many reports the points stand for."""
    from ftbench.analyse import charts

    monkeypatch.setattr(charts, "MAX_POINTS", 25)
    local = LocalArchive(tmp_path / "archive")
    build(Archives([local]), "abcd1234", tmp_path / "small")
    page = tmp_path / "small" / "lite-normal.html"
    done = chromium(page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0 and console_messages(done.stderr) == []
    drawn = re.search(r'data-drawn="(\d+)"', done.stdout)
    assert drawn is not None and 10 < int(drawn.group(1)) <= 25
    assert f"60 reports ({drawn.group(1)} drawn:" in done.stdout
    assert re.search(r'class="cplabel slower">\+2\d% 0{5}', done.stdout)


def test_a_console_error_would_be_seen(site: Path, tmp_path: Path) -> None:
    """The check above can fail: a page whose script throws is caught (Chromium writes
    ``INFO:CONSOLE:13] "Uncaught TypeError: ...", source: file:///...``)."""
    broken = site / "broken.html"
    text = (site / "lite-normal.html").read_text()
    broken.write_text(text.replace('"use strict";', '"use strict"; null.boom();', 1))
    done = chromium(broken, tmp_path / "profile", "--dump-dom")
    assert any("TypeError" in m for m in console_messages(done.stderr))
    assert "data-drawn" not in done.stdout
