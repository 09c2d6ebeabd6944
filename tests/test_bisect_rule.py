"""The bisection's rule (``judge/bisect.py``): the interval a step decides on, the decision,
the change to bisect, the search over commits; the Markdown and terminal views of an answer."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factory import sample
from ftbench.judge import bisect as rule
from ftbench.report.bisect import Bisection, BisectStep
from ftbench.report.bisect_text import render_text
from ftbench.report.bisect_view import render_markdown
from ftbench.report.codec import from_value, to_value
from ftbench.report.model import MetricVerdict, PhaseVerdict, SideStats


def brute_cut(n: int, confidence: float) -> int:
    """The number of Walsh averages cut from each end, from every sign pattern of n ranks."""
    sums = sorted(
        sum(r for r, s in zip(range(1, n + 1), signs, strict=True) if s)
        for signs in itertools.product((0, 1), repeat=n)
    )
    tail = (1 - confidence) / 2
    cut = 0
    while sum(1 for s in sums if s <= cut) / 2**n <= tail:
        cut += 1
    return cut


@pytest.mark.parametrize("n", range(1, 13))
@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_shift_interval_cuts_where_the_signed_rank_distribution_says(
    n: int, confidence: float
) -> None:
    values = [float(v) for v in random.Random(n).sample(range(1000), n)]
    walsh = sorted((a + b) / 2 for i, a in enumerate(values) for b in values[i:])
    cut = brute_cut(n, confidence)
    found = rule.shift_ci(values, confidence)
    if cut == 0:
        assert found is None
    else:
        assert found == (walsh[cut - 1], walsh[len(walsh) - cut])


def test_shift_interval_covers_the_centre_as_often_as_it_says() -> None:
    rng = random.Random(7)
    for n in (10, 60):  # exact, and the normal approximation beyond 50
        misses = sum(
            not (lo <= 1.0 <= hi)
            for lo, hi in (
                rule.shift_ci([rng.gauss(1.0, 0.3) for _ in range(n)], 0.95) or (0, 0)
                for _ in range(2000)
            )
        )
        assert misses / 2000 < 0.075


def pairs(ratios: list[float], base: float = 1.0) -> tuple[list, list]:  # type: ignore[type-arg]
    """Samples of a commit and its reference whose wall times have these ratios."""
    return (
        [sample(i + 1, base * r) for i, r in enumerate(ratios)],
        [sample(i + 1, base) for i in range(len(ratios))],
    )


CHANGE = rule.Change("warm", "wall", 20.0, (15.0, 25.0))


def positions(ratios: list[float], reference_bad: bool = False) -> rule.Position:
    found = rule.position(*pairs(ratios), CHANGE, reference_bad=reference_bad)
    assert found is not None
    return found


def test_a_step_is_like_good_like_bad_partial_or_unclear() -> None:
    jitter = [1 + 0.01 * math.sin(i) for i in range(12)]
    like_good = positions([j for j in jitter])
    assert rule.decide(like_good, last=False) == "like good"
    like_bad = positions([1.2 * j for j in jitter])
    assert rule.decide(like_bad, last=False) == "like bad"
    assert like_bad.pct == pytest.approx(20, abs=2)
    # against a BAD-like reference, the same commit is at 1 and a GOOD-like one at 0
    assert rule.decide(positions(jitter, True), last=False) == "like bad"
    assert rule.decide(positions([j / 1.2 for j in jitter], True), last=False) == "like good"
    half = positions([1.095 * j for j in jitter])
    assert rule.decide(half, last=False) == "unclear"  # more pairs first
    assert rule.decide(half, last=True) == "partial"
    noisy = positions([1.1 + 0.3 * math.sin(i) for i in range(12)])
    assert rule.decide(noisy, last=True) == "unclear"
    assert rule.decide(positions([1.2] * 4), last=True) == "unclear"  # too few pairs
    assert rule.MIN_PAIRS == 8


def test_a_position_beyond_good_or_bad_is_not_monotonic() -> None:
    jitter = [1 + 0.01 * math.sin(i) for i in range(12)]
    assert rule.beyond(positions([1.6 * j for j in jitter])) is not None
    assert "faster than GOOD" in (rule.beyond(positions([0.8 * j for j in jitter])) or "")
    assert rule.beyond(positions([1.2 * j for j in jitter])) is None


def test_failed_samples_leave_their_pair_out() -> None:
    cur, bas = pairs([1.2] * 10)
    cur[0] = sample(1, 99.0, ok=False)
    found = rule.position(cur, bas, CHANGE, reference_bad=False)
    assert found is not None and found.pairs == 9


def metric(verdict: str, pct: float, low: float, floor: float | None = None) -> MetricVerdict:
    return MetricVerdict(
        verdict=verdict,  # type: ignore[arg-type]
        current_median=1.0,
        baseline_median=1.0,
        pct_change=pct,
        ci95_pct=(low, pct + 5),
        noise_floor_pct=floor,
    )


def test_the_change_standing_out_most_from_its_noise_is_bisected() -> None:
    from factory import TEMPLATE

    assert TEMPLATE.regression is not None
    side = SideStats(n=10, median=1.0)
    phases = {
        "cold": PhaseVerdict(
            verdict="regression",
            metric="wall",
            current=side,
            baseline=side,
            gates=("wall", "cpu"),
            metrics={"wall": metric("regression", 40, 8, 8), "cpu": metric("no change", 1, -1)},
        ),
        "warm": PhaseVerdict(
            verdict="regression",
            metric="cpu",
            current=side,
            baseline=side,
            gates=("wall", "cpu"),
            metrics={
                "wall": metric("inconclusive", 30, -2),
                "cpu": metric("regression", 25, 20, 2),
            },
        ),
    }
    verdict = dataclasses.replace(TEMPLATE.regression, phases=phases)
    # cold wall +40% over a noise floor of 8%, warm cpu +25% over 2%: the warm cpu change
    assert rule.regressed(verdict) == rule.Change("warm", "cpu", 25, (20, 30))
    noisy = dict(
        phases,
        warm=dataclasses.replace(phases["warm"], metrics={"cpu": metric("regression", 25, 20, 12)}),
    )
    found = rule.regressed(dataclasses.replace(verdict, phases=noisy))
    assert found is not None and found.phase == "cold"
    quiet = {name: dataclasses.replace(p, metrics={}) for name, p in phases.items()}
    assert rule.regressed(dataclasses.replace(verdict, phases=quiet)) is None


def test_search_halves_and_measures_against_the_nearest_decided_commit() -> None:
    search = rule.Search(16)
    assert search.next() == (8, 0)
    search.record(8, "like good")
    assert search.next() == (12, 8)
    search.record(12, "like bad")
    assert search.next() == (10, 8)
    search.record(10, "like bad")
    nxt = search.next()
    assert nxt == (9, 8)
    search.record(9, "like bad")
    assert search.next() is None and search.narrowed() == 9 and search.bounds() == (8, 9)


def test_skipped_commits_are_tried_around_then_leave_a_range() -> None:
    search = rule.Search(4)
    assert search.next() == (2, 0)
    search.record(2, "skipped")
    assert search.next() == (1, 0)
    search.record(1, "like good")
    assert search.next() == (3, 4)
    search.record(3, "unclear")
    assert search.next() is None and search.narrowed() is None
    assert search.candidates() == (2, 4)


def test_a_partial_commit_ends_the_search_with_a_range() -> None:
    search = rule.Search(8)
    search.record(4, "partial")
    assert search.next() is None and search.narrowed() is None
    assert search.candidates() == (1, 8)


@given(
    count=st.integers(1, 64),
    data=st.data(),
)
def test_search_finds_the_first_bad_commit_or_a_range_holding_it(
    count: int, data: st.DataObject
) -> None:
    culprit = data.draw(st.integers(1, count))
    skipped = data.draw(st.sets(st.integers(1, count - 1) if count > 1 else st.nothing()))
    search = rule.Search(count)
    measured = 0
    while (nxt := search.next()) is not None:
        index, ref = nxt
        assert search.states[ref] in ("good", "bad") and index not in search.states
        low, high = search.bounds()
        assert low < index < high and ref in (low, high)
        measured += 1
        if index in skipped:
            search.record(index, "skipped")
        else:
            search.record(index, "like bad" if index >= culprit else "like good")
    first, last = search.candidates()
    assert first <= culprit <= last
    if not skipped:
        assert search.narrowed() == culprit
        assert measured <= math.ceil(math.log2(count)) if count > 1 else measured == 0
    assert measured <= count


def step(**kw: object) -> BisectStep:
    fields = {
        "kind": "step",
        "commit": "a" * 40,
        "subject": "x",
        "reference": "b" * 40,
        "reference_is": "good",
        "path": "first parent",
        "phase": "warm",
        "metric": "wall",
        "pairs": 8,
        "pct_change": 1.0,
        "ci95_pct": (0.0, 2.0),
        "position": 0.05,
        "position_ci": (-0.1, 0.2),
        "decision": "like good",
        "reason": "",
        "elapsed_s": 1.0,
        "samples": 16,
        **kw,
    }
    return BisectStep(**fields)  # type: ignore[arg-type]


HOSTILE = "fix <script>alert(1)</script> @admin #12 | `x` [l](http://e) \x1b[31mred\u202e"


def answer(**kw: object) -> Bisection:
    fields = {
        "good": "0" * 40,
        "bad": "f" * 40,
        "status": "found",
        "summary": f"the slowdown came with cccccccccccc '{HOSTILE}'",
        "phase": "warm",
        "metric": "wall",
        "change_pct": 20.0,
        "change_ci95_pct": (15.0, 25.0),
        "culprit": "c" * 40,
        "culprit_subject": HOSTILE,
        "culprit_pct": 19.0,
        "culprit_ci95_pct": (14.0, 24.0),
        "range": None,
        "range_commits": None,
        "skipped": ("d" * 40,),
        "notes": (f"note about '{HOSTILE}'",),
        "steps": (
            step(subject=HOSTILE),
            step(commit="d" * 40, subject=HOSTILE, decision="skipped", reason=HOSTILE),
        ),
        "budget_s": 1800.0,
        "used_s": 60.0,
        "samples": 100,
        "normal_runs": 5.0,
        **kw,
    }
    return Bisection(**fields)  # type: ignore[arg-type]


def test_hostile_subjects_are_escaped_in_markdown_and_on_the_terminal() -> None:
    found = answer()
    markdown = render_markdown(found)
    assert "<script>" not in markdown and "@admin" not in markdown and "#12" not in markdown
    assert "\x1b" not in markdown and "\u202e" not in markdown
    for line in markdown.splitlines():
        if line.startswith("|"):
            assert line.count("|") - line.count("\\|") == 11  # no column added
    text = render_text(found)
    assert "\x1b" not in text and "\u202e" not in text and "\\x1b" in text
    assert text.splitlines()[-2].startswith("  note: ")


def test_the_answer_round_trips_through_the_model() -> None:
    found = answer()
    value = json.loads(json.dumps(to_value(found)))
    assert from_value(Bisection, value) == found
    assert value["culprit"] == "c" * 40 and value["range"] is None
    assert [s["commit"] for s in value["steps"]] == ["a" * 40, "d" * 40]
