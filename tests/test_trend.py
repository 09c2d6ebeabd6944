"""``ft-bench trend``: selection from the archive, change points, table, JSON, chart."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import random
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory import BrokenStore, MemoryStore, make_report, noisy, ts
from ftbench.analyse import DEFAULT_PENALTY, changepoints, charts, trend
from ftbench.archive.base import SCAN_LIMIT, Archives, report_key
from ftbench.archive.local import LocalArchive
from ftbench.cli import trend as trend_cli
from ftbench.cli.app import main
from ftbench.report.model import KeyedReport, Phase, Report, Stats
from procs import modules_loaded

RID = "abcd1234"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _no_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the local archive: no S3 variables, no archive directory override."""
    for name in list(os.environ):
        if name.startswith("S3_") or name == "FTBENCH_ARCHIVE_DIR":
            monkeypatch.delenv(name)


def report(
    i: int,
    median: float,
    *,
    seed: int | None = None,
    cv: float = 0.03,
    n: int = 10,
    stats: bool = True,
    **kw: Any,
) -> Report:
    """The i-th report of a series: warm samples around ``median``, a commit per report.

    ``stats=False``: the warm phase keeps its ``elapsed_s`` but has no summary statistics
    (no min, max or CI).
    """
    walls = noisy(median, n, cv=cv, seed=i if seed is None else seed)
    kw.setdefault("repo_id", RID)
    r = make_report(
        walls,
        noisy(3 * median, 5, seed=1000 + i),
        timestamp=ts(i),
        commit=f"{i:04x}" + "c" * 36,
        **kw,
    )
    if not stats:
        assert r.runs.warm is not None
        bare = Stats(
            n=n, median=None, mean=None, stdev=None, min=None, max=None, mad=None, ci95=None
        )
        warm = dataclasses.replace(r.runs.warm, stats=bare)
        r = dataclasses.replace(r, runs=dataclasses.replace(r.runs, warm=warm))
    return r


def step_series(
    count: int = 20, at: int = 10, before: float = 0.100, after: float = 0.130, **kw: Any
) -> list[Report]:
    return [report(i, before if i < at else after, **kw) for i in range(count)]


def archive(tmp_path: Path, reports: Sequence[Report]) -> Path:
    """A local archive in ``tmp_path/archive`` holding ``reports`` under their keys."""
    root = tmp_path / "archive"
    store = LocalArchive(root)
    for r in reports:
        data = r.archive_bytes()
        store.put(report_key(store.prefix, r.repo_id, data, r.timestamp), data)
    return root


def cli(tmp_path: Path, reports: Sequence[Report], *args: str) -> list[str]:
    """``ft-bench trend`` over an archive of ``reports``."""
    arc = archive(tmp_path, reports)
    return ["trend", "--repo", str(tmp_path), "--archive-dir", str(arc), "--repo-id", RID, *args]


def memory(reports: Sequence[Report], name: str = "local") -> MemoryStore:
    store = MemoryStore(name)
    for r in reports:
        store.add(r)
    return store


def analyse(stores: Sequence[MemoryStore], **kw: Any) -> trend.Trend:
    """``trend.analyse`` over ``stores`` (all keys, no scan limit)."""
    return trend.analyse(Archives(stores, scan_limit=None), RID, **kw)


# --- change points ---------------------------------------------------------------------------


def test_step_is_detected_at_the_right_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(cli(tmp_path, step_series())) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    changes = [line for line in lines if line.startswith("change at")]
    assert changes == [changes[0]] and changes[0].startswith(f"change at {ts(10)} (commit 000a")
    levels = re.search(r": warm ([\d.]+) ms -> ([\d.]+) ms \(\+(\d+)%\)$", changes[0])
    assert levels is not None, changes[0]
    before, after, pct = (float(v) for v in levels.groups())
    assert before == pytest.approx(100, rel=0.03) and after == pytest.approx(130, rel=0.03)
    assert abs(pct - (after / before - 1) * 100) <= 1
    marked = [line for line in lines if line.rstrip().endswith("%") and "^" in line]
    assert len(marked) == 1 and marked[0].split()[0] == "11" and ts(10) in marked[0]
    assert "tier lite, mode normal, warm phase (20 reports)" in lines[0]


