"""Archive suspicions confirmed by A/B: what the archive judge suspects, and the verdict once an
interleaved A/B run against the baseline's commit has decided.

The archive judge compares runs measured at different times, so it can suspect a change it
cannot decide (a change beyond the threshold, not significant against the spread between runs)
or call one that the moment explains. When the baseline runs' commit is in the repository, the
pipeline measures this tree against it, interleaved (``--confirm auto``, the default), and the
A/B verdict decides: it compares the two trees at the same moments, so the machine's drift
cancels. It answers the archive's question: only the suspected phases and metrics, at the
archive's threshold. The archive's own judgement stays in the report beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ftbench.errors import EXIT_OK
from ftbench.judge.options import JudgeOptions
from ftbench.judge.summary import pct, summary_line
from ftbench.report.model import Confirmation, Verdict

#: what makes a phase suspect (a gated metric's verdict; ``inconclusive`` only when slower)
SUSPECT = ("regression", "accepted", "inconclusive")
#: an undecided slowdown is suspected when its one-sided p-value is below this: some
#: evidence, if not enough to decide (a change well within the spread between runs is not
#: worth an A/B run: on a busy machine most runs have one)
SUSPECT_P = 0.05


@dataclass(frozen=True)
class Suspicion:
    """What the archive judge suspects: per phase, the gated metrics and what it saw."""

    seen: dict[str, dict[str, float]]

    def __bool__(self) -> bool:
        return bool(self.seen)

    @property
    def phases(self) -> tuple[str, ...]:
        return tuple(self.seen)

    @property
    def metric(self) -> str:
        """The ``--metric`` choice that gates on the suspected metrics (and no others)."""
        metrics = {m for seen in self.seen.values() for m in seen}
        return metrics.pop() if len(metrics) == 1 else "any"

    def text(self) -> str:
        """``warm +14% wall; cold +12% cpu``."""
        return "; ".join(
            f"{phase} " + ", ".join(f"{pct(change)} {m}" for m, change in seen.items())
            for phase, seen in self.seen.items()
        )


def suspicion(verdict: Verdict) -> Suspicion:
    """What the archive judge suspects: a gated metric that regressed (accepted or not), or
    changed beyond the threshold towards slower without being decided but with some evidence
    (p below :data:`SUSPECT_P`)."""
    out: dict[str, dict[str, float]] = {}
    for name, phase in verdict.phases.items():
        for metric in phase.gates or (phase.metric,):
            made = (phase.metrics or {}).get(metric)
            if made is None or made.verdict not in SUSPECT or made.pct_change is None:
                continue
            if made.verdict == "inconclusive" and (
                made.pct_change <= verdict.threshold_pct
                or made.p_value is None
                or made.p_value >= SUSPECT_P
            ):
                continue
            out.setdefault(name, {})[metric] = made.pct_change
    return Suspicion(out)


def confirming_options(options: JudgeOptions, suspected: Suspicion) -> JudgeOptions:
    """How the A/B run judges: the archive's question (the suspected metrics, the archive's
    threshold), at the A/B rule's statistics."""
    threshold, _ = options.threshold(paired=False)
    return replace(options, metric=suspected.metric, regress_pct=threshold)


def not_confirmed(verdict: Verdict, why: str) -> Verdict:
    """The archive verdict, with a note saying why no A/B run confirmed it."""
    return replace(verdict, notes=(*verdict.notes, f"not confirmed by A/B: {why}"))


def confirmed(archive: Verdict, ab: Verdict, confirmation: Confirmation) -> Verdict:
    """The archive verdict decided by the A/B run: its verdict, exit code and acceptances;
    the archive's phases stay as what was suspected."""
    made = replace(
        archive,
        verdict=ab.verdict,
        exit_code=ab.exit_code if ab.verdict != "not comparable" else EXIT_OK,
        accepted=ab.accepted,
        confirmation=confirmation,
        notes=(*archive.notes, *ab.notes),
    )
    return replace(made, summary=summary_line(made))
