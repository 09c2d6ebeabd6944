"""How to judge: thresholds, significance level, baseline choice (defaults in
``docs/regression.md``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ftbench.errors import UsageError

#: A slowdown must be estimated above this many percent to count as a regression. 10% is well
#: above the run-to-run noise of a quiet CI runner (CV 3-5%) and small enough to catch a real
#: slowdown a reviewer would care about.
DEFAULT_REGRESS_PCT = 10.0
#: Family-wise significance level of one job (split across the judged phases). 0.005 rather
#: than 0.01: at the default sample counts unchanged runs are flagged at most ~0.5% of the time
#: with i.i.d. noise and stay under 1% with 2% run-to-run drift, while a 20% slowdown at 5%
#: noise is still always caught (benchmarks/verdicts.py, docs/regression.md).
DEFAULT_ALPHA = 0.005
#: How many earlier reports make the baseline (their samples are pooled).
DEFAULT_BASELINE_COUNT = 5
FAIL_ON_CHOICES = ("warm", "cold", "any", "never")


@dataclass(frozen=True)
class JudgeOptions:
    """How to judge.

    ``baseline``: ``"auto"`` (recent reports of the base or same branch), ``"latest"`` (the most
    recent matching report of any branch), ``"none"`` (do not judge), or a report file path or
    an archive key.
    """

    regress_pct: float = DEFAULT_REGRESS_PCT
    alpha: float = DEFAULT_ALPHA
    baseline: str = "auto"
    baseline_branch: str | None = None
    baseline_count: int = DEFAULT_BASELINE_COUNT
    fail_on: str = "any"
    allow_incomparable: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.regress_pct) and self.regress_pct >= 0):
            raise UsageError(f"--regress-pct must be a number >= 0, not {self.regress_pct}")
        if not (0 < self.alpha < 1):
            raise UsageError(f"--alpha must be between 0 and 1 (exclusive), not {self.alpha}")
        if self.baseline_count < 1:
            raise UsageError(f"--baseline-count must be at least 1, not {self.baseline_count}")
        if self.fail_on not in FAIL_ON_CHOICES:
            raise UsageError(
                f"--fail-on must be one of {', '.join(FAIL_ON_CHOICES)}, not {self.fail_on!r}"
            )
        if not self.baseline:
            raise UsageError("--baseline must not be empty (use 'none' to skip the judge)")
