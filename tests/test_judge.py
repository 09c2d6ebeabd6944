"""The regression judge: each verdict, comparability, failed samples, options and output."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ftbench.archive.base import StoredReport
from ftbench.errors import EXIT_REGRESSION, UsageError
from ftbench.judge.core import (
    DEFAULT_ALPHA,
    DEFAULT_REGRESS_PCT,
    JudgeOptions,
    add_judge_arguments,
    bootstrap_ci_pct,
    differences,
    evaluate,
    judge,
    min_p_value,
    phase_samples,
)
from judge_factory import make_report, noisy, ts


def baselines(median: float = 1.0, reports: int = 5, *, warm_n: int = 10, cold_n: int = 5,
              cv: float = 0.03, seed: int = 100, **kw: object) -> list[StoredReport]:
    out = []
    for i in range(reports):
        r = make_report(noisy(median, warm_n, cv, seed + i), noisy(median * 3, cold_n, cv,
                                                                     seed + 50 + i),
                        timestamp=ts(i), **kw)  # type: ignore[arg-type]
        out.append(StoredReport(f"benchmarks/abcd1234/{ts(i)}-benchmark-{i:012x}.json", r))
    return out


def current(median: float = 1.0, *, warm_n: int = 10, cold_n: int = 5, cv: float = 0.03,
            seed: int = 1, cold_factor: float = 3.0, **kw: object) -> dict[str, object]:
    return make_report(noisy(median, warm_n, cv, seed),
                       noisy(median * cold_factor, cold_n, cv, seed + 7), timestamp=ts(99),
                       **kw)  # type: ignore[arg-type]


def test_defaults_are_documented_values() -> None:
    o = JudgeOptions()
    assert (o.regress_pct, o.alpha, o.baseline, o.baseline_count, o.fail_on) == (
        DEFAULT_REGRESS_PCT, DEFAULT_ALPHA, "auto", 5, "any")
    assert o.regress_pct == 10.0 and o.alpha == 0.005
    text = Path(__file__).resolve().parents[1].joinpath("docs", "regression.md").read_text()
    assert "`--regress-pct` | 10" in text and "`--alpha` | 0.005" in text


def test_regression_both_phases() -> None:
    v = judge(current(1.2), baselines())
    assert v.verdict == "regression"
    assert {p.phase: p.verdict for p in v.phases} == {"warm": "regression", "cold": "regression"}
    warm = v.phase("warm")
    assert warm is not None and warm.pct_change is not None and warm.ci95_pct is not None
    assert 15 < warm.pct_change < 25
    assert warm.ci95_pct[0] < warm.pct_change < warm.ci95_pct[1]
    assert warm.p_value is not None and warm.p_value < DEFAULT_ALPHA / 2
    assert warm.alpha == pytest.approx(DEFAULT_ALPHA / 2)  # alpha split over two phases
    assert v.exit_code() == EXIT_REGRESSION
    line = v.summary_line()
    assert line.startswith("warm +")
    assert "(95% CI +" in line and ": regression" in line and "\n" not in line


def test_no_change() -> None:
    v = judge(current(1.01), baselines())
    assert v.verdict == "no change"
    assert all(p.verdict == "no change" for p in v.phases)
    assert v.exit_code() == 0


def test_improvement_is_reported_and_exits_zero() -> None:
    v = judge(current(0.7), baselines())
    assert v.verdict == "improvement"
    warm = v.phase("warm")
    assert warm is not None and warm.alternative == "less" and warm.pct_change is not None
    assert warm.pct_change < -25
    assert v.exit_code() == 0
    assert ": improvement" in v.summary_line()


def test_small_slowdown_below_threshold_is_no_change() -> None:
    # 5% slower, clearly significant with low noise, but below the 10% threshold
    v = judge(current(1.05, cv=0.005), baselines(cv=0.005))
    warm = v.phase("warm")
    assert warm is not None and warm.p_value is not None and warm.p_value < 0.001
    assert v.verdict == "no change"
    # ... and a regression when the threshold is lowered
    assert judge(current(1.05, cv=0.005), baselines(cv=0.005),
                 JudgeOptions(regress_pct=3)).verdict == "regression"


def test_too_few_samples_is_inconclusive_never_regression() -> None:
    # one sample against one report: a 50% slowdown cannot be significant
    cur = make_report([1.5], None, timestamp=ts(99))
    base = [StoredReport("k", make_report([1.0, 1.01], None, timestamp=ts(1)))]
    v = judge(cur, base)
    assert v.verdict == "inconclusive"
    warm = v.phase("warm")
    assert warm is not None and "too few samples" in warm.reason
    assert warm.pct_change == pytest.approx(50 / 1.005, rel=0.01)
    assert v.exit_code() == 0


def test_big_but_noisy_change_is_inconclusive() -> None:
    cur = make_report([1.0, 1.6, 0.9, 1.7, 1.0, 1.5], None, timestamp=ts(99))
    base = [StoredReport("k", make_report([1.0, 1.1, 0.95, 1.05, 1.6, 0.9], None))]
    v = judge(cur, base)
    warm = v.phase("warm")
    assert warm is not None and warm.pct_change is not None and warm.pct_change > 10
    assert v.verdict == "inconclusive" and "not significant" in warm.reason


def test_min_p_value_shrinks_with_samples() -> None:
    assert min_p_value(1, 5) == pytest.approx(1 / 6)
    assert min_p_value(2, 2) == pytest.approx(1 / 6)
    assert min_p_value(10, 50) < 1e-9
    assert min_p_value(0, 5) == 1.0


def test_no_baseline() -> None:
    v = judge(current(), [])
    assert v.verdict == "no baseline" and v.exit_code() == 0
    assert v.to_dict()["phases"] == {}
    assert v.summary_line().startswith("no baseline")


def test_not_comparable_machine_is_reported_not_failed() -> None:
    other = {"cpu_model": "Other CPU", "cpu_count": 16}
    base = baselines(env=other)
    v = judge(current(1.5), base)
    assert v.verdict == "not comparable" and not v.comparable
    assert any(d.startswith("cpu_model: Other CPU -> Test CPU") for d in v.differences)
    assert any(d.startswith("cpu_count: 16 -> 4") for d in v.differences)
    assert v.exit_code() == 0
    assert "cpu_model" in v.summary_line()
    # allowed: judged, still marked not comparable, and it fails
    allowed = judge(current(1.5), base, JudgeOptions(allow_incomparable=True))
    assert allowed.verdict == "regression" and not allowed.comparable
    assert allowed.exit_code() == EXIT_REGRESSION
    assert "NOT comparable" in allowed.summary_line()


def test_tool_version_and_os_differences() -> None:
    cur = current()
    base = make_report([1.0], env={"os": "Darwin", "arch": "arm64",
                                   "tool_versions": {"ruff": "0.7.0", "mypy": "1.11.2"}})
    diffs = differences(cur, base)
    assert "os: Darwin -> Linux" in diffs
    assert "arch: arm64 -> x86_64" in diffs
    assert "tool_versions.ruff: 0.7.0 -> 0.6.9" in diffs
    assert not any("mypy" in d for d in diffs)
    assert differences(cur, make_report([1.0])) == []
    assert "target.config_hash: ffff -> 0123456789abcdef" in differences(
        cur, make_report([1.0], config_hash="ffff"))


def test_mixed_comparability_uses_only_comparable_reports() -> None:
    good = baselines(reports=3)
    bad = [StoredReport("bad", make_report(noisy(0.5, 10), env={"cpu_count": 64}))]
    v = judge(current(1.0), good + bad)
    assert v.verdict == "no change" and v.comparable
    assert "bad" not in v.baseline_keys and len(v.baseline_keys) == 3
    assert any("left out 1 baseline" in n for n in v.notes)


def test_failed_and_timed_out_samples_are_excluded_and_counted() -> None:
    cur = make_report(noisy(1.0, 10, seed=5), None, timestamp=ts(99),
                      warm_failed=[0.01, 0.02], warm_timed_out=[300.0])
    base = baselines(warm_n=10)
    v = judge(cur, base)
    warm = v.phase("warm")
    assert warm is not None
    assert (warm.current.n, warm.current.failed, warm.current.timed_out) == (10, 2, 1)
    assert v.verdict == "no change"  # the 10 ms failures and the 300 s timeout are ignored
    d = v.to_dict()["phases"]["warm"]
    assert d["current"] == {"n": 10, "median": warm.current.median, "failed": 2,
                            "timed_out": 1}
    assert any("left out 2 failed and 1 timed-out" in n for n in v.notes)


def test_phase_samples_tolerates_junk() -> None:
    report = {"runs": {"warm": {"samples": [
        {"wall_s": 1.0, "ok": True}, {"wall_s": "1.0", "ok": True}, {"wall_s": True, "ok": True},
        {"wall_s": float("nan"), "ok": True}, {"wall_s": -1.0, "ok": True}, "junk",
        {"wall_s": 2.0, "exit_code": 0}, {"wall_s": 2.0, "exit_code": 3},
        {"wall_s": 5.0, "ok": True, "timed_out": True},
    ]}, "cold": "nope"}}
    assert phase_samples(report, "warm") == ([1.0, 2.0], 5, 1)
    assert phase_samples(report, "cold") == ([], 0, 0)
    assert phase_samples({}, "warm") == ([], 0, 0)


def test_all_current_samples_failed_is_inconclusive() -> None:
    cur = make_report([], None, warm_failed=[1.0, 1.0, 1.0])
    v = judge(cur, baselines())
    warm = v.phase("warm")
    assert warm is not None and v.verdict == "inconclusive"
    assert "no ok warm samples in the current run" in warm.reason
    assert "warm: inconclusive" in v.summary_line()


def test_cold_only_judged_when_both_measured() -> None:
    cur = make_report(noisy(1.3, 10, seed=3), None, timestamp=ts(99))  # --skip-cold
    v = judge(cur, baselines())
    assert [p.phase for p in v.phases] == ["warm"]
    assert v.phases[0].alpha == pytest.approx(DEFAULT_ALPHA)  # one phase: the full alpha
    assert v.verdict == "regression"


@pytest.mark.parametrize(("fail_on", "expected"), [
    ("any", 4), ("cold", 4), ("warm", 0), ("never", 0)])
def test_fail_on(fail_on: str, expected: int) -> None:
    # cold regressed, warm did not
    cur = current(1.0, cold_factor=4.0)
    v = judge(cur, baselines(), JudgeOptions(fail_on=fail_on))
    assert {p.phase: p.verdict for p in v.phases} == {"warm": "no change", "cold": "regression"}
    assert v.verdict == "regression"
    assert v.exit_code() == expected


def test_to_dict_fields_and_json() -> None:
    base = baselines()
    v = judge(current(1.2), base)
    d = json.loads(json.dumps(v.to_dict()))
    assert d["verdict"] == "regression"
    assert d["alpha"] == DEFAULT_ALPHA and d["threshold_pct"] == 10.0
    assert d["metric"] == "wall_s"
    assert d["baseline"]["keys"] == [b.key for b in base] and d["baseline"]["reports"] == 5
    assert d["baseline"]["samples"] == {"warm": 50, "cold": 25}
    warm = d["phases"]["warm"]
    assert warm["current"]["n"] == 10 and warm["baseline"]["n"] == 50
    assert warm["current"]["median"] > warm["baseline"]["median"]
    assert warm["pct_change"] > 10 and len(warm["ci95_pct"]) == 2
    assert 0 < warm["p_value"] < DEFAULT_ALPHA / 2 and warm["alpha"] == DEFAULT_ALPHA / 2
    assert "Mann-Whitney" in d["method"] and "bootstrap" in d["method"]
    assert d["summary"] == v.summary_line() and d["exit_code"] == 4


def test_bootstrap_ci_is_reproducible_and_brackets_the_ratio() -> None:
    cur, base = noisy(1.2, 10, 0.05, 1), noisy(1.0, 50, 0.05, 2)
    a, b = bootstrap_ci_pct(cur, base), bootstrap_ci_pct(cur, base)
    assert a == b
    assert a[0] < 20 < a[1] and a[1] - a[0] < 15


def test_options_validation() -> None:
    with pytest.raises(UsageError):
        JudgeOptions(alpha=0)
    with pytest.raises(UsageError):
        JudgeOptions(regress_pct=-1)
    with pytest.raises(UsageError):
        JudgeOptions(baseline_count=0)
    with pytest.raises(UsageError):
        JudgeOptions(fail_on="sometimes")


def test_add_judge_arguments_and_from_args() -> None:
    parser = argparse.ArgumentParser()
    add_judge_arguments(parser)
    assert JudgeOptions.from_args(parser.parse_args([])) == JudgeOptions()
    ns = parser.parse_args(["--regress-pct", "15", "--alpha", "0.05", "--baseline", "latest",
                            "--baseline-branch", "dev", "--baseline-count", "3",
                            "--fail-on", "warm", "--allow-incomparable"])
    assert JudgeOptions.from_args(ns) == JudgeOptions(15.0, 0.05, "latest", "dev", 3, "warm",
                                                      True)
    for bad in (["--alpha", "2"], ["--regress-pct", "x"], ["--baseline-count", "0"],
                ["--fail-on", "often"]):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(bad)
        assert exc.value.code == 2
    compare_parser = argparse.ArgumentParser()
    add_judge_arguments(compare_parser, selection=False)
    with pytest.raises(SystemExit):
        compare_parser.parse_args(["--baseline", "none"])
    assert JudgeOptions.from_args(compare_parser.parse_args([])).baseline == "auto"


def test_evaluate_none_touches_no_store(tmp_path: Path) -> None:
    class Exploding:
        name = "boom"

        def list_keys(self, repo_id: str, limit: int | None = None) -> list[str]:
            raise AssertionError("must not be called")

    v = evaluate(current(), tmp_path, JudgeOptions(baseline="none"), [Exploding()])  # type: ignore[list-item]
    assert v.verdict == "no baseline" and "--baseline none" in v.reason


def test_importing_cli_does_not_load_scipy_or_numpy() -> None:
    import subprocess
    import sys

    code = ("import sys, ftbench.cli.app, ftbench.judge.core, ftbench.judge.baseline, ftbench.cli.compare; "
            "print(sorted(m for m in ('numpy', 'scipy', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
