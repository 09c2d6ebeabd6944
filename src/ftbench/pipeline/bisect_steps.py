"""The measuring of a bisection: the worktrees of its commits and one step of pairs.

:class:`Trees` checks each commit out once into a temporary worktree (``measure/worktree.py``:
locked with this process, removed whatever ends the bisection), runs the tier's ``setup``
there and checks its programs; a commit where that fails is skipped. :func:`measure_step`
measures a commit against a reference, interleaved pair by pair (``measure/ab.py``), looking
at the position after each batch of pairs (``judge/bisect.py``) until it is decided, the cap
is reached or the budget's deadline passed. :func:`measure_ab` is a full A/B run of two
commits judged by the A/B rule (``judge/ab.py``): BAD against GOOD, the culprit against its
parent.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ftbench.errors import FtbenchError, SetupError
from ftbench.judge import bisect as rule
from ftbench.judge.ab import judge_against
from ftbench.measure import tools
from ftbench.measure.ab import PairPlan, run_pairs
from ftbench.measure.runner import RunSettings, Sample
from ftbench.measure.worktree import BaseRef, checkout
from ftbench.pipeline.ab import measure_trees, setup_tree
from ftbench.pipeline.request import RunRequest, make_runner
from ftbench.report.bisect import Decision
from ftbench.report.model import Report, Runs, Verdict
from ftbench.report.model import Sample as ReportSample

#: worktrees kept checked out at once (the least recently used beyond are removed)
KEEP_TREES = 4
#: a step looks at its first batch of pairs, then at twice and four times as many
STEP_LOOKS = (1, 2, 4)


class Trees:
    """The worktrees of a bisection's commits, each checked out and set up once."""

    def __init__(self, request: RunRequest) -> None:
        self.request = request
        self._open: OrderedDict[str, tuple[contextlib.ExitStack, Path]] = OrderedDict()
        self._failed: dict[str, str] = {}

    def __enter__(self) -> Trees:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, sha: str, keep: Sequence[str] = ()) -> Path:
        """``sha``'s worktree, set up; a :class:`SetupError` when it cannot be (again, without
        trying twice)."""
        if sha in self._failed:
            raise SetupError(self._failed[sha])
        if sha in self._open:
            self._open.move_to_end(sha)
            return self._open[sha][1]
        spare = [s for s in self._open if s not in keep]
        for old in spare[: max(0, len(self._open) - KEEP_TREES + 1)]:
            self._open.pop(old)[0].close()
        stack = contextlib.ExitStack()
        request = self.request
        try:
            tree = stack.enter_context(checkout(request.root, sha))
            setup_tree(request, tree)
            tools.check_commands(request.target, request.settings.mode, tree)
        except SetupError as exc:
            stack.close()
            self._failed[sha] = str(exc)
            raise
        except BaseException:
            stack.close()
            raise
        self._open[sha] = (stack, tree)
        return tree

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1][0].close()


def only(settings: RunSettings, phase: str) -> RunSettings:
    """``settings`` measuring ``phase`` alone."""
    return replace(settings, skip_cold=phase != "cold", skip_warm=phase != "warm")


def step_plan(settings: RunSettings, phase: str) -> PairPlan:
    """The looks of a step: a normal run's samples of the phase (at least
    :data:`rule.MIN_PAIRS`), then twice and four times as many pairs."""
    first = max(rule.MIN_PAIRS, settings.cold_runs if phase == "cold" else settings.warm_runs)
    looks = [first * k for k in STEP_LOOKS]
    return PairPlan(looks[0], looks[1], looks[2])


@dataclass(frozen=True)
class Measured:
    """What one step measured and decided."""

    found: rule.Position | None
    decision: Decision
    reason: str
    samples: int
    elapsed_s: float
    #: a signal that ended the step (the bisection stops), else None
    stopped: FtbenchError | None = None


