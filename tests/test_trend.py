"""``ft-bench trend``: selection from the archive, change points, table, JSON, chart."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftbench.analyse import trend
from ftbench.archive.base import canonical_report_bytes, report_key
from ftbench.archive.local import LocalArchive
from ftbench.cli.app import main
from judge_factory import BrokenStore, MemoryStore, make_report, noisy, ts

RID = "abcd1234"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _no_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the local archive: no S3 variables, no archive directory override."""
    for name in list(os.environ):
        if name.startswith("S3_") or name == "FTBENCH_ARCHIVE_DIR":
            monkeypatch.delenv(name)


def report(i: int, median: float, *, seed: int | None = None, cv: float = 0.03,
           n: int = 10, stats: bool = True, **kw: Any) -> dict[str, Any]:
    """The i-th report of a series: warm samples around ``median``, a commit per report."""
    walls = noisy(median, n, cv=cv, seed=i if seed is None else seed)
    r = make_report(walls, noisy(3 * median, 5, seed=1000 + i), timestamp=ts(i), repo_id=RID,
                    **kw)
    r["git"]["commit"] = f"{i:04x}" + "c" * 36
    if stats:
        s = sorted(walls)
        r["runs"]["warm"]["stats"] = {"n": n, "median": s[n // 2], "min": s[0], "max": s[-1],
                                      "ci95": [s[1], s[-2]]}
    return r


def step_series(count: int = 20, at: int = 10, before: float = 0.100,
                after: float = 0.130, **kw: Any) -> list[dict[str, Any]]:
    return [report(i, before if i < at else after, **kw) for i in range(count)]


def archive(tmp_path: Path, reports: Sequence[dict[str, Any]]) -> Path:
    """A local archive in ``tmp_path/archive`` holding ``reports`` under their keys."""
    root = tmp_path / "archive"
    store = LocalArchive(root)
    for r in reports:
        data = canonical_report_bytes(r)
        store.put(report_key(store.prefix, RID, data, r["timestamp"]), data)
    return root


def cli(tmp_path: Path, reports: Sequence[dict[str, Any]], *args: str) -> list[str]:
    """``ft-bench trend`` over an archive of ``reports``."""
    arc = archive(tmp_path, reports)
    return ["trend", "--repo", str(tmp_path), "--archive-dir", str(arc), "--repo-id", RID,
            *args]


def memory(reports: Sequence[dict[str, Any]], name: str = "local") -> MemoryStore:
    store = MemoryStore(name)
    for r in reports:
        store.add(r)
    return store


# --- change points ---------------------------------------------------------------------------


def test_step_is_detected_at_the_right_report(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(cli(tmp_path, step_series())) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    changes = [line for line in lines if line.startswith("change at")]
    assert changes == [changes[0]] and changes[0].startswith(f"change at {ts(10)} (commit 000a")
    assert " warm 1" in changes[0] and " -> 1" in changes[0] and "(+" in changes[0]
    marked = [line for line in lines if line.rstrip().endswith("%") and "^" in line]
    assert len(marked) == 1 and marked[0].split()[0] == "11" and ts(10) in marked[0]
    assert "tier lite, mode normal, warm phase (20 reports)" in lines[0]


def test_step_levels_and_percentage() -> None:
    t = trend.analyse([memory(step_series())], RID)
    assert t.changes is not None and [c.index for c in t.changes] == [10]
    change = t.changes[0]
    assert change.before_s == pytest.approx(0.100, rel=0.03)
    assert change.after_s == pytest.approx(0.130, rel=0.03)
    assert 25 < change.pct < 35


@pytest.mark.parametrize("seed", range(5))
def test_flat_noisy_series_has_no_change_point(seed: int) -> None:
    reports = [report(i, 0.100, seed=100 * seed + i, cv=0.03) for i in range(20)]
    t = trend.analyse([memory(reports)], RID)
    assert t.changes == [], [c.line("warm") for c in t.changes or []]


def test_one_outlier_report_is_not_a_change() -> None:
    reports = [report(i, 0.160 if i == 9 else 0.100) for i in range(20)]
    t = trend.analyse([memory(reports)], RID)
    assert t.changes == []


def test_several_steps_in_both_directions() -> None:
    levels = [0.100] * 12 + [0.150] * 10 + [0.090] * 10
    t = trend.analyse([memory([report(i, m) for i, m in enumerate(levels)])], RID)
    assert t.changes is not None and [c.index for c in t.changes] == [12, 22]
    assert t.changes[0].pct > 40 and t.changes[1].pct < -30


def test_penalty_is_scale_free_and_overridable() -> None:
    fast = [report(i, 0.010 if i < 10 else 0.013) for i in range(20)]
    slow = [report(i, 10.0 if i < 10 else 13.0) for i in range(20)]
    for series in (fast, slow):
        assert [c.index for c in trend.analyse([memory(series)], RID).changes or []] == [10]
    huge = trend.analyse([memory(slow)], RID, penalty=1e6)
    assert huge.changes == []


def test_change_points_need_four_reports() -> None:
    t = trend.analyse([memory(step_series(3, at=2))], RID)
    assert t.changes is None and any("at least 4" in n for n in t.notes)
    assert trend.change_points([0.1, 0.1, 0.2, 0.2])[0] in ([], [2])


def test_noise_scale_is_robust_and_floored() -> None:
    assert trend.noise_scale([0.0] * 10) == trend.NOISE_FLOOR
    assert trend.noise_scale([]) == trend.NOISE_FLOOR
    # a level shift moves one difference only: the scale stays at the floor
    assert trend.noise_scale([0.0] * 10 + [1.0] * 10) == trend.NOISE_FLOOR


# --- selection -------------------------------------------------------------------------------


def test_filters_tier_branch_and_failed_reports() -> None:
    reports = step_series(12, at=100)
    reports += [report(20 + i, 0.5, tier="full") for i in range(3)]
    reports += [report(30 + i, 0.1, branch="feature") for i in range(4)]
    reports += [report(40, 0.1, ok=False), report(41, 0.1, warm_failed=[0.2])]
    store = memory(reports)

    default = trend.analyse([store], RID)  # tier/mode of the newest *successful* report
    assert default.tier == "lite" and len(default.points) == 16
    assert {p.branch for p in default.points} == {"main", "feature"}

    full = trend.analyse([store], RID, tier="full")
    assert full.tier == "full" and len(full.points) == 3
    assert all(p.median_s > 0.4 for p in full.points)

    main_only = trend.analyse([store], RID, branch="main")  # newest on main: tier full
    assert main_only.tier == "full"
    main_only = trend.analyse([store], RID, branch="main", tier="lite")
    assert len(main_only.points) == 12 and {p.branch for p in main_only.points} == {"main"}

    keys = {p.key for p in default.points}
    assert not any(ts(40) in k or ts(41) in k for k in keys)  # failed runs are left out


def test_mode_and_phase_defaults() -> None:
    reports = [report(i, 0.1, mode="fast") for i in range(3)]
    reports += [make_report(None, noisy(0.3, 5, seed=i), timestamp=ts(10 + i), repo_id=RID,
                            mode="full") for i in range(2)]
    store = memory(reports)
    newest = trend.analyse([store], RID)
    assert (newest.mode, newest.phase, len(newest.points)) == ("full", "cold", 2)
    fast = trend.analyse([store], RID, mode="fast")
    assert (fast.mode, fast.phase, len(fast.points)) == ("fast", "warm", 3)
    cold = trend.analyse([store], RID, mode="fast", phase="cold")
    assert cold.phase == "cold" and all(p.median_s > 0.2 for p in cold.points)


def test_last_keeps_the_newest_oldest_first() -> None:
    t = trend.analyse([memory(step_series(30, at=100))], RID, last=5)
    assert [p.timestamp for p in t.points] == [ts(i) for i in range(25, 30)]


def test_stores_are_deduplicated_and_a_broken_store_is_a_note() -> None:
    reports = step_series(8, at=100)
    t = trend.analyse([BrokenStore("s3"), memory(reports), memory(reports, "s3copy")], RID)
    assert len(t.points) == 8
    assert any(n.startswith("archive s3 unavailable: ConnectionError") for n in t.notes)


def test_other_repositories_and_garbage_are_ignored() -> None:
    store = memory(step_series(5, at=100))
    store.add(make_report(noisy(0.1, 10), timestamp=ts(50), repo_id="ffff0000"))
    store.data[f"benchmarks/{RID}/{ts(60)}-benchmark-000000000000.json"] = b"not json"
    store.data[f"benchmarks/{RID}/{ts(61)}-benchmark-000000000001.json"] = b"[1, 2]"
    t = trend.analyse([store], RID)
    assert len(t.points) == 5


# --- command line ----------------------------------------------------------------------------


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(cli(tmp_path, step_series(), "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["tier"], data["mode"], data["phase"], data["repo_id"]) == (
        "lite", "normal", "warm", RID)
    assert len(data["points"]) == 20 and data["points"][0]["timestamp"] == ts(0)
    assert data["points"][0]["n"] == 10 and data["points"][0]["ci95"] is not None
    assert [c["index"] for c in data["changes"]] == [10]
    assert data["changes"][0]["timestamp"] == ts(10) and data["changes"][0]["pct"] > 20
    assert data["penalty"] == trend.DEFAULT_PENALTY and data["message"] is None


def test_chart_is_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "out" / "trend.png"
    assert main(cli(tmp_path, step_series(), "--chart", str(chart))) == 0
    data = chart.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_SIGNATURE)
    assert f"chart: {chart}" in capsys.readouterr().out
    assert not [p for p in chart.parent.iterdir() if p.name != "trend.png"]  # no temp left


def test_chart_in_seconds_without_stats(tmp_path: Path) -> None:
    chart = tmp_path / "slow.png"
    reports = [report(i, 2.0 if i < 5 else 2.5, stats=False) for i in range(10)]
    assert main(cli(tmp_path, reports, "--chart", str(chart), "--json")) == 0
    assert chart.read_bytes().startswith(PNG_SIGNATURE)


def test_fewer_than_two_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(cli(tmp_path, [report(0, 0.1)], "--chart", str(tmp_path / "c.png"))) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("only 1 successful report of repository abcd1234, tier lite")
    assert "(no chart written)" in out and len(out.splitlines()) == 1
    assert not (tmp_path / "c.png").exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(cli(empty, [], "--tier", "nope")) == 0
    assert capsys.readouterr().out.startswith("no successful report of repository abcd1234, "
                                              "tier nope")
    assert main(cli(empty, [], "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["points"] == [] and data["message"].startswith("no successful report")


def test_without_ruptures(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ruptures", None)
    assert main(cli(tmp_path, step_series())) == 0
    out = capsys.readouterr().out
    assert out.count(trend.SKIP_RUPTURES) == 1 and "change at" not in out
    assert ts(19) in out  # the history is still printed

    assert main(cli(tmp_path, step_series(), "--json")) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["changes"] is None and data["skipped"] == trend.SKIP_RUPTURES
    assert trend.SKIP_RUPTURES in captured.err


def test_without_matplotlib(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends",
                 "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    chart = tmp_path / "c.png"
    assert main(cli(tmp_path, step_series(), "--chart", str(chart))) == 0
    out = capsys.readouterr().out
    assert trend.SKIP_MATPLOTLIB in out and "change at" in out
    assert not chart.exists()


@pytest.mark.parametrize("args", [["--chart", "x.jpg"], ["--last", "0"], ["--last", "x"],
                                  ["--penalty", "0"], ["--penalty", "nan"],
                                  ["--phase", "hot"]])
def test_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              args: list[str]) -> None:
    try:
        code = main(cli(tmp_path, [], *args))
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err


def test_unwritable_chart_is_a_setup_error(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
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
    trend.print_history(trend.analyse([memory(step_series())], RID), out)
    text = out.getvalue()
    assert ("┃" in text or "│" in text) and "▲ +" in text and "change at" in text


def test_importing_trend_loads_no_heavy_module() -> None:
    code = ("import sys, ftbench.cli.app, ftbench.analyse.trend, ftbench.analyse.plot; "
            "ftbench.cli.app.build_parser(); "
            "print(sorted(m for m in ('numpy', 'scipy', 'rich', 'ruptures', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


# --- robustness ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12)
numbers = st.none() | st.booleans() | st.integers(-5, 5) | st.floats() | st.text(max_size=3)
phase_blocks = st.fixed_dictionaries(
    {}, optional={"ok": st.booleans() | json_values, "elapsed_s": numbers,
                  "stats": st.fixed_dictionaries({}, optional={
                      "n": numbers, "median": numbers, "min": numbers, "max": numbers,
                      "ci95": st.lists(numbers, max_size=3) | json_values}) | json_values,
                  "samples": st.lists(json_values, max_size=3) | json_values})
reports = st.fixed_dictionaries(
    {}, optional={"schema": st.sampled_from([1, 2, "1", None]), "tier": st.sampled_from(
        ["lite", "full", None, 3]), "mode": st.sampled_from(["normal", None]),
        "timestamp": st.text(max_size=25) | json_values, "run_id": st.text(max_size=3) | numbers,
        "runs": st.dictionaries(st.sampled_from(["warm", "cold", "x"]), phase_blocks | json_values,
                                max_size=3) | json_values,
        "git": st.fixed_dictionaries({}, optional={"commit": json_values,
                                                   "branch": json_values}) | json_values,
        "target": json_values})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(reports | json_values, max_size=8), st.sampled_from([None, "main"]),
       st.sampled_from([None, "warm", "cold"]))
def test_loader_never_crashes(items: list[Any], branch: str | None, phase: str | None) -> None:
    store = MemoryStore()
    for i, item in enumerate(items):
        store.data[f"benchmarks/{RID}/{ts(i)}-benchmark-{i:012x}.json"] = json.dumps(item).encode()
    t = trend.analyse([store], RID, branch=branch, phase=phase)
    assert all(p.median_s > 0 for p in t.points)
    trend.print_history(t, io.StringIO())
    json.dumps(t.to_dict(), allow_nan=False)
