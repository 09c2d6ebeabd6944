"""How the verdicts of the gated metrics make a phase's verdict, and phases the job's.

The worst of what gates wins: a **regression** in any gated metric makes the phase a
regression; else an **inconclusive** one (a change beyond the threshold that could not be
decided) makes it inconclusive; else an **accepted** one (a regression within what a commit
declared intended: ``judge/accept.py``); **improvement** only when nothing gated got worse
(every gated metric improved or stayed within the threshold); else **no change**. The job's
verdict is the worst phase's, in the same order. Metrics that do not gate (peak memory under
``any``) are judged and reported, but never change the verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ftbench.report.verdict import MetricVerdict, VerdictName

#: worst first: the verdict of a phase (and of the job) is the first of these present
SEVERITY: tuple[VerdictName, ...] = (
    "regression",
    "inconclusive",
    "accepted",
    "improvement",
    "no change",
)


def worst(verdicts: Iterable[VerdictName]) -> VerdictName:
    """The worst of ``verdicts`` by :data:`SEVERITY` (``inconclusive`` when there are none)."""
    present = set(verdicts)
    return next((v for v in SEVERITY if v in present), "inconclusive")


def deciding(per: Mapping[str, MetricVerdict], gated: tuple[str, ...]) -> str:
    """The gated metric that decided the phase's verdict, for its figures: among the gated
    metrics with the worst verdict, the one that moved most in the verdict's direction (an
    undecided change: the slower, else the largest); the first gated metric when none was
    judged or nothing changed beyond the threshold."""
    judged = [(name, per[name]) for name in gated if name in per]
    if not judged:
        return gated[0]
    verdict = worst(v.verdict for _, v in judged)
    candidates = [(name, v.pct_change or 0.0) for name, v in judged if v.verdict == verdict]
    if verdict == "no change":
        return candidates[0][0]
    if verdict == "improvement":
        return min(candidates, key=lambda c: c[1])[0]
    if verdict == "inconclusive":
        return max(candidates, key=lambda c: (c[1] > 0, abs(c[1])))[0]
    return max(candidates, key=lambda c: c[1])[0]