def test_step_levels_and_percentage() -> None:
    t = analyse([memory(step_series())])
    assert t.changes is not None and [c.index for c in t.changes] == [10]
    change = t.changes[0]
    assert change.before == pytest.approx(0.100, rel=0.03)
    assert change.after == pytest.approx(0.130, rel=0.03)
    assert 25 < change.pct < 35


@pytest.mark.parametrize("seed", range(5))
def test_flat_noisy_series_has_no_change_point(seed: int) -> None:
    reports = [report(i, 0.100, seed=100 * seed + i, cv=0.03) for i in range(20)]
    t = analyse([memory(reports)])
    assert t.changes == (), [trend_cli.change_line(c, t) for c in t.changes or ()]


def test_one_outlier_report_is_not_a_change() -> None:
    reports = [report(i, 0.160 if i == 9 else 0.100) for i in range(20)]
    t = analyse([memory(reports)])
    assert t.changes == ()


def test_several_steps_in_both_directions() -> None:
    levels = [0.100] * 12 + [0.150] * 10 + [0.090] * 10
    t = analyse([memory([report(i, m) for i, m in enumerate(levels)])])
    assert t.changes is not None and [c.index for c in t.changes] == [12, 22]
    assert t.changes[0].pct > 40 and t.changes[1].pct < -30


def test_penalty_is_scale_free_and_overridable() -> None:
    fast = [report(i, 0.010 if i < 10 else 0.013) for i in range(20)]
    slow = [report(i, 10.0 if i < 10 else 13.0) for i in range(20)]
    for series in (fast, slow):
        assert [c.index for c in analyse([memory(series)]).changes or []] == [10]
    huge = analyse([memory(slow)], penalty=1e6)
    assert huge.changes == ()


def test_change_points_need_four_reports() -> None:
    t = analyse([memory(step_series(3, at=2))])
    assert t.changes is None and any("at least 4" in n for n in t.notes)
    # four reports are enough for one change, three are not
    assert changepoints.change_points([0.1, 0.1, 0.2, 0.2], DEFAULT_PENALTY) == (
        [2],
        changepoints.NOISE_FLOOR,
    )
    assert changepoints.change_points([0.1, 0.1, 0.2], DEFAULT_PENALTY)[0] == []


def test_noise_scale_is_robust_and_floored() -> None:
    noise_scale, floor = changepoints.noise_scale, changepoints.NOISE_FLOOR
    assert noise_scale([0.0] * 10) == floor
    assert noise_scale([]) == floor
    # a level shift moves one difference only: the scale stays at the floor
    assert noise_scale([0.0] * 10 + [1.0] * 10) == floor
    # alternating +-0.1 steps: every difference is 0.1, scaled to a normal sigma of one report
    jitter = [0.1 * (i % 2) for i in range(21)]
    expected = 0.1 * changepoints._FACTOR / 2**0.5
    assert noise_scale(jitter) == pytest.approx(expected)
    shifted = jitter[:10] + [v + 1.0 for v in jitter[10:]]  # ... with a level shift
    assert noise_scale(shifted) == pytest.approx(expected)
    # on normal noise it estimates the standard deviation of one report
    rng = random.Random(3)
    normal = [rng.gauss(0.0, 0.05) for _ in range(20000)]
    assert noise_scale(normal) == pytest.approx(0.05, rel=0.03)


def test_outlier_reports_are_clipped_and_steps_kept() -> None:
    values = [0.0] * 20
    values[7] = 1.0  # one report 10 sigma off
    clipped = changepoints.clipped(values, 0.1)
    assert clipped[7] == pytest.approx(0.3) and clipped[:7] == values[:7]
    step = [0.0] * 10 + [1.0] * 10
    assert changepoints.clipped(step, 0.1) == step


def test_change_points_scale_to_long_series() -> None:
    rng = random.Random(5)
    values = [math.exp(rng.gauss(0.0, 0.03)) * (1.2 if i >= 6000 else 1.0) for i in range(10000)]
    starts, noise = changepoints.change_points(values, DEFAULT_PENALTY)
    assert len(starts) == 1 and abs(starts[0] - 6000) <= 1
    assert noise == pytest.approx(0.03, rel=0.1)


# --- selection -------------------------------------------------------------------------------


