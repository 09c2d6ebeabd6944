"""The bisection's part of the report model: ``ft-bench bisect`` (its ``--json``) and the
``bisect`` block of an A/B verdict (``ft-bench run --against REF --bisect``).

A bisection looks for the first commit on the first-parent path from GOOD to BAD whose
performance is like BAD's (``docs/bisect.md``). Each measured commit is a
:class:`BisectStep`; :class:`Bisection` is the answer: one commit (``culprit``), or the
narrowed ``range`` when skips, an unclear step or the budget left more than one candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ftbench.report.codec import OMIT_NONE, minimum, pattern

#: a full commit id (SHA-1, or SHA-256 repositories)
SHA = pattern(r"[0-9a-f]{40}|[0-9a-f]{64}")

#: ``confirm``: BAD against GOOD (is there a slowdown at all?); ``step``: a commit of the
#: path against the nearest decided one; ``culprit``: the culprit against its parent
StepKind = Literal["confirm", "step", "culprit"]
#: ``slower``/``not slower``: BAD against GOOD; ``like good``/``like bad``: a step decided;
#: ``partial``: the commit sits clearly between GOOD and BAD (the change came in several
#: commits); ``unclear``: no answer within the pairs or the budget (skipped like a failing
#: commit); ``skipped``: the command failed, the tier could not run or the tree could not be
#: set up; ``confirmed``/``not confirmed``: the culprit against its parent
Decision = Literal[
    "slower",
    "not slower",
    "like good",
    "like bad",
    "partial",
    "unclear",
    "skipped",
    "confirmed",
    "not confirmed",
]
#: ``found``: one commit, confirmed against its parent; ``range``: the narrowed range (skips,
#: an unclear or partial step, the budget); ``not confirmed``: narrowed to one commit that did
#: not show the change against its parent; ``no slowdown``: BAD is not slower than GOOD;
#: ``stopped``: GOOD or BAD could not be measured, or a signal ended the bisection
Status = Literal["found", "range", "not confirmed", "no slowdown", "stopped"]


@dataclass(frozen=True, kw_only=True)
class BisectStep:
    """One measured (or skipped) commit."""

    kind: StepKind
    commit: str = field(metadata=SHA)
    #: the commit's subject line (as written: hostile text, escaped where it is shown)
    subject: str
    #: the commit it was measured against, interleaved pair by pair (None: not measured)
    reference: str | None
    #: what the reference is known to be like
    reference_is: Literal["good", "bad"] | None
    #: ``first parent``, or ``merged by <merge commit>`` inside a merged branch
    path: str
    phase: str | None
    metric: str | None
    pairs: int = field(metadata=minimum(0))
    #: the median per-pair change against the reference, percent, and its 95% interval
    pct_change: float | None
    ci95_pct: tuple[float, float] | None
    #: where the commit sits: 0 = like GOOD, 1 = like BAD (median over the pairs), and the
    #: interval the step decided on (``docs/bisect.md``)
    position: float | None
    position_ci: tuple[float, float] | None
    decision: Decision
    #: why: the rule that decided, the failure that skipped it, how sampling stopped
    reason: str
    elapsed_s: float = field(metadata=minimum(0))
    #: samples measured by the step (both sides, warm-up runs included)
    samples: int = field(metadata=minimum(0))


@dataclass(frozen=True, kw_only=True)
class Bisection:
    """The answer of a bisection and every step that led to it."""

    good: str = field(metadata=SHA)
    bad: str = field(metadata=SHA)
    status: Status
    #: the answer in one line (what the verdict's summary quotes)
    summary: str
    #: what was bisected: the phase and metric that regressed from GOOD to BAD
    phase: str | None
    metric: str | None
    #: the GOOD -> BAD change, percent, and its 95% interval
    change_pct: float | None
    change_ci95_pct: tuple[float, float] | None
    #: the first commit like BAD, confirmed against its parent; None otherwise
    culprit: str | None = field(metadata=SHA)
    culprit_subject: str | None
    #: the change the culprit brought against its parent, percent, and its 95% interval
    culprit_pct: float | None
    culprit_ci95_pct: tuple[float, float] | None
    #: the first and last candidate when not narrowed to one confirmed commit
    range: tuple[str, str] | None
    #: how many commits the range holds
    range_commits: int | None
    #: commits skipped (failing, not set up, unclear) on the way
    skipped: tuple[str, ...]
    #: merges bisected into, contradictions (a change that is not monotonic), assumptions
    notes: tuple[str, ...]
    steps: tuple[BisectStep, ...]
    #: the budget (``--budget-min``) and the time used, seconds
    budget_s: float = field(metadata=minimum(0))
    used_s: float = field(metadata=minimum(0))
    #: samples measured in all, and as many normal runs of the same settings
    samples: int = field(metadata=minimum(0))
    normal_runs: float = field(metadata=minimum(0))
    #: the first-parent commits from GOOD (excluded) to BAD (included)
    path_commits: int = field(default=0, metadata=minimum(0))
    #: an A/B run's own GOOD -> BAD measurement was used instead of a new one
    reused: str | None = field(default=None, metadata=OMIT_NONE)
