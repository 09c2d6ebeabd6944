"""The judge's part of the report model: the ``regression`` block (see :mod:`.model`; its format
history is there too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ftbench.report.bisect import Bisection
from ftbench.report.codec import OMIT_NONE, minimum
from ftbench.report.runs import Runs

VerdictName = Literal[
    "regression",
    "improvement",
    "no change",
    "inconclusive",
    "not comparable",
    "no baseline",
    "accepted",
]


@dataclass(frozen=True, kw_only=True)
class SideStats:
    """One side (current or baseline) of a judged phase."""

    n: int
    median: float | None
    failed: int = 0
    timed_out: int = 0


@dataclass(frozen=True, kw_only=True)
class MetricVerdict:
    """One metric of a judged phase (each metric is judged; one decides)."""

    verdict: VerdictName
    current_median: float | None
    baseline_median: float | None
    pct_change: float | None = None
    ci95_pct: tuple[float, float] | None = None
    p_value: float | None = None
    #: the smallest change these samples could have shown as significant, in percent
    noise_floor_pct: float | None = None
    reason: str = ""
    #: the change of the medians shown, when ``pct_change`` was judged relative to the
    #: machine's speed (archive rule, CPU time: ``judge/core.py``); else absent
    raw_pct_change: float | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True, kw_only=True)
class PhaseVerdict:
    verdict: VerdictName
    #: the metric whose figures the phase shows: the gated metric that decided its verdict
    metric: str
    current: SideStats
    baseline: SideStats
    pct_change: float | None = None
    ci95_pct: tuple[float, float] | None = None
    p_value: float | None = None
    #: ``greater`` (tested for slower) or ``less`` (faster)
    alternative: str | None = None
    #: the per-phase significance level actually used
    alpha: float | None = None
    reason: str = ""
    #: the smallest change of the deciding metric these samples could have shown (percent)
    noise_floor_pct: float | None = field(default=None, metadata=OMIT_NONE)
    #: every metric's own verdict (absent in reports of ftbench 0.2 and older)
    metrics: dict[str, MetricVerdict] | None = field(default=None, metadata=OMIT_NONE)
    #: the change of the deciding metric per step (targets with several steps), percent
    steps: dict[str, float] | None = field(default=None, metadata=OMIT_NONE)
    #: the metrics that gated this phase's verdict (absent before 0.4: ``metric`` alone)
    gates: tuple[str, ...] | None = field(default=None, metadata=OMIT_NONE)
    #: how this run's machine differed from its baselines' (archive judge), when it did
    machine: str | None = field(default=None, metadata=OMIT_NONE)
    #: the change of the medians shown, when ``pct_change`` is relative to the machine's speed
    raw_pct_change: float | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True, kw_only=True)
class BaselineInfo:
    keys: tuple[str, ...]
    reports: int
    selection: str
    #: samples pooled per phase
    samples: dict[str, int]
    #: which of the chosen runs were judged against and why (since the last level shift, an
    #: outlier left out); absent when all were
    window: str | None = field(default=None, metadata=OMIT_NONE)
    #: the git commit of the newest baseline run judged against (what a confirmation measures)
    commit: str | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True, kw_only=True)
class Acceptance:
    """A slowdown declared intended (``Ftbench-Accept: TIER [PHASE] [METRIC] +PCT%: why``)."""

    spec: str
    #: the commit whose message holds it; None for ``--accept``
    commit: str | None
    tier: str
    phase: str
    metric: str
    pct: float = field(metadata=minimum(0))
    reason: str


@dataclass(frozen=True, kw_only=True)
class Confirmation:
    """The interleaved A/B run that confirmed (or not) what the archive judge suspected."""

    ref: str
    commit: str
    how: str
    #: why it ran: the archive judge's suspicion, in one line
    suspicion: str
    verdict: VerdictName
    summary: str
    elapsed_s: float = field(metadata=minimum(0))
    #: per phase: why sampling stopped
    stopped: dict[str, str]
    phases: dict[str, PhaseVerdict]
    #: every pair it measured: this tree's samples and the baseline commit's
    current: Runs
    base: Runs


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The judge's verdict: the report's ``regression`` block."""

    verdict: VerdictName
    summary: str
    reason: str
    metric: str
    method: str
    alpha: float
    threshold_pct: float
    fail_on: str
    exit_code: Literal[0, 4]
    baseline: BaselineInfo
    comparable: bool
    differences: tuple[str, ...]
    notes: tuple[str, ...]
    phases: dict[str, PhaseVerdict]
    #: where ``threshold_pct`` came from: ``default``, ``--regress-pct``, ``calibration ...``
    threshold_source: str | None = field(default=None, metadata=OMIT_NONE)
    #: the metrics that gate (``--metric``): ``wall`` and ``cpu`` by default (absent before 0.4)
    gates: tuple[str, ...] | None = field(default=None, metadata=OMIT_NONE)
    #: the intended slowdowns that applied (verdict ``accepted``, or still a regression beyond)
    accepted: tuple[Acceptance, ...] | None = field(default=None, metadata=OMIT_NONE)
    #: archive judge: the A/B run against the baseline's commit that decided the verdict
    confirmation: Confirmation | None = field(default=None, metadata=OMIT_NONE)
    #: A/B judge with ``--bisect``: the commit inside ``REF..HEAD`` the slowdown came with
    bisect: Bisection | None = field(default=None, metadata=OMIT_NONE)
