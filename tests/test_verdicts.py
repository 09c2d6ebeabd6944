"""What gates a verdict (wall and CPU), the baseline window, intended slowdowns: the judge's
pure functions on synthetic reports (docs/regression.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from factory import keyed, make_report, noisy, ts
from ftbench.errors import UsageError
from ftbench.judge import accept, window
from ftbench.judge.ab import judge_against, pairs_to_reject
from ftbench.judge.core import judge
from ftbench.judge.options import JudgeOptions
from ftbench.measure.ab import PairPlan, pair_plans
from ftbench.measure.results import RunSettings
from ftbench.report.markdown import render
from ftbench.report.model import BaseSide, KeyedReport, Phase, Report
from ftbench.report.verdict_md import headline


def timed(report: Report, cpu: Sequence[float] | float) -> Report:
    """``report`` with its warm samples' CPU time set (``user_s``, one value or one each)."""
    warm = report.runs.warm
    assert warm is not None
    values = [cpu] * len(warm.samples) if isinstance(cpu, float) else list(cpu)
    samples = tuple(
        dataclasses.replace(s, user_s=c, sys_s=0.0)
        for s, c in zip(warm.samples, values, strict=True)
    )
    return dataclasses.replace(
        report,
        runs=dataclasses.replace(report.runs, warm=dataclasses.replace(warm, samples=samples)),
    )


def run_of(wall: float, cpu: float, seed: int, i: int = 99, **kw: object) -> Report:
    return timed(make_report(noisy(wall, 10, seed=seed), None, timestamp=ts(i), **kw), cpu)  # type: ignore[arg-type]


def history(wall: float = 1.0, cpu: float = 0.5, n: int = 8) -> list[KeyedReport]:
    """``n`` baseline runs, newest first."""
    return [keyed(f"k{i:02d}", run_of(wall, cpu, seed=i, i=i)) for i in reversed(range(n))]


def test_a_longer_wait_with_the_same_cpu_is_a_regression_by_default() -> None:
    # the command waits longer (wall +60%), its CPU work is the same: the user waits longer
    verdict = judge(run_of(1.6, 0.5, seed=50), history(), JudgeOptions())
    assert verdict.verdict == "regression" and verdict.exit_code == 4
    warm = verdict.phases["warm"]
    assert warm.metric == "wall" and warm.gates == ("wall", "cpu")
    assert warm.metrics is not None and warm.metrics["cpu"].verdict == "no change"
    assert "not more CPU work: longer waits or lost parallelism" in verdict.summary
    # judged on CPU alone it is no change (ftbench 0.3's default for such a command)
    assert judge(run_of(1.6, 0.5, seed=50), history(), JudgeOptions(metric="cpu")).exit_code == 0


def test_lost_parallelism_is_a_regression_not_an_improvement() -> None:
    # two workers one after the other: wall doubles, CPU a little lower (less contention)
    verdict = judge(run_of(2.0, 0.47, seed=51), history(), JudgeOptions())
    assert verdict.verdict == "regression"
    assert verdict.phases["warm"].metrics["cpu"].verdict in ("no change", "improvement")  # type: ignore[index]


def test_improvement_only_when_nothing_gated_got_worse() -> None:
    faster_cpu_slower_wall = run_of(1.5, 0.3, seed=52)
    assert judge(faster_cpu_slower_wall, history(), JudgeOptions()).verdict == "regression"
    both_faster = run_of(0.7, 0.3, seed=53)
    assert judge(both_faster, history(), JudgeOptions()).verdict == "improvement"
    cpu_faster_only = run_of(1.0, 0.3, seed=54)
    made = judge(cpu_faster_only, history(), JudgeOptions())
    assert made.verdict == "improvement" and made.phases["warm"].metric == "cpu"


def test_alpha_is_split_over_phases_and_gated_metrics() -> None:
    made = judge(run_of(1.0, 0.5, seed=55), history(), JudgeOptions())
    assert made.phases["warm"].alpha == pytest.approx(0.005 / 2)  # one phase, two metrics
    alone = judge(run_of(1.0, 0.5, seed=55), history(), JudgeOptions(metric="wall"))
    assert alone.phases["warm"].alpha == pytest.approx(0.005)
    assert made.gates == ("wall", "cpu") and alone.gates == ("wall",)


