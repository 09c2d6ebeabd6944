"""Bisecting a slowdown: what changed from GOOD to BAD, how one step is decided, and where
the search stands. Pure functions of samples and decisions (``pipeline/bisect.py`` measures).

**The change.** BAD measured against GOOD (an A/B run judged by :mod:`.ab`) must be a
regression; of the phases and gated metrics that regressed, the one whose change stands out
most from its noise floor is bisected, and its median per-pair ratio is the change
``delta = log(BAD / GOOD)``.

**A step.** A commit is measured interleaved against a *reference*, a commit already known
to be like GOOD or like BAD. Each pair's log ratio ``d`` says where the commit sits between
GOOD and BAD: its *position* ``(d + offset) / delta``, where ``offset`` is 0 against a GOOD-like
reference and ``delta`` against a BAD-like one; 0 is like GOOD, 1 like BAD. The step decides on
the distribution-free :data:`STEP_CONFIDENCE` interval of the median position (order
statistics of the pairs): **like GOOD** when it lies below :data:`MIDDLE`, **like BAD** when
above; otherwise sampling goes on (more pairs, within the budget). At the last look an
interval still holding the middle is **partial** when it lies inside :data:`PARTIAL_BAND`
(the commit clearly carries part of the change: it came in several commits), else
**unclear** (skipped, as ``git bisect skip``). A position whose interval lies beyond
:data:`BEYOND` contradicts a monotonic change (a commit slower than BAD or faster than GOOD).

**The search** (:class:`Search`): commits ``c0`` (GOOD) .. ``cn`` (BAD); the next commit is the
untried one nearest the middle of the last GOOD-like and the first BAD-like commit, measured
against the nearer of the two. Skipped and unclear commits are tried around; when none is
left the answer is the range between them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from ftbench.judge import metrics as m
from ftbench.judge import paired
from ftbench.report.bisect import Decision
from ftbench.report.verdict import Verdict

#: two-sided confidence of the interval of the median position a step decides on
STEP_CONFIDENCE = 0.99
#: halfway between GOOD (0) and BAD (1): the boundary between the two decisions
MIDDLE = 0.5
#: at the last look, an interval inside this band is a commit carrying part of the change
PARTIAL_BAND = (0.2, 0.8)
#: an interval entirely beyond these contradicts a monotonic change
BEYOND = (-0.5, 1.5)


def _rank_sums(n: int) -> list[int]:
    """How many of the 2^n sign patterns of ``n`` ranks give each rank sum."""
    counts = [1]
    for k in range(1, n + 1):
        grown = counts + [0] * k
        for s, c in enumerate(counts):
            grown[s + k] += c
        counts = grown
    return counts


def shift_ci(values: Sequence[float], confidence: float) -> tuple[float, float] | None:
    """The distribution-free interval of the centre of ``values`` (symmetric about it, as
    the log ratio of two samples measured alike is): order statistics of the Walsh
    averages ``(v_i + v_j) / 2``, cut at the signed-rank test's critical value (exact up to
    :data:`paired.EXACT_MAX` values, the normal approximation beyond); None when too few."""
    n = len(values)
    if n == 0:
        return None
    tail = (1 - confidence) / 2
    total = n * (n + 1) // 2
    if n <= paired.EXACT_MAX:
        cumulative, cut = 0, 0
        for rank_sum, count in enumerate(_rank_sums(n)):
            cumulative += count
            if cumulative / 2.0**n > tail:
                break
            cut = rank_sum + 1
    else:
        se = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
        cut = max(0, math.floor(total / 2 - NormalDist().inv_cdf(1 - tail) * se))
    if cut == 0:
        return None
    walsh = sorted((a + b) / 2 for i, a in enumerate(values) for b in values[i:])
    return walsh[cut - 1], walsh[total - cut]


def fewest_pairs(confidence: float = STEP_CONFIDENCE) -> int:
    """The fewest pairs whose position has an interval at ``confidence``."""
    n = 1
    while shift_ci([float(i) for i in range(n)], confidence) is None:
        n += 1
    return n


#: no look before this many pairs can decide (8 at 99%)
MIN_PAIRS = fewest_pairs()


@dataclass(frozen=True)
class Change:
    """The GOOD -> BAD change being bisected."""

    phase: str
    metric: str
    pct: float
    ci95_pct: tuple[float, float] | None

    @property
    def log(self) -> float:
        return math.log1p(self.pct / 100)


def regressed(verdict: Verdict) -> Change | None:
    """The change to bisect: among the phases and gated metrics the A/B verdict calls a
    regression, the one standing out most from its noise (the largest change over its noise
    floor: a step needs the fewest pairs on it; then the largest lower bound)."""
    found = []
    for phase, p in verdict.phases.items():
        figures = p.metrics or {}
        for metric in p.gates or (p.metric,):
            v = figures.get(metric)
            if v is None or v.verdict != "regression" or v.pct_change is None:
                continue
            low = v.ci95_pct[0] if v.ci95_pct is not None else v.pct_change
            floor = v.noise_floor_pct
            clear = v.pct_change / floor if floor else 0.0
            found.append((clear, low, Change(phase, metric, v.pct_change, v.ci95_pct)))
    if not found:
        return None
    return max(found, key=lambda f: (f[0], f[1]))[2]


@dataclass(frozen=True)
class Position:
    """Where a commit sits between GOOD (0) and BAD (1), from its pairs with a reference."""

    estimate: float
    interval: tuple[float, float] | None
    #: the median per-pair change against the reference, percent, and its 95% interval
    pct: float
    ci95_pct: tuple[float, float] | None
    pairs: int


def pair_values(
    current: Sequence[m.Counted], base: Sequence[m.Counted], metric: str
) -> tuple[list[float], list[float]]:
    """``metric`` of both sides of the pairs (sample i of each) where both count."""
    cur, bas = [], []
    for c, b in zip(current, base, strict=False):
        if m.counts(c) and m.counts(b):
            vc, vb = m.value(c, metric), m.value(b, metric)
            if vc is not None and vb is not None and vc > 0 and vb > 0:
                cur.append(vc)
                bas.append(vb)
    return cur, bas


def position(
    current: Sequence[m.Counted],
    base: Sequence[m.Counted],
    change: Change,
    *,
    reference_bad: bool,
) -> Position | None:
    """The position of ``current`` measured against ``base`` (a reference like BAD when
    ``reference_bad``); None without a complete pair or a change to divide by."""
    cur, bas = pair_values(current, base, change.metric)
    logs = paired.log_ratios(cur, bas)
    delta = change.log
    if not logs or delta <= 0:
        return None
    offset = delta if reference_bad else 0.0
    where = [(d + offset) / delta for d in logs]
    return Position(
        estimate=statistics.median((a + b) / 2 for i, a in enumerate(where) for b in where[i:]),
        interval=shift_ci(where, STEP_CONFIDENCE),
        pct=paired.median_ratio_pct(cur, bas),
        ci95_pct=paired.ratio_ci(cur, bas),
        pairs=len(logs),
    )


def decide(found: Position | None, *, last: bool) -> Decision:
    """``like good``, ``like bad``; at the ``last`` look ``partial`` or ``unclear``; before
    it ``unclear`` (sample more)."""
    if found is None or found.interval is None:
        return "unclear"
    low, high = found.interval
    if high < MIDDLE:
        return "like good"
    if low > MIDDLE:
        return "like bad"
    if last and PARTIAL_BAND[0] <= low and high <= PARTIAL_BAND[1]:
        return "partial"
    return "unclear"


def why(found: Position | None, decision: Decision) -> str:
    """The reason shown with a step's decision."""
    if found is None:
        return "no complete pair"
    if found.interval is None:
        return f"too few pairs ({found.pairs}) for a {STEP_CONFIDENCE:.0%} interval"
    low, high = found.interval
    span = f"position {found.estimate:.2f} ({STEP_CONFIDENCE:.0%} interval {low:.2f}..{high:.2f})"
    if decision == "like good":
        return f"{span}: below the middle ({MIDDLE:g}) between GOOD and BAD"
    if decision == "like bad":
        return f"{span}: above the middle ({MIDDLE:g}) between GOOD and BAD"
    if decision == "partial":
        return f"{span}: clearly between GOOD and BAD, part of the change"
    return f"{span}: holds the middle"


