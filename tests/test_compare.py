"""``ft-bench compare``: files, keys, sets, table, exit codes, and the input parser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftbench.archive.base import StoredReport
from ftbench.cli.app import main
from ftbench.cli.compare import merge_reports, print_table, split_specs
from ftbench.errors import FtbenchError, UsageError
from ftbench.judge.baseline import parse_report
from ftbench.judge.core import VERDICTS, JudgeOptions, judge, phase_samples
from judge_factory import MemoryStore, make_report, noisy, ts


def write(path: Path, report: dict[str, Any]) -> str:
    path.write_text(json.dumps(report))
    return str(path)


def reports(tmp_path: Path, median: float, count: int, name: str, seed: int = 0,
            **kw: Any) -> list[str]:
    return [write(tmp_path / f"{name}{i}.json",
                  make_report(noisy(median, 10, seed=seed + i), noisy(3 * median, 5,
                                                                      seed=seed + 40 + i),
                              timestamp=ts(seed + i), **kw))
            for i in range(count)]


def test_two_files_regression_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = reports(tmp_path, 1.0, 1, "base")[0]
    new = reports(tmp_path, 1.3, 1, "new", seed=20)[0]
    assert main(["compare", base, new]) == 4
    out = capsys.readouterr().out
    header, *rows = out.splitlines()[:3]
    assert header.split()[:2] == ["phase", "baseline"]
    assert rows[0].startswith("warm") and rows[0].endswith("regression")
    assert rows[1].startswith("cold")
    assert "verdict: regression - warm +" in out
    # the other way round it is an improvement, exit 0
    assert main(["compare", new, base]) == 0
    assert "verdict: improvement" in capsys.readouterr().out


def test_same_distribution_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = reports(tmp_path, 1.0, 3, "base")
    new = reports(tmp_path, 1.0, 1, "new", seed=30)[0]
    assert main(["compare", ",".join(base), new]) == 0
    out = capsys.readouterr().out
    assert "verdict: no change" in out
    assert "(30)" in out  # three pooled baseline reports: 30 warm samples


def test_sets_on_both_sides_pool_samples(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    base = reports(tmp_path, 1.0, 2, "base")
    new = reports(tmp_path, 1.25, 2, "new", seed=50)
    assert main(["compare", f"{base[0]}, {base[1]}", ",".join(new), "--json"]) == 4
    d = json.loads(capsys.readouterr().out)
    assert d["verdict"] == "regression"
    assert d["phases"]["warm"]["current"]["n"] == 20 and d["phases"]["warm"]["baseline"]["n"] == 20
    assert d["new"] == new and d["baseline"]["keys"] == base


def test_fail_on_and_threshold_options(tmp_path: Path) -> None:
    base = reports(tmp_path, 1.0, 1, "base")[0]
    new = reports(tmp_path, 1.3, 1, "new", seed=20)[0]
    assert main(["compare", base, new, "--fail-on", "never"]) == 0
    assert main(["compare", base, new, "--regress-pct", "50"]) == 0


def test_archive_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    import ftbench.archive.sync as sync

    store = MemoryStore()
    old = store.add(make_report(noisy(1.0, 10, seed=1), timestamp=ts(1)))
    new = store.add(make_report(noisy(1.4, 10, seed=2), timestamp=ts(2)))
    monkeypatch.setattr(sync, "open_stores", lambda root, archive_dir=None: [store])
    monkeypatch.chdir(tmp_path)
    assert main(["compare", old.rsplit("/", 1)[-1], new]) == 4
    assert f"baseline: {old}" in capsys.readouterr().out


def test_machine_differences_are_not_judged(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    base = reports(tmp_path, 1.0, 1, "base", env={"cpu_model": "Other"})[0]
    new = reports(tmp_path, 2.0, 1, "new", seed=9)[0]
    assert main(["compare", base, new]) == 0
    assert "not comparable (not judged): cpu_model: Other -> Test CPU" in capsys.readouterr().out
    assert main(["compare", base, new, "--allow-incomparable"]) == 4


def test_different_commands_are_compared(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    # compare's two sides are chosen on purpose: another command, tier or mode is the point
    base = reports(tmp_path, 1.0, 1, "base", config_hash="aaaaaaaaaaaaaaaa", tier="cmd")[0]
    new = reports(tmp_path, 1.3, 1, "new", seed=20, config_hash="bbbbbbbbbbbbbbbb")[0]
    assert main(["compare", base, new]) == 4
    assert "not comparable" not in capsys.readouterr().out


def test_new_set_must_be_comparable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = reports(tmp_path, 1.0, 1, "base")[0]
    a = reports(tmp_path, 1.0, 1, "a")[0]
    b = reports(tmp_path, 1.0, 1, "b", env={"arch": "arm64"})[0]
    assert main(["compare", base, f"{a},{b}"]) == 2
    err = capsys.readouterr().err
    assert "NEW reports differ" in err and "arch: arm64 -> x86_64" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("content", "message"), [
    (None, "neither a report file nor an archive key"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"schema": 2, "runs": {}}', "not a schema-1 ftbench report"),
    ('{"schema": 1}', "report has no 'runs'"),
])
def test_bad_inputs_are_one_line_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch,
                                              content: str | None, message: str) -> None:
    import ftbench.archive.sync as sync

    monkeypatch.setattr(sync, "open_stores", lambda root, archive_dir=None: [MemoryStore()])
    good = reports(tmp_path, 1.0, 1, "good")[0]
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main(["compare", str(bad), good]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_split_specs() -> None:
    assert split_specs("a.json, b.json,,") == ["a.json", "b.json"]
    with pytest.raises(UsageError):
        split_specs(" , ")


def test_merge_reports_keeps_phases_and_metadata() -> None:
    a = make_report([1.0, 2.0], [5.0], branch="a")
    b = make_report([3.0], None, branch="b")
    merged = merge_reports([a, b])
    assert merged["git"]["branch"] == "a"
    assert phase_samples(merged, "warm")[0] == [1.0, 2.0, 3.0]
    assert phase_samples(merged, "cold")[0] == [5.0]
    assert a["runs"]["warm"]["samples"][0]["wall_s"] == 1.0  # inputs untouched


# --- property tests of the input parser ---------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=20,
)


@given(st.binary(max_size=200))
def test_parse_report_never_crashes_on_bytes(data: bytes) -> None:
    try:
        parsed = parse_report(data, "x")
    except FtbenchError as exc:
        assert exc.exit_code == 2 and "\n" not in str(exc)
    else:
        assert parsed["schema"] == 1 and isinstance(parsed["runs"], dict)


sample_strategy = st.dictionaries(
    st.sampled_from(["wall_s", "ok", "timed_out", "exit_code", "index"]),
    json_values | st.floats(min_value=1e-6, max_value=1e3), max_size=5)
runs_strategy = st.dictionaries(
    st.sampled_from(["warm", "cold", "other"]),
    st.fixed_dictionaries({"samples": st.lists(sample_strategy | json_values, max_size=8)})
    | json_values, max_size=3)


@settings(max_examples=150, deadline=None)
@given(runs_strategy, runs_strategy)
def test_judge_survives_any_runs_block(cur_runs: dict[str, Any], base_runs: dict[str, Any]) -> None:
    cur = parse_report(json.dumps({"schema": 1, "runs": cur_runs}, allow_nan=True).encode(), "c")
    base = parse_report(json.dumps({"schema": 1, "runs": base_runs}).encode(), "b")
    for report in (cur, base):
        for phase in ("warm", "cold"):
            values, failed, timed_out = phase_samples(report, phase)
            assert all(v > 0 for v in values) and failed >= 0 and timed_out >= 0
    verdict = judge(merge_reports([cur]), [StoredReport("b", base)], JudgeOptions())
    assert verdict.verdict in VERDICTS
    assert verdict.exit_code() in (0, 4)
    json.dumps(verdict.to_dict(), allow_nan=False)
    assert "\n" not in verdict.summary_line()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.001, max_value=100.0), min_size=1, max_size=30),
       st.lists(st.floats(min_value=0.001, max_value=100.0), min_size=1, max_size=30))
def test_report_round_trip_keeps_samples(cur: list[float], base: list[float]) -> None:
    report = make_report(cur, None)
    parsed = parse_report(json.dumps(report).encode(), "r")
    assert phase_samples(parsed, "warm")[0] == cur
    verdict = judge(parsed, [StoredReport("b", make_report(base, None))], JudgeOptions())
    warm = verdict.phase("warm")
    assert warm is not None and warm.current.n == len(cur) and warm.baseline.n == len(base)
    if warm.verdict == "regression":  # never without the size and the significance
        assert warm.pct_change is not None and warm.pct_change > 10
        assert warm.p_value is not None and warm.alpha is not None and warm.p_value < warm.alpha



def test_rich_table_on_a_terminal() -> None:
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    base = [StoredReport("b", make_report(noisy(1.0, 10, seed=1), None))]
    verdict = judge(make_report(noisy(1.3, 10, seed=2), None), base)
    out = Tty()
    print_table(verdict, ["new.json"], ["a note"], out)
    text = out.getvalue()
    assert "┃" in text or "│" in text  # a rich box table, not the plain one
    assert "regression" in text and "note: a note" in text