def test_filters_tier_branch_and_failed_reports() -> None:
    reports = step_series(12, at=100)
    reports += [report(20 + i, 0.5, tier="full") for i in range(3)]
    reports += [report(30 + i, 0.1, branch="feature") for i in range(4)]
    reports += [report(40, 0.1, ok=False), report(41, 0.1, warm_failed=[0.2])]
    store = memory(reports)

    default = analyse([store])  # tier/mode of the newest *successful* report
    assert default.tier == "lite" and len(default.points) == 16
    assert {p.branch for p in default.points} == {"main", "feature"}

    full = analyse([store], tier="full")
    assert full.tier == "full" and len(full.points) == 3
    assert all(p.value > 0.4 for p in full.points)

    main_only = analyse([store], branch="main")  # newest on main: tier full
    assert main_only.tier == "full"
    main_only = analyse([store], branch="main", tier="lite")
    assert len(main_only.points) == 12 and {p.branch for p in main_only.points} == {"main"}

    keys = {p.key for p in default.points}
    assert not any(ts(40) in k or ts(41) in k for k in keys)  # failed runs are left out


def test_mode_and_phase_defaults() -> None:
    reports = [report(i, 0.1, mode="fast") for i in range(3)]
    reports += [
        make_report(None, noisy(0.3, 5, seed=i), timestamp=ts(10 + i), repo_id=RID, mode="full")
        for i in range(2)
    ]
    store = memory(reports)
    newest = analyse([store])
    assert (newest.mode, newest.phase, len(newest.points)) == ("full", "cold", 2)
    fast = analyse([store], mode="fast")
    assert (fast.mode, fast.phase, len(fast.points)) == ("fast", "warm", 3)
    cold = analyse([store], mode="fast", phase="cold")
    assert cold.phase == "cold" and len(cold.points) == 3
    assert all(p.value > 0.2 for p in cold.points)


def test_last_keeps_the_newest_oldest_first() -> None:
    t = analyse([memory(step_series(30, at=100))], last=5)
    assert [p.timestamp for p in t.points] == [ts(i) for i in range(25, 30)]


def test_a_warm_index_reads_no_report(tmp_path: Path) -> None:
    local = LocalArchive(tmp_path / "archive")
    for r in step_series(30, at=20):
        data = r.archive_bytes()
        local.put(report_key("benchmarks", RID, data, r.timestamp), data)
    first = trend.analyse(Archives([local]), RID, last=None)
    assert [c.index for c in first.changes or ()] == [20]
    assert list((tmp_path / "archive/benchmarks/index/v1/runs").rglob("*.jsonl.gz"))
    reads: list[str] = []
    original = LocalArchive.get

    def counting(self: LocalArchive, key: str) -> bytes | None:
        reads.append(key)
        return original(self, key)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LocalArchive, "get", counting)
        again = trend.analyse(Archives([local]), RID, last=None)
    assert reads == [] and again.points == first.points and again.changes == first.changes


def test_stores_are_deduplicated_and_a_broken_store_is_a_note() -> None:
    reports = step_series(8, at=100)
    t = analyse([BrokenStore("s3"), memory(reports), memory(reports, "s3copy")])
    assert len(t.points) == 8
    assert any(n.startswith("archive s3 unavailable: ConnectionError") for n in t.notes)


def test_other_repositories_and_garbage_are_ignored() -> None:
    store = memory(step_series(5, at=100))
    store.add(make_report(noisy(0.1, 10), timestamp=ts(50), repo_id="ffff0000"))
    store.data[f"benchmarks/{RID}/{ts(60)}-benchmark-000000000000.json"] = b"not json"
    store.data[f"benchmarks/{RID}/{ts(61)}-benchmark-000000000001.json"] = b"[1, 2]"
    t = analyse([store])
    assert len(t.points) == 5
    unreadable = [n for n in t.notes if n.startswith("could not read ")]
    assert len(unreadable) == 2 and ts(60) in unreadable[-1] and ts(61) in unreadable[0]


