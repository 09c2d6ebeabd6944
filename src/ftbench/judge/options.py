"""How to judge: thresholds, significance level, baseline choice (defaults in
``docs/regression.md``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ftbench.errors import UsageError

if TYPE_CHECKING:  # the command line reads the defaults here: nothing heavy at start-up
    from ftbench.report.verdict import Acceptance

#: A slowdown must be estimated above this many percent to count as a regression. 10% is well
#: above the run-to-run noise of a quiet CI runner (CV 3-5%) and small enough to catch a real
#: slowdown a reviewer would care about.
DEFAULT_REGRESS_PCT = 10.0
#: The threshold of an A/B run (``--against``): both sides measured pair by pair on the same
#: machine resolve changes a few percent wide (benchmarks/noisy_verdicts.py), so 5% is caught.
DEFAULT_AB_REGRESS_PCT = 5.0
#: Family-wise significance level of one job (split across the judged phases). 0.005 rather
#: than 0.01: at the default sample counts unchanged runs are flagged at most ~0.5% of the time
#: with i.i.d. noise and stay under 1% with 2% run-to-run drift, while a 20% slowdown at 5%
#: noise is still always caught (benchmarks/verdicts.py, docs/regression.md).
DEFAULT_ALPHA = 0.005
#: How many earlier reports make the baseline (their samples are pooled).
#: Ten, not five: the judge estimates the spread *between* runs from these reports, and the
#: t quantile it needs falls from 5.6 (4 degrees of freedom) to 3.7 (9) at the default alpha.
DEFAULT_BASELINE_COUNT = 10
#: ``bisect --budget-min`` and ``run --bisect-budget-min``: minutes a bisection may take
DEFAULT_BUDGET_MIN = 30.0
FAIL_ON_CHOICES = ("warm", "cold", "any", "never")
CONFIRM_CHOICES = ("auto", "never")
#: ``any`` (default): wall and CPU time both gate; or one metric alone (``judge/metrics.py``)
METRIC_CHOICES = ("any", "wall", "cpu", "rss")
#: what ``--metric auto`` (ftbench 0.3's default) means now
METRIC_ALIASES = {"auto": "any"}


@dataclass(frozen=True)
class Calibration:
    """Thresholds measured by ``ft-bench calibrate`` for this machine class and target."""

    archive_pct: float
    against_pct: float
    source: str  # ``calibration of 2026-11-26 (8 rounds)``


@dataclass(frozen=True)
class JudgeOptions:
    """How to judge.

    ``baseline``: ``"auto"`` (recent reports of the base or same branch), ``"latest"`` (the most
    recent matching report of any branch), ``"none"`` (do not judge), or a report file path or
    an archive key.
    """

    #: None: the method's default, or a stored calibration's
    regress_pct: float | None = None
    alpha: float = DEFAULT_ALPHA
    baseline: str = "auto"
    baseline_branch: str | None = None
    baseline_count: int = DEFAULT_BASELINE_COUNT
    fail_on: str = "any"
    allow_incomparable: bool = False
    metric: str = "any"
    calibration: Calibration | None = None
    #: archive judge: confirm a suspected change with an A/B run against the baseline's
    #: commit (``auto``) or not (``never``); the pipeline runs it
    confirm: str = "auto"
    #: intended slowdowns in force (``judge/accept.py``): ``--accept`` and commit trailers
    accept: tuple[Acceptance, ...] = ()

    def threshold(self, *, paired: bool) -> tuple[float, str]:
        """The regression threshold in percent and where it came from."""
        if self.regress_pct is not None:
            return self.regress_pct, "--regress-pct"
        if self.calibration is not None:
            cal = self.calibration
            return (cal.against_pct if paired else cal.archive_pct), cal.source
        return (DEFAULT_AB_REGRESS_PCT if paired else DEFAULT_REGRESS_PCT), "default"

    def __post_init__(self) -> None:
        object.__setattr__(self, "metric", METRIC_ALIASES.get(self.metric, self.metric))
        if self.metric not in METRIC_CHOICES:
            raise UsageError(
                f"--metric must be one of {', '.join(METRIC_CHOICES)}, not {self.metric!r}"
            )
        if self.regress_pct is not None and not (
            math.isfinite(self.regress_pct) and self.regress_pct >= 0
        ):
            raise UsageError(f"--regress-pct must be a number >= 0, not {self.regress_pct}")
        if not (0 < self.alpha < 1):
            raise UsageError(f"--alpha must be between 0 and 1 (exclusive), not {self.alpha}")
        if self.baseline_count < 1:
            raise UsageError(f"--baseline-count must be at least 1, not {self.baseline_count}")
        if self.fail_on not in FAIL_ON_CHOICES:
            raise UsageError(
                f"--fail-on must be one of {', '.join(FAIL_ON_CHOICES)}, not {self.fail_on!r}"
            )
        if self.confirm not in CONFIRM_CHOICES:
            raise UsageError(
                f"--confirm must be one of {', '.join(CONFIRM_CHOICES)}, not {self.confirm!r}"
            )
        if not self.baseline:
            raise UsageError("--baseline must not be empty (use 'none' to skip the judge)")
