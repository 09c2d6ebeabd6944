"""The regression judge: each verdict, comparability, failed samples, options and output."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from factory import keyed, make_report, noisy, ts
from ftbench.cli.common import add_judge_arguments, judge_options
from ftbench.errors import EXIT_REGRESSION, UsageError
from ftbench.judge.baseline import evaluate
from ftbench.judge.comparable import differences
from ftbench.judge.core import judge
from ftbench.judge.options import (
    DEFAULT_ALPHA,
    DEFAULT_BASELINE_COUNT,
    DEFAULT_REGRESS_PCT,
    JudgeOptions,
)
from ftbench.judge.summary import summary_line
from ftbench.report.codec import to_value
from ftbench.report.model import KeyedReport, Report, Verdict
from procs import modules_loaded

DEFAULTS = JudgeOptions(metric="wall")  # these tests are about wall times


def baselines(
    median: float = 1.0,
    reports: int = 5,
    *,
    warm_n: int = 10,
    cold_n: int = 5,
    cv: float = 0.03,
    seed: int = 100,
    **kw: Any,
) -> list[KeyedReport]:
    out = []
    for i in range(reports):
        r = make_report(
            noisy(median, warm_n, cv, seed + i),
            noisy(median * 3, cold_n, cv, seed + 50 + i),
            timestamp=ts(i),
            **kw,
        )
        out.append(keyed(f"benchmarks/abcd1234/{ts(i)}-benchmark-{i:012x}.json", r))
    return out


def current(
    median: float = 1.0,
    *,
    warm_n: int = 10,
    cold_n: int = 5,
    cv: float = 0.03,
    seed: int = 1,
    cold_factor: float = 3.0,
    **kw: Any,
) -> Report:
    return make_report(
        noisy(median, warm_n, cv, seed),
        noisy(median * cold_factor, cold_n, cv, seed + 7),
        timestamp=ts(99),
        **kw,
    )


def verdicts(v: Verdict) -> dict[str, str]:
    return {name: p.verdict for name, p in v.phases.items()}


def test_defaults_are_documented_values() -> None:
    o = JudgeOptions()
    assert (
        o.regress_pct,
        o.alpha,
        o.baseline,
        o.baseline_count,
        o.fail_on,
        o.allow_incomparable,
    ) == (None, DEFAULT_ALPHA, "auto", DEFAULT_BASELINE_COUNT, "any", False)
    assert o.threshold(paired=False) == (DEFAULT_REGRESS_PCT, "default")
    assert o.metric == "any" and JudgeOptions(metric="auto").metric == "any"
    assert o.confirm == "auto" and o.accept == ()
    assert DEFAULT_REGRESS_PCT == 10.0 and o.alpha == 0.005
    text = Path(__file__).resolve().parents[1].joinpath("docs", "regression.md").read_text()
    assert "`--regress-pct` | 10" in text and "`--alpha` | 0.005" in text
    assert "`--baseline-count` | 10" in text and "`--fail-on` | `any`" in text


def test_regression_both_phases() -> None:
    v = judge(current(1.2), baselines(), DEFAULTS)
    assert v.verdict == "regression"
    assert verdicts(v) == {"warm": "regression", "cold": "regression"}
    warm = v.phases["warm"]
    assert warm.pct_change is not None and warm.ci95_pct is not None
    assert 15 < warm.pct_change < 25
    assert warm.ci95_pct[0] < warm.pct_change < warm.ci95_pct[1]
    assert warm.p_value is not None and warm.p_value < DEFAULT_ALPHA / 2
    assert warm.alpha == pytest.approx(DEFAULT_ALPHA / 2)  # alpha split over two phases
    assert warm.alternative == "greater"
    assert v.exit_code == EXIT_REGRESSION
    line = v.summary
    assert line.startswith("warm +")
    assert "(95% CI +" in line and ": regression" in line and "\n" not in line
    assert "; cold +" in line


def test_no_change() -> None:
    v = judge(current(1.01), baselines(), DEFAULTS)
    assert v.verdict == "no change"
    assert set(verdicts(v).values()) == {"no change"}
    assert v.exit_code == 0


def test_improvement_is_reported_and_exits_zero() -> None:
    v = judge(current(0.7), baselines(), DEFAULTS)
    assert v.verdict == "improvement"
    warm = v.phases["warm"]
    assert warm.alternative == "less" and warm.pct_change is not None
    assert warm.pct_change < -25
    assert v.exit_code == 0
    assert ": improvement" in v.summary


def test_small_slowdown_below_threshold_is_no_change() -> None:
    # 5% slower, clearly significant with low noise (10 baseline runs: the spread between
    # runs is known well enough), but below the 10% threshold
    base = baselines(cv=0.005, reports=10)
    v = judge(current(1.05, cv=0.005), base, DEFAULTS)
    warm = v.phases["warm"]
    assert warm.p_value is not None and warm.p_value < 0.001
    assert v.verdict == "no change" and "within 10%" in warm.reason
    # ... and a regression when the threshold is lowered
    lowered = JudgeOptions(regress_pct=3, metric="wall")
    assert judge(current(1.05, cv=0.005), base, lowered).verdict == "regression"


def test_too_few_samples_is_inconclusive_never_regression() -> None:
    # one sample against one report: a 50% slowdown cannot be significant
    cur = make_report([1.5], None, timestamp=ts(99))
    base = [keyed("k", make_report([1.0, 1.01], None, timestamp=ts(1)))]
    v = judge(cur, base, DEFAULTS)
    assert v.verdict == "inconclusive"
    warm = v.phases["warm"]
    assert "too few samples (1 vs 2)" in warm.reason
    assert warm.pct_change == pytest.approx(50 / 1.005, rel=0.01)
    assert v.exit_code == 0
    assert "warm +49% wall (95% CI" in v.summary
    assert "inconclusive (49.3% slower, but too few samples (1 vs 2)" in v.summary


def test_big_but_noisy_change_is_inconclusive() -> None:
    cur = make_report([1.0, 1.6, 0.9, 1.7, 1.0, 1.5], None, timestamp=ts(99))
    base = [keyed("k", make_report([1.0, 1.1, 0.95, 1.05, 1.6, 0.9], None))]
    v = judge(cur, base, DEFAULTS)
    warm = v.phases["warm"]
    assert warm.pct_change is not None and warm.pct_change > 10
    assert v.verdict == "inconclusive" and "not significant" in warm.reason
    assert v.exit_code == 0


def test_no_baseline() -> None:
    v = judge(current(), [], DEFAULTS)
    assert v.verdict == "no baseline" and v.exit_code == 0
    assert to_value(v)["phases"] == {}
    assert v.summary == "no baseline: no baseline report"
    v = judge(current(), [], DEFAULTS, no_baseline_reason="disabled (--baseline none)")
    assert v.summary == "no baseline: disabled (--baseline none)"


def test_not_comparable_machine_is_reported_not_failed() -> None:
    base = baselines(env={"cpu_model": "Other CPU", "cpu_count": 16})
    v = judge(current(1.5), base, DEFAULTS)
    assert v.verdict == "not comparable" and not v.comparable
    assert "cpu_model: Other CPU -> Test CPU @ 3.0GHz" in v.differences
    assert "cpu_count: 16 -> 4" in v.differences
    assert v.exit_code == 0 and v.phases == {}
    assert v.summary.startswith("not comparable (not judged): cpu_model: Other CPU")
    assert v.baseline.keys == tuple(b.key for b in base)
    # allowed: judged, still marked not comparable, and it fails
    allowed = judge(current(1.5), base, JudgeOptions(allow_incomparable=True))
    assert allowed.verdict == "regression" and not allowed.comparable
    assert allowed.exit_code == EXIT_REGRESSION
    assert "NOT comparable: cpu_model" in allowed.summary
    assert any("--allow-incomparable" in n for n in allowed.notes)


def test_other_measuring_backend_is_not_comparable() -> None:
    # a forkserver sample and a GNU time sample measure different overheads
    base = baselines(probe="gnu-time")
    v = judge(current(1.5), base, DEFAULTS)
    assert v.verdict == "not comparable" and v.exit_code == 0
    assert v.differences == ("measurement.probe: gnu-time -> forkserver",)
    assert "measurement.probe: gnu-time -> forkserver" in v.summary
    allowed = judge(current(1.5), base, JudgeOptions(allow_incomparable=True))
    assert allowed.verdict == "regression" and allowed.exit_code == EXIT_REGRESSION
    assert not allowed.comparable and "NOT comparable: measurement.probe" in allowed.summary
    # compare (same_target=False) still refuses another backend
    assert judge(current(1.5), base, DEFAULTS, same_target=False).verdict == "not comparable"


def test_tool_version_and_os_differences() -> None:
    cur = current()
    base = make_report(
        [1.0],
        env={"os": "Darwin", "arch": "arm64", "tool_versions": {"ruff": "0.7.0", "mypy": "1.11.2"}},
    )
    diffs = differences(cur, base)
    assert "os: Darwin -> Linux" in diffs
    assert "arch: arm64 -> x86_64" in diffs
    assert "tool_versions.ruff: 0.7.0 -> 0.6.9" in diffs
    assert not any("mypy" in d for d in diffs)
    assert differences(cur, make_report([1.0])) == []
    # a version known on one side only is no difference (0.3 asks only known tools)
    assert not any(
        "black" in d
        for d in differences(
            cur,
            make_report(
                [1.0], env={"tool_versions": {"ruff": "0.6.9", "mypy": "1.11.2", "black": "24.1"}}
            ),
        )
    )
    other_target = make_report([1.0], config_hash="ffffffffffffffff", tier="pro", mode="fast")
    assert differences(cur, other_target) == [
        "tier: pro -> lite",
        "mode: fast -> normal",
        "target.config_hash: ffffffffffffffff -> 0123456789abcdef",
    ]
    assert differences(cur, other_target, same_target=False) == []


def test_mixed_comparability_uses_only_comparable_reports() -> None:
    good = baselines(reports=3)
    bad = [keyed("bad", make_report(noisy(0.5, 10), env={"cpu_count": 64}))]
    v = judge(current(1.0), good + bad, DEFAULTS)
    assert v.verdict == "no change" and v.comparable and v.differences == ()
    assert v.baseline.keys == tuple(b.key for b in good) and v.baseline.reports == 3
    assert any(
        "left out 1 baseline report(s) that are not comparable: cpu_count: 64 -> 4" in n
        for n in v.notes
    )


def test_failed_and_timed_out_samples_are_excluded_and_counted() -> None:
    cur = make_report(
        noisy(1.0, 10, seed=5),
        None,
        timestamp=ts(99),
        warm_failed=[0.01, 0.02],
        warm_timed_out=[300.0],
    )
    v = judge(cur, baselines(warm_n=10), DEFAULTS)
    warm = v.phases["warm"]
    assert (warm.current.n, warm.current.failed, warm.current.timed_out) == (10, 2, 1)
    assert v.verdict == "no change"  # the 10 ms failures and the 300 s timeout are ignored
    d = to_value(v)["phases"]["warm"]
    assert d["current"] == {"n": 10, "median": warm.current.median, "failed": 2, "timed_out": 1}
    assert any("left out 2 failed and 1 timed-out" in n for n in v.notes)


def test_failed_baseline_samples_are_counted_on_the_baseline_side() -> None:
    base = [
        keyed(
            "k",
            make_report(
                noisy(1.0, 10, seed=3), None, warm_failed=[0.01], warm_timed_out=[300.0, 300.0]
            ),
        )
    ]
    warm = judge(current(1.0), base, DEFAULTS).phases["warm"]
    assert (warm.baseline.n, warm.baseline.failed, warm.baseline.timed_out) == (10, 1, 2)


def test_samples_with_zero_wall_time_do_not_count() -> None:
    # a report may hold an ok sample of 0 s (a clock too coarse): it is no timing
    cur = make_report([0.0, *noisy(1.0, 10, seed=4)], None, timestamp=ts(99))
    v = judge(cur, baselines(), DEFAULTS)
    assert v.phases["warm"].current.n == 10 and v.verdict == "no change"


def test_a_change_beyond_the_float_range_still_makes_a_readable_report() -> None:
    # sub-normal wall times: the median ratio overflows; the block must still be valid JSON
    # that the model reads back (Infinity/NaN would make the archived report unreadable)
    cur = make_report(noisy(1.0, 10, seed=4), None, timestamp=ts(99))
    base = [keyed("k", make_report([5e-324 * (i + 1) for i in range(10)], None))]
    v = judge(cur, base, DEFAULTS)
    warm = v.phases["warm"]
    assert v.verdict == "regression" and v.exit_code == EXIT_REGRESSION
    assert warm.pct_change is None and warm.ci95_pct is None
    json.dumps(to_value(v), allow_nan=False)
    report = dataclasses.replace(cur, regression=v)
    assert Report.from_json(report.to_json()).regression == v
    assert "\n" not in v.summary and "warm: regression" in v.summary


def test_all_current_samples_failed_is_inconclusive() -> None:
    cur = make_report([], None, warm_failed=[1.0, 1.0, 1.0])
    v = judge(cur, baselines(), DEFAULTS)
    warm = v.phases["warm"]
    assert v.verdict == "inconclusive" and v.exit_code == 0
    assert warm.reason == "no ok warm samples in the current run"
    assert warm.pct_change is None and warm.p_value is None
    assert "warm: inconclusive (no ok warm samples in the current run)" in v.summary


def test_no_phase_in_common_is_inconclusive() -> None:
    cur = make_report(None, noisy(3.0, 5), timestamp=ts(99))  # cold only (--skip-warm)
    base = [keyed("k", make_report(noisy(1.0, 10), None))]  # warm only
    v = judge(cur, base, DEFAULTS)
    assert v.verdict == "inconclusive" and v.phases == {} and v.exit_code == 0
    assert "no phase measured by both" in v.summary


def test_cold_only_judged_when_both_measured() -> None:
    cur = make_report(noisy(1.3, 10, seed=3), None, timestamp=ts(99))  # --skip-cold
    v = judge(cur, baselines(), DEFAULTS)
    assert list(v.phases) == ["warm"]
    assert v.phases["warm"].alpha == pytest.approx(DEFAULT_ALPHA)  # one phase: the full alpha
    assert v.verdict == "regression"
    assert v.baseline.samples == {"warm": 50}


@pytest.mark.parametrize(
    ("fail_on", "expected"), [("any", 4), ("cold", 4), ("warm", 0), ("never", 0)]
)
def test_fail_on(fail_on: str, expected: int) -> None:
    # cold regressed, warm did not
    cur = current(1.0, cold_factor=4.0)
    v = judge(cur, baselines(), JudgeOptions(fail_on=fail_on))
    assert verdicts(v) == {"warm": "no change", "cold": "regression"}
    assert v.verdict == "regression"
    assert v.exit_code == expected


def test_regression_block_json() -> None:
    base = baselines()
    v = judge(
        current(1.2), base, DEFAULTS, selection="5 report(s) of branch main (x)", notes=["a note"]
    )
    d = json.loads(json.dumps(to_value(v), allow_nan=False))
    assert d["verdict"] == "regression"
    assert d["alpha"] == DEFAULT_ALPHA and d["threshold_pct"] == 10.0
    assert d["fail_on"] == "any" and d["comparable"] is True and d["differences"] == []
    assert d["baseline"] == {
        "keys": [b.key for b in base],
        "reports": 5,
        "selection": "5 report(s) of branch main (x)",
        "samples": {"warm": 50, "cold": 25},
        "commit": base[0].report.git.commit,
    }
    assert d["notes"] == ["a note"]
    warm = d["phases"]["warm"]
    assert warm["current"]["n"] == 10 and warm["baseline"]["n"] == 50
    assert warm["current"]["median"] > warm["baseline"]["median"]
    assert warm["pct_change"] > 10 and len(warm["ci95_pct"]) == 2
    assert 0 < warm["p_value"] < DEFAULT_ALPHA / 2 and warm["alpha"] == DEFAULT_ALPHA / 2
    assert "Mann-Whitney" in d["method"] and "bootstrap" in d["method"]
    assert d["summary"] == summary_line(v) and d["exit_code"] == 4
    assert d["summary"].endswith(" - baseline: 5 report(s) of branch main (x)")
    # the block a report carries is the one the model reads back
    report = dataclasses.replace(current(1.2), regression=v)
    assert Report.from_json(report.to_json()).regression == v


def test_regression_block_matches_the_schema(
    validate_report: Callable[[object], dict[str, object]],
) -> None:
    for v in (
        judge(current(1.2), baselines(), DEFAULTS),
        judge(current(), [], DEFAULTS),
        judge(current(), baselines(env={"cpu_count": 2}), DEFAULTS),
    ):
        validate_report(to_value(dataclasses.replace(current(), regression=v)))


def test_bootstrap_ci_is_reproducible_and_brackets_the_change() -> None:
    cur = make_report(noisy(1.2, 10, 0.05, 1), None, timestamp=ts(99))
    base = [keyed("k", make_report(noisy(1.0, 50, 0.05, 2), None))]
    a = judge(cur, base, DEFAULTS).phases["warm"].ci95_pct
    b = judge(cur, base, DEFAULTS).phases["warm"].ci95_pct
    assert a is not None and a == b
    assert a[0] < 20 < a[1] and a[1] - a[0] < 15


def test_pct_formatting_in_the_summary() -> None:
    from ftbench.judge.summary import pct

    assert [pct(x) for x in (18.04, -2.46, 0.0, -0.01, 9.96, -12.5)] == [
        "+18%",
        "-2.5%",
        "+0.0%",
        "+0.0%",
        "+10.0%",
        "-12%",
    ]


def test_options_validation() -> None:
    for bad in (
        {"alpha": 0},
        {"alpha": 1},
        {"regress_pct": -1},
        {"regress_pct": float("nan")},
        {"baseline_count": 0},
        {"fail_on": "sometimes"},
        {"baseline": ""},
    ):
        with pytest.raises(UsageError) as exc:
            JudgeOptions(**bad)
        assert exc.value.exit_code == 2


def test_add_judge_arguments_and_judge_options() -> None:
    parser = argparse.ArgumentParser()
    add_judge_arguments(parser)
    assert judge_options(parser.parse_args([])) == JudgeOptions()
    ns = parser.parse_args(
        [
            "--regress-pct",
            "15",
            "--alpha",
            "0.05",
            "--baseline",
            "latest",
            "--baseline-branch",
            "dev",
            "--baseline-count",
            "3",
            "--fail-on",
            "warm",
            "--allow-incomparable",
        ]
    )
    assert judge_options(ns) == JudgeOptions(15.0, 0.05, "latest", "dev", 3, "warm", True)
    for bad in (
        ["--alpha", "2"],
        ["--regress-pct", "x"],
        ["--baseline-count", "0"],
        ["--fail-on", "often"],
    ):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(bad)
        assert exc.value.code == 2
    compare_parser = argparse.ArgumentParser()
    add_judge_arguments(compare_parser, selection=False)
    with pytest.raises(SystemExit):
        compare_parser.parse_args(["--baseline", "none"])
    assert judge_options(compare_parser.parse_args([])).baseline == "auto"


def test_evaluate_none_reads_no_history(tmp_path: Path) -> None:
    class Exploding:
        def describe(self) -> str:
            raise AssertionError("must not be called")

        def newest(self, repo_id: str, notes: list[str]) -> Iterator[KeyedReport]:
            raise AssertionError("must not be called")

        def find(self, spec: str, repo_id: str | None) -> KeyedReport | None:
            raise AssertionError("must not be called")

    v = evaluate(
        current(),
        Exploding(),
        JudgeOptions(baseline="none"),
        repo_root=tmp_path,
        notes=["from the caller"],
    )
    assert v.verdict == "no baseline" and "--baseline none" in v.reason
    assert v.notes == ("from the caller",) and v.exit_code == 0


def test_importing_cli_does_not_load_scipy_or_numpy() -> None:
    code = "import ftbench.cli.app, ftbench.judge.core, ftbench.judge.baseline, ftbench.cli.compare"
    assert modules_loaded(code, "numpy", "scipy", "rich") == []


def test_building_the_parser_loads_no_stage() -> None:
    """``--help`` or ``--version`` of any command builds every parser: it must not import the
    pipeline, the adoption or the report model (0.4's first cut took 0.36 s instead of
    0.08 s to print its version)."""
    code = "from ftbench.cli.app import build_parser; build_parser()"
    stages = (
        "ftbench.pipeline",
        "ftbench.adopt.",
        "ftbench.report.verdict",
        "ftbench.archive.sync",
    )
    assert modules_loaded(code, *stages) == []


def test_reading_reports_loads_no_reader_of_the_machine() -> None:
    """The report model takes its machine types from ``measure/machine.py``; every command
    that reads reports imports it, so the readers (git, tool versions, the tier
    configuration) stay out: they doubled the model's import time (34 -> 75 ms)."""
    readers = ("ftbench.measure.environment", "ftbench.measure.config", "importlib.metadata")
    assert modules_loaded("import ftbench.report.model", *readers) == []


def test_judging_does_not_load_scipy_or_numpy(tmp_path: Path) -> None:
    # the judge's statistics are pure Python: a whole `compare` loads neither
    import subprocess
    import sys

    base, new = tmp_path / "base.json", tmp_path / "new.json"
    base.write_text(current(1.0).to_json())
    new.write_text(current(1.3, seed=9).to_json())
    code = (
        "import sys; from ftbench.cli.app import main; "
        f"code = main(['compare', {str(base)!r}, {str(new)!r}, '--json']); "
        "print(code, sorted(m for m in ('numpy', 'scipy') if m in sys.modules), "
        "file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert proc.stderr.strip().splitlines()[-1] == "4 []"
    assert json.loads(proc.stdout)["verdict"] == "regression"