# --- command line ----------------------------------------------------------------------------


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(cli(tmp_path, step_series(), "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["tier"], data["mode"], data["phase"], data["repo_id"]) == (
        "lite",
        "normal",
        "warm",
        RID,
    )
    assert len(data["points"]) == 20 and data["points"][0]["timestamp"] == ts(0)
    assert data["points"][0]["n"] == 10 and data["points"][0]["ci95"] is not None
    assert [c["index"] for c in data["changes"]] == [10]
    assert data["changes"][0]["timestamp"] == ts(10) and data["changes"][0]["pct"] > 20
    assert data["penalty"] == DEFAULT_PENALTY and data["message"] is None


def test_last_reaches_past_the_default_scan_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    count = SCAN_LIMIT + 5
    reports = [report(i, 0.1, seed=i) for i in range(count)]
    assert main(cli(tmp_path, reports, "--last", str(count), "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["points"]) == count


def test_chart_is_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "out" / "trend.png"
    assert main(cli(tmp_path, step_series(), "--chart", str(chart))) == 0
    data = chart.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_SIGNATURE)
    assert f"chart: {chart}" in capsys.readouterr().out
    assert not [p for p in chart.parent.iterdir() if p.name != "trend.png"]  # no temp left


def test_chart_in_seconds_without_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "slow.png"
    reports = [report(i, 2.0 if i < 5 else 2.5, stats=False) for i in range(10)]
    assert main(cli(tmp_path, reports, "--chart", str(chart), "--json")) == 0
    assert chart.read_bytes().startswith(PNG_SIGNATURE)
    data = json.loads(capsys.readouterr().out)
    assert data["chart"] == str(chart) and len(data["points"]) == 10
    first = data["points"][0]  # the median comes from elapsed_s, there is no spread
    assert first["value"] == pytest.approx(2.0, rel=0.1)
    assert (first["min"], first["max"], first["ci95"]) == (None, None, None)


def test_fewer_than_two_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(cli(tmp_path, [report(0, 0.1)], "--chart", str(tmp_path / "c.png"))) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("only 1 successful report of repository abcd1234, tier lite")
    assert "(no chart written)" in out and len(out.splitlines()) == 1
    assert not (tmp_path / "c.png").exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(cli(empty, [], "--tier", "nope")) == 0
    assert capsys.readouterr().out.startswith(
        "no successful report of repository abcd1234, tier nope"
    )
    assert main(cli(empty, [], "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["points"] == [] and data["message"].startswith("no successful report")


def test_without_matplotlib(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "matplotlib",
        "matplotlib.figure",
        "matplotlib.backends",
        "matplotlib.backends.backend_agg",
    ):
        monkeypatch.setitem(sys.modules, name, None)
    chart = tmp_path / "c.png"
    assert main(cli(tmp_path, step_series(), "--chart", str(chart))) == 0
    out = capsys.readouterr().out
    assert charts.SKIP_MATPLOTLIB in out and "change at" in out
    assert not chart.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--chart", "x.jpg"],
        ["--last", "0"],
        ["--last", "x"],
        ["--penalty", "0"],
        ["--penalty", "nan"],
        ["--phase", "hot"],
    ],
)
def test_bad_arguments_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    try:
        code = main(cli(tmp_path, [], *args))
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err


def test_unwritable_chart_is_a_setup_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(cli(tmp_path, step_series(), "--chart", str(blocker / "c.png"))) == 5
    err = capsys.readouterr().err
    assert err.startswith("ft-bench: error: cannot write the chart") and err.count("\n") == 1


def test_rich_table_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    trend_cli.print_history(analyse([memory(step_series())]), out)
    text = out.getvalue()
    assert ("┃" in text or "│" in text) and "▲ +" in text and "change at" in text


def test_importing_trend_loads_no_heavy_module() -> None:
    code = (
        "import ftbench.cli.app, ftbench.cli.trend, ftbench.analyse.trend, ftbench.analyse.plot; "
        "ftbench.cli.app.build_parser()"
    )
    heavy = ("numpy", "scipy", "rich", "ruptures", "matplotlib")
    assert modules_loaded(code, *heavy) == []


# --- robustness ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values, max_size=6))
def test_garbage_in_the_archive_is_a_note_each(items: list[Any]) -> None:
    store = MemoryStore()
    for i, item in enumerate(items):
        store.data[f"benchmarks/{RID}/{ts(i)}-benchmark-{i:012x}.json"] = json.dumps(item).encode()
    t = analyse([store])
    assert t.points == () and len(t.notes) == len(items)
    assert all(n.startswith("could not read ") for n in t.notes)


positive_or_not = st.sampled_from([None, -0.5, 0.0, 0.05, 0.1, 2.0])
spreads = st.sampled_from([None, (0.2, 0.1), (0.0, 0.1), (0.09, 0.11)])


@st.composite
def odd_reports(draw: st.DrawFn, i: int) -> Report:
    """A valid report with a possibly missing, failed or odd (zero, negative) phase."""
    r = report(
        i,
        0.1,
        n=6,
        tier=draw(st.sampled_from(["lite", "full"])),
        branch=draw(st.sampled_from(["main", "feature", None])),
    )
    runs: dict[str, Phase | None] = {}
    for name in ("warm", "cold"):
        block = r.runs.get(name)
        assert block is not None
        if draw(st.booleans()):
            runs[name] = None
            continue
        low_high, ci = draw(spreads), draw(spreads)
        stats = dataclasses.replace(
            block.stats,
            median=draw(positive_or_not),
            min=low_high[0] if low_high else None,
            max=low_high[1] if low_high else None,
            ci95=ci,
        )
        runs[name] = dataclasses.replace(
            block, elapsed_s=draw(positive_or_not), ok=draw(st.booleans()), stats=stats
        )
    return dataclasses.replace(r, runs=dataclasses.replace(r.runs, **runs))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.data(),
    st.integers(0, 8),
    st.sampled_from([None, "main"]),
    st.sampled_from([None, "warm", "cold"]),
    st.integers(2, 5),
)
def test_selection_of_odd_reports(
    data: st.DataObject, count: int, branch: str | None, phase: trend.PhaseName | None, last: int
) -> None:
    reports = [data.draw(odd_reports(i)) for i in range(count)]
    store = memory(reports)
    t = analyse([store], branch=branch, phase=phase, last=last)

    # what the selection should keep, from the newest report down
    newest = [KeyedReport(key, Report.from_json(store.data[key])) for key in store.list_keys(RID)]
    kept = [
        k
        for k in newest
        if k.report.succeeded and (branch is None or k.report.git.branch == branch)
    ]
    tier = kept[0].report.tier if kept else None
    chosen = phase or (("warm" if kept[0].report.runs.warm else "cold") if kept else "warm")
    expected = []
    for k in kept:
        block = k.report.runs.get(chosen)
        median = (
            None
            if block is None
            else (block.elapsed_s if block.elapsed_s is not None else block.stats.median)
        )
        if k.report.tier == tier and median is not None and median > 0:
            expected.append(k.key)
    assert (t.tier, t.phase) == (tier, chosen)
    assert [p.key for p in t.points] == expected[:last][::-1]
    for p in t.points:
        assert p.value > 0
        assert p.ci95 is None or 0 < p.ci95[0] <= p.ci95[1]
        assert (p.min is None) == (p.max is None)
        assert p.min is None or p.max is None or 0 < p.min <= p.max
    out = io.StringIO()
    trend_cli.print_history(t, out)
    assert len(t.points) < 1 or out.getvalue().count("\n") >= len(t.points) + 2
    json.dumps(t.to_dict(), allow_nan=False)


def test_trend_prints_the_bisect_command_of_each_change_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tier = "lite; rm -rf ~"
    reports = [
        make_report(
            [0.1 if i < 6 else 0.13] * 10,
            tier=tier,
            timestamp=ts(i),
            commit=f"{i:04x}" + "c" * 36,
            repo_id="bisectrepo",
        )
        for i in range(12)
    ]
    root = archive(tmp_path, reports)
    args = ["trend", "--repo", str(tmp_path), "--archive-dir", str(root), "--repo-id", "bisectrepo"]
    assert main(args) == 0
    out = capsys.readouterr().out
    expected = shlex.join(
        ["ft-bench", "bisect", "0005cccccccc", "0006cccccccc", "--tier", tier, "--mode", "normal"]
    )
    line = next(x for x in out.splitlines() if "find the commit" in x)
    assert line.strip() == f"find the commit: {expected} --skip-cold --metric wall"
    assert main([*args, "--json"]) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    assert changes[0]["bisect"] == f"{expected} --skip-cold --metric wall"