def test_memory_is_judged_but_does_not_gate_by_default() -> None:
    current = run_of(1.0, 0.5, seed=56)
    warm = current.runs.warm
    assert warm is not None
    bigger = tuple(dataclasses.replace(s, max_rss_kb=3000) for s in warm.samples)
    current = dataclasses.replace(
        current,
        runs=dataclasses.replace(current.runs, warm=dataclasses.replace(warm, samples=bigger)),
    )
    made = judge(current, history(), JudgeOptions())
    assert made.verdict == "no change"
    assert made.phases["warm"].metrics["rss"].verdict == "regression"  # type: ignore[index]
    assert judge(current, history(), JudgeOptions(metric="rss")).verdict == "regression"


def test_the_headline_is_the_worst_of_what_gates() -> None:
    # runs that differ a lot from each other: +25% wall is beyond the threshold, not decided
    spread = [keyed(f"s{i}", run_of(w, 0.5, seed=i, i=i)) for i, w in enumerate((1.2, 0.8, 1.0))]
    undecided = judge(run_of(1.25, 0.5, seed=57), spread, JudgeOptions())
    assert undecided.verdict == "inconclusive", undecided.summary
    report = dataclasses.replace(run_of(1.25, 0.5, seed=57), regression=undecided)
    assert headline(report).startswith("⚠️ Inconclusive: warm +2")
    assert "wall" in headline(report)
    assert render(report).splitlines()[0].startswith("## ⚠️ Inconclusive: warm +2")
    fine = judge(run_of(1.0, 0.5, seed=58), history(), JudgeOptions())
    assert headline(dataclasses.replace(report, regression=fine)) == "✅ No change"


# --- the baseline window ------------------------------------------------------------------


def test_the_window_starts_at_the_last_level_shift() -> None:
    # 4 old runs at 1.0 s, then 4 at 1.3 s (a slowdown that landed): the newest 4 are the level
    runs = history(1.3, 0.65, n=4) + [
        keyed(f"old{i}", run_of(1.0, 0.5, seed=20 + i, i=i)) for i in reversed(range(4))
    ]
    kept, notes = window.window(runs, ("wall", "cpu"), 10.0)
    assert [k.key for k in kept] == [k.key for k in runs[:4]]
    assert notes == ["baseline window: the 4 run(s) since a level shift (4 older run(s) left out)"]
    # judged at the new level: unchanged code is no change, and the noise floor is narrow
    made = judge(run_of(1.3, 0.65, seed=60), runs, JudgeOptions(), windowed=True)
    assert made.verdict == "no change", made.summary
    assert made.baseline.window and "level shift" in made.baseline.window
    floor = made.phases["warm"].noise_floor_pct
    assert floor is not None and floor < 15
    mixed = judge(run_of(1.3, 0.65, seed=60), runs, JudgeOptions())
    assert (mixed.phases["warm"].noise_floor_pct or 0) > floor


def test_one_slow_run_is_left_out_of_the_spread() -> None:
    runs = history(n=9)
    runs.insert(3, keyed("slow", run_of(2.0, 1.0, seed=70, i=5)))
    kept, notes = window.window(runs, ("wall", "cpu"), 10.0)
    assert "slow" not in [k.key for k in kept] and len(kept) == 9
    assert notes == ["baseline window: left out one run far from all the others (slow)"]
    made = judge(run_of(1.0, 0.5, seed=71), runs, JudgeOptions(), windowed=True)
    floor = made.phases["warm"].noise_floor_pct
    assert made.verdict == "no change" and floor is not None and floor < 10


def test_a_run_that_failed_the_gate_is_no_reference() -> None:
    # a refused push's run was archived: the next run is judged against the runs before it
    refused = run_of(1.5, 0.75, seed=72, i=20)
    refused = dataclasses.replace(refused, regression=judge(refused, history(n=3), JudgeOptions()))
    assert refused.regression is not None and refused.regression.verdict == "regression"
    runs = [keyed("refused", refused), *history(n=3)]
    kept, notes = window.window(runs, ("wall", "cpu"), 10.0)
    assert "refused" not in [k.key for k in kept] and len(kept) == 3
    assert notes == [
        "baseline window: left out 1 run(s) that failed the gate (a regression not accepted)"
    ]
    made = judge(run_of(1.5, 0.75, seed=73), runs, JudgeOptions(), windowed=True)
    assert made.verdict == "regression"


def test_no_shift_no_outlier_keeps_every_run() -> None:
    runs = history(n=10)
    assert window.window(runs, ("wall", "cpu"), 10.0) == (runs, [])
    # one run alone is an outlier, even the newest; two at a new level make a level shift
    one = history(1.3, 0.65, n=1) + history(n=9)
    kept, notes = window.window(one, ("wall",), 10.0)
    assert len(kept) == 9 and "far from all the others" in notes[0]
    two = history(1.3, 0.65, n=2) + history(n=8)
    kept, notes = window.window(two, ("wall",), 10.0)
    assert len(kept) == 2 and "level shift" in notes[0]


