"""Intended slowdowns: a commit (or ``--accept``) declares that a tier may get slower.

A commit message trailer ``Ftbench-Accept: TIER [PHASE] [METRIC] +PCT%[: why]`` (``TIER`` a
tier name or ``*``; ``PHASE`` ``warm``, ``cold`` or ``any``; ``METRIC`` ``wall``, ``cpu``,
``rss`` or ``any``; both default ``any``), e.g. ``Ftbench-Accept: pro warm +15%: new type
checks``. The pipeline collects them from the commits being judged (``base..HEAD``: the A/B
ref, or the newest baseline run's commit); ``--accept SPEC`` adds one for a single run.

A gated metric that regressed in a matching phase (or got slower beyond the threshold without
a decision) is judged once more against the baseline made slower by the accepted amount: when
that shows no slowdown beyond it, the metric's verdict is **accepted** (exit 0, recorded in the
report, and the report starts a new level for later runs: ``judge/window.py``); a slowdown
significantly beyond the accepted amount is still a regression.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from ftbench.errors import UsageError
from ftbench.report.verdict import Acceptance, MetricVerdict

TRAILER = "Ftbench-Accept"
_SPEC = re.compile(
    r"^\s*(?P<tier>[A-Za-z0-9_.*-]+)"
    r"(?:\s+(?P<phase>warm|cold|any))?"
    r"(?:\s+(?P<metric>wall|cpu|rss|any))?"
    r"\s+\+(?P<pct>\d+(?:\.\d+)?)\s*%"
    r"(?:\s*:\s*(?P<reason>.*?))?\s*$"
)
_TRAILER_LINE = re.compile(rf"^{TRAILER}\s*:\s*(?P<spec>.+)$", re.IGNORECASE | re.MULTILINE)
#: a reason is kept to this many characters (it lands in the PR comment, escaped)
REASON_MAX = 200


def parse(spec: str, commit: str | None = None) -> Acceptance:
    """One acceptance; a :class:`~ftbench.errors.UsageError` naming the expected form."""
    found = _SPEC.match(spec)
    if found is None or float(found["pct"]) <= 0:
        raise UsageError(
            f"cannot read the acceptance {spec[:80]!r}: expected "
            "'TIER [warm|cold|any] [wall|cpu|rss|any] +PCT%: why', e.g. 'pro warm +15%: new checks'"
        )
    return Acceptance(
        spec=" ".join(spec.split())[:300],
        commit=commit,
        tier=found["tier"],
        phase=found["phase"] or "any",
        metric=found["metric"] or "any",
        pct=float(found["pct"]),
        reason=" ".join((found["reason"] or "").split())[:REASON_MAX],
    )


def from_messages(commits: Iterable[tuple[str, str]]) -> tuple[list[Acceptance], list[str]]:
    """The acceptances in ``(sha, message)`` pairs, and a note for each unreadable trailer
    (a bad trailer never fails the run: it is ignored and said)."""
    found: list[Acceptance] = []
    notes: list[str] = []
    for sha, message in commits:
        for line in _TRAILER_LINE.finditer(message):
            try:
                found.append(parse(line["spec"], sha))
            except UsageError as exc:
                notes.append(f"commit {sha[:12]}: {exc} (ignored)")
    return found, notes


def matching(
    acceptances: Sequence[Acceptance], tier: str, phase: str, metric: str
) -> Acceptance | None:
    """The most generous acceptance that covers ``metric`` of ``phase`` of ``tier``."""
    fits = [
        a
        for a in acceptances
        if a.tier in ("*", tier) and a.phase in ("any", phase) and a.metric in ("any", metric)
    ]
    return max(fits, key=lambda a: a.pct, default=None)


def apply(
    made: MetricVerdict,
    acceptance: Acceptance | None,
    rejudge: Callable[[float], MetricVerdict],
) -> tuple[MetricVerdict, bool]:
    """``made`` with ``acceptance`` applied, and whether it applied. A regression, or a
    slowdown beyond the threshold that could not be decided, is judged again against the
    baseline made slower by the accepted amount (``rejudge(factor)``: the current values
    divided by ``factor``): still a regression, or still undecided beyond it, stays so; else
    it is **accepted**."""
    slower = made.verdict == "inconclusive" and (made.pct_change or 0.0) > 0
    if acceptance is None or not (made.verdict == "regression" or slower):
        return made, False
    again = rejudge(1 + acceptance.pct / 100)
    what = f"the accepted +{acceptance.pct:g}% ({acceptance.spec})"
    if again.verdict == "regression" or (
        again.verdict == "inconclusive" and (again.pct_change or 0.0) > 0
    ):
        return replace(made, reason=f"{made.reason}; beyond {what}"), True
    return replace(made, verdict="accepted", reason=f"{made.reason}; within {what}"), True