def measure_step(
    request: RunRequest,
    trees: Trees,
    commit: str,
    reference: str,
    change: rule.Change,
    *,
    reference_bad: bool,
    deadline: float | None,
    logs: Path,
) -> Measured:
    """``commit`` against ``reference``, the bisected phase alone, until the position is
    decided; a commit that cannot be set up or whose command fails is skipped."""
    started = time.monotonic()
    settings = only(request.settings, change.phase)
    sub = replace(request, settings=settings)

    def where(cur: Sequence[Sample], bas: Sequence[Sample]) -> rule.Position | None:
        return rule.position(cur, bas, change, reference_bad=reference_bad)

    try:
        mine = make_runner(sub, trees.get(commit, keep=(reference,)), logs)
        base = make_runner(sub, trees.get(reference, keep=(commit,)), logs / "base")
    except SetupError as exc:
        return Measured(None, "skipped", str(exc), 0, time.monotonic() - started)

    def decide(phase: str, cur: list[Sample], bas: list[Sample], looks: int) -> bool:
        return rule.decide(where(cur, bas), last=False) in ("like good", "like bad")

    plans = {change.phase: step_plan(settings, change.phase)}
    result = run_pairs(mine, base, decide, plans, deadline)
    cur, bas = (
        side.phases[change.phase].samples if change.phase in side.phases else []
        for side in (result.current, result.base)
    )
    samples = len(cur) + len(bas) + (2 * settings.warmup if change.phase == "warm" else 0)
    elapsed = time.monotonic() - started
    error = result.current.error
    found = where(cur, bas)
    if error is not None:
        stopped = error if error.exit_code > 128 else None
        why = _side(error, reference).replace(f"{request.root}/", "")  # logs: as in the repo
        return Measured(found, "skipped", why, samples, elapsed, stopped)
    decision = rule.decide(found, last=True)
    reason = rule.why(found, decision)
    how = result.stopped.get(change.phase)
    if how and decision in ("unclear", "partial"):
        reason += f"; {how}"
    return Measured(found, decision, reason, samples, elapsed)


def _side(error: FtbenchError, reference: str) -> str:
    """A failure as the step shows it: the commit's own, or its reference's."""
    text = str(error)
    if text.startswith("base side: "):
        return f"the reference {reference[:12]} failed: " + text.removeprefix("base side: ")
    return text.removeprefix("current side: ")


@dataclass(frozen=True)
class ABRun:
    """A full A/B run of two commits: its report and the A/B verdict."""

    report: Report
    verdict: Verdict
    samples: int
    elapsed_s: float
    error: FtbenchError | None


def measure_ab(
    request: RunRequest,
    trees: Trees,
    commit: str,
    reference: str,
    *,
    deadline: float | None,
    logs: Path,
) -> ABRun:
    """``commit`` against ``reference`` as ``ft-bench run --against`` measures and judges
    them (the request's phases and settings, adaptive pairs, the A/B rule)."""
    started = time.monotonic()
    current = trees.get(commit, keep=(reference,))
    base = trees.get(reference, keep=(commit,))
    ref = BaseRef(reference, reference, f"commit {reference[:12]}")
    measured, report, looks = measure_trees(
        request, ref, base, current=current, deadline=deadline, logs=logs
    )
    verdict = judge_against(report, request.judge, looks=looks)
    assert report.against is not None
    samples = _count(report.runs) + _count(report.against.runs)
    if report.runs.warm is not None:
        samples += 2 * request.settings.warmup
    return ABRun(report, verdict, samples, time.monotonic() - started, measured.error)


def _count(runs: Runs) -> int:
    return sum(len(p.samples) for _, p in runs.items())


def phase_samples(
    report: Report, phase: str
) -> tuple[Sequence[ReportSample], Sequence[ReportSample]]:
    """Both sides' samples of ``phase`` of an A/B report."""
    mine = report.runs.get(phase)
    theirs = report.against.runs.get(phase) if report.against is not None else None
    return (mine.samples if mine else ()), (theirs.samples if theirs else ())
