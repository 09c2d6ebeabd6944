"""The A/B and between-run statistics, checked against scipy."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from ftbench.judge import between, paired
from ftbench.judge.phase import archive_metric, paired_metric

finite = st.floats(min_value=-5, max_value=5, allow_nan=False).filter(lambda v: abs(v) > 1e-6)


@settings(max_examples=150, deadline=None)
@given(st.lists(finite, min_size=1, max_size=60, unique=True), st.sampled_from(["greater", "less"]))
def test_signed_rank_matches_scipy_without_ties(diffs: list[float], alternative: str) -> None:
    ranks = [abs(d) for d in diffs]
    if len(set(ranks)) < len(ranks):  # ties of |d|: scipy takes a permutation test there
        return
    method = "exact" if len(diffs) <= 50 else "asymptotic"
    expected = sps.wilcoxon(diffs, alternative=alternative, method=method).pvalue
    assert paired.signed_rank_p(diffs, alternative) == pytest.approx(expected, abs=1e-9)  # type: ignore[arg-type]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(-4, 4).filter(bool).map(float), min_size=14, max_size=60))
def test_signed_rank_with_ties_matches_scipy_asymptotic(diffs: list[float]) -> None:
    expected = sps.wilcoxon(diffs, alternative="greater", method="asymptotic").pvalue
    assert paired.signed_rank_p(diffs, "greater") == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("df", [1, 2, 4, 9, 30, 200])
def test_student_t_matches_scipy(df: int) -> None:
    for t in (-3.0, -0.5, 0.0, 0.7, 2.5, 8.0):
        assert between.t_sf(t, df) == pytest.approx(sps.t.sf(t, df), abs=1e-12)
    for q in (0.9, 0.975, 0.9975):
        assert between.t_ppf(q, df) == pytest.approx(sps.t.ppf(q, df), rel=1e-9)


def test_ratio_ci_is_the_order_statistic_interval_of_the_pair_ratios() -> None:
    cur = [1.1 + i / 100 for i in range(20)]
    base = [1.0] * 20
    lo, hi = paired.ratio_ci(cur, base) or (0.0, 0.0)
    assert lo < paired.median_ratio_pct(cur, base) < hi
    assert paired.ratio_ci(cur[:5], base[:5]) is None  # 5 pairs cannot reach 95%


def test_noise_floor_shrinks_with_more_pairs_and_grows_with_spread() -> None:
    logs = [0.01 * ((-1) ** i) * (i % 5) for i in range(40)]
    few = paired.noise_floor_pct(logs[:10], 10, 0.001)
    many = paired.noise_floor_pct(logs, 40, 0.001)
    wide = paired.noise_floor_pct([3 * v for v in logs], 40, 0.001)
    assert few is not None and many is not None and wide is not None
    assert many < few and wide > many
    assert paired.noise_floor_pct([0.1], 1, 0.01) is None


def test_paired_metric_catches_a_consistent_change_and_passes_a_null_one() -> None:
    base = [1.0 + 0.02 * math.sin(i) for i in range(20)]
    slower = [b * 1.10 for b in base]
    made = paired_metric(slower, base, alpha=0.001, threshold=5)
    assert made.verdict == "regression" and made.pct_change == pytest.approx(10, abs=0.01)
    same = [b * (1 + 0.01 * ((-1) ** i)) for i, b in enumerate(base)]
    assert paired_metric(same, base, alpha=0.001, threshold=5).verdict == "no change"


def test_archive_rule_uses_the_spread_between_runs() -> None:
    # every run is tight, but runs differ by +-15%: a run ~17% above them is within noise
    runs = [[m * (1 + 0.001 * i) for i in range(10)] for m in (1.0, 1.15, 0.9, 1.1, 0.85, 1.05)]
    current = [1.2 * (1 + 0.001 * i) for i in range(10)]
    made = archive_metric(current, runs, alpha=0.0025, threshold=10)
    assert made.verdict == "inconclusive" and "not significant" in made.reason
    assert made.noise_floor_pct is not None and made.noise_floor_pct > 30
    # the same runs without the drift: +17% is a regression
    steady = [[1.0 + 0.001 * i for i in range(10)] for _ in range(6)]
    steady = [[v * (1 + 0.004 * k) for v in r] for k, r in enumerate(steady)]
    assert archive_metric(current, steady, alpha=0.0025, threshold=10).verdict == "regression"


def test_any_gates_wall_and_cpu_each_metric_alone_otherwise() -> None:
    from ftbench.judge.metrics import gates

    assert gates("any") == ("wall", "cpu")
    assert [gates(m) for m in ("wall", "cpu", "rss")] == [("wall",), ("cpu",), ("rss",)]