def beyond(found: Position | None) -> str | None:
    """How a position contradicts a monotonic change, if it does."""
    if found is None or found.interval is None:
        return None
    low, high = found.interval
    if low > BEYOND[1]:
        return f"slower than BAD (position {found.estimate:.2f})"
    if high < BEYOND[0]:
        return f"faster than GOOD (position {found.estimate:.2f})"
    return None


@dataclass
class Search:
    """Binary search over ``count + 1`` commits: index 0 is like GOOD, ``count`` like BAD."""

    count: int
    #: index -> ``good``, ``bad``, ``skip`` (skipped or unclear), ``partial``
    states: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.states.setdefault(0, "good")
        self.states.setdefault(self.count, "bad")

    def record(self, index: int, decision: Decision) -> None:
        state = {"like good": "good", "like bad": "bad", "partial": "partial"}
        self.states[index] = state.get(decision, "skip")

    def bounds(self) -> tuple[int, int]:
        """The last GOOD-like commit and the first BAD-like one after it."""
        low = max(i for i, s in self.states.items() if s == "good")
        high = min(i for i, s in self.states.items() if s == "bad" and i > low)
        return low, high

    def partial(self) -> int | None:
        low, high = self.bounds()
        return next((i for i in range(low + 1, high) if self.states.get(i) == "partial"), None)

    def next(self) -> tuple[int, int] | None:
        """The next commit to measure and its reference; None when the search is over
        (narrowed to one, every candidate tried, or a partial commit in the range)."""
        low, high = self.bounds()
        if high - low == 1 or self.partial() is not None:
            return None
        untried = [i for i in range(low + 1, high) if i not in self.states]
        if not untried:
            return None
        middle = (low + high) / 2
        index = min(untried, key=lambda i: (abs(i - middle), i))
        reference = low if index - low <= high - index else high
        return index, reference

    def narrowed(self) -> int | None:
        """The culprit's index when narrowed to one commit."""
        low, high = self.bounds()
        return high if high - low == 1 else None

    def candidates(self) -> tuple[int, int]:
        """The first and last index that may hold the culprit."""
        low, high = self.bounds()
        return low + 1, high