# --- intended slowdowns -------------------------------------------------------------------


def test_acceptance_specs_parse_or_say_the_form() -> None:
    found = accept.parse("pro warm +15%: new type checks", "a" * 40)
    assert (found.tier, found.phase, found.metric, found.pct, found.reason) == (
        "pro",
        "warm",
        "any",
        15.0,
        "new type checks",
    )
    assert accept.parse("* cold wall +5.5%").metric == "wall"
    for bad in ("pro warm 15%", "pro +0%", "pro sideways +5%", ""):
        with pytest.raises(UsageError, match="TIER"):
            accept.parse(bad)
    found_all, notes = accept.from_messages(
        [
            ("a" * 40, "Speed up\n\nFtbench-Accept: lite +20%: bigger corpus\n"),
            ("b" * 40, "x\n\nftbench-accept: lite warm banana\n"),
        ]
    )
    assert [a.pct for a in found_all] == [20.0] and found_all[0].commit == "a" * 40
    assert len(notes) == 1 and "bbbbbbbbbbbb" in notes[0] and "ignored" in notes[0]


def test_an_accepted_slowdown_passes_and_more_still_fails() -> None:
    options = JudgeOptions(accept=(accept.parse("lite warm +70%: new checks", "c" * 40),))
    made = judge(run_of(1.6, 0.8, seed=80), history(), options)
    assert made.verdict == "accepted" and made.exit_code == 0
    assert made.accepted is not None and made.accepted[0].commit == "c" * 40
    assert "accepted: lite warm +70%: new checks" in made.summary
    beyond = judge(run_of(2.2, 1.1, seed=81), history(), options)
    assert beyond.verdict == "regression" and beyond.exit_code == 4
    assert "beyond the accepted +70%" in beyond.phases["warm"].reason
    other_tier = JudgeOptions(accept=(accept.parse("pro +70%"),))
    assert judge(run_of(1.6, 0.8, seed=80), history(), other_tier).verdict == "regression"


def test_an_accepted_report_starts_a_new_level() -> None:
    options = JudgeOptions(accept=(accept.parse("lite +70%"),))
    landed = run_of(1.6, 0.8, seed=82, i=20)
    landed = dataclasses.replace(landed, regression=judge(landed, history(), options))
    runs = [keyed("landed", landed), *history()]
    kept, notes = window.window(runs, ("wall", "cpu"), 10.0)
    assert [k.key for k in kept] == ["landed"]
    assert "since the accepted slowdown of landed" in notes[0]


# --- A/B: pairs ---------------------------------------------------------------------------


def ab(current: Report, base: Report) -> Report:
    side = BaseSide(
        ref="main",
        commit="b" * 40,
        how="main",
        order="ABBA",
        setup=None,
        stopped={},
        tool_versions=dict(current.environment.tool_versions),
        runs=base.runs,
    )
    return dataclasses.replace(current, against=side)


def test_ab_judges_wall_from_its_pairs() -> None:
    # the machine drifts (each pair at its own speed), the head waits 30% longer
    drift = noisy(1.0, 20, cv=0.3, seed=90)
    base = timed(make_report([d for d in drift], None), [0.5 * d for d in drift])
    head = timed(make_report([1.3 * d for d in drift], None), [0.5 * d for d in drift])
    made = judge_against(ab(head, base), JudgeOptions(), looks={"warm": 2})
    assert made.verdict == "regression" and made.phases["warm"].metric == "wall"
    assert made.phases["warm"].metrics["cpu"].verdict == "no change"  # type: ignore[index]


def test_pairs_to_reject_follows_alpha_and_the_plan_looks_first_at_a_normal_run() -> None:
    # 0.005 over 2 phases, 2 gated metrics, 2 looks: 2^-11 < 0.000625 <= 2^-10
    assert pairs_to_reject(JudgeOptions(), 2) == 11
    assert pairs_to_reject(JudgeOptions(metric="wall"), 2) == 10
    assert pairs_to_reject(JudgeOptions(metric="wall"), 1) == 9
    plans = pair_plans(RunSettings(), 11)
    assert plans["cold"] == PairPlan(5, 11, 15) and plans["cold"].looks() == (5, 11, 15)
    assert plans["cold"].rejecting == 2
    assert plans["warm"].looks() == (10, 11, 30)
    full = pair_plans(RunSettings(mode="full", cold_runs=10, warm_runs=30, warmup=2), 11)
    assert full["warm"].looks() == (30, 90) and full["warm"].rejecting == 2


def phase_of(report: Report) -> Phase:
    assert report.runs.warm is not None
    return report.runs.warm
