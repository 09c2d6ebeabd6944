"""``ft-bench bisect GOOD BAD`` and ``ft-bench run --against REF --bisect``: the commit that
made it slower, measured with interleaved A/B steps inside a budget (``docs/bisect.md``).

1. BAD against GOOD, a full A/B run (or, with ``--bisect``, the run's own A/B): no regression,
   no bisection; else the phase and metric that regressed are bisected (``judge/bisect.py``).
2. Along the first-parent path each step measures a commit against the nearest decided one
   (:func:`.bisect_steps.measure_step`) and the search narrows (:class:`judge.bisect.Search`);
   failing commits are skipped. A step is started only when the budget still covers it and
   the culprit's confirmation.
3. A merge found as the culprit is bisected into: its merged branch's first-parent commits,
   from their fork point (like GOOD: an ancestor of a commit like GOOD) to the merge (like
   BAD).
4. The culprit is confirmed against its parent with a full A/B run of the bisected phase,
   judged on the bisected metric.

Every worktree is removed whatever ends the bisection; after a signal what was measured is
returned with the error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ftbench.errors import FtbenchError, SetupError, UsageError
from ftbench.judge import bisect as rule
from ftbench.measure import history
from ftbench.measure.history import Commit
from ftbench.pipeline import bisect_steps as steps
from ftbench.pipeline.bisect_answer import FIRST_PARENT, Answer
from ftbench.pipeline.request import RunRequest, artifacts
from ftbench.report.bisect import Bisection, BisectStep
from ftbench.report.model import Report, Verdict
from ftbench.signals import interrupted_error


@dataclass(frozen=True)
class Known:
    """BAD against GOOD already measured and judged (``run --against REF --bisect``)."""

    verdict: Verdict
    report: Report
    elapsed_s: float
    how: str


@dataclass(frozen=True)
class BisectRequest:
    run: RunRequest
    good: str
    bad: str
    budget_s: float
    known: Known | None = None
    notes: tuple[str, ...] = ()
    #: called with each step once it is measured (progress lines)
    on_step: Callable[[BisectStep], None] | None = None


class _Stop(Exception):
    """A step ended with a signal, or GOOD or BAD could not be measured."""

    def __init__(self, error: FtbenchError) -> None:
        super().__init__(str(error))
        self.error = error


def endpoints(root: Path, good_rev: str, bad_rev: str) -> tuple[Commit, Commit, list[str]]:
    """GOOD and BAD resolved; GOOD replaced by the merge-base when it is not an ancestor of
    BAD (with a note). Usage and setup errors name what is wrong."""
    good = history.commit(root, good_rev, "GOOD")
    bad = history.commit(root, bad_rev, "BAD")
    if good.sha == bad.sha:
        raise UsageError("GOOD and BAD are the same commit: nothing to bisect")
    if history.is_ancestor(root, good.sha, bad.sha):
        return good, bad, []
    base = history.merge_base(root, good.sha, bad.sha)
    if base is None:
        hint = "; in a shallow clone: git fetch --unshallow" if history.shallow(root) else ""
        raise SetupError(f"GOOD {good.short} and BAD {bad.short} share no history here{hint}")
    if base == bad.sha:
        raise UsageError(
            f"BAD {bad.short} is an ancestor of GOOD {good.short}: nothing to bisect "
            "(give GOOD first, then BAD)"
        )
    note = (
        f"GOOD {good.short} is not an ancestor of BAD: bisecting from their merge-base "
        f"{base[:12]} (the ancestors of a commit like GOOD are taken as like GOOD)"
    )
    return history.commit(root, base, "GOOD"), bad, [note]


def bisect(request: BisectRequest) -> tuple[Bisection, FtbenchError | None]:
    """The bisection's answer, and the error that stopped it (a signal; GOOD or BAD could not
    be measured), if any. Usage and setup errors found before measuring are raised."""
    started = time.monotonic()
    good, bad, found = endpoints(request.run.root, request.good, request.bad)
    notes = [*request.notes, *found]
    path = history.first_parent_path(request.run.root, bad.sha, [good.sha])
    answer = Answer(request.run, good, bad, request.budget_s, len(path), notes, request.on_step)
    with steps.Trees(request.run) as trees:
        bisector = _Bisector(request, answer, trees, started)
        try:
            return bisector.run(good, path), None
        except _Stop as stop:
            return answer.stopped(stop.error, time.monotonic() - started), stop.error
        except KeyboardInterrupt as exc:
            error = interrupted_error(exc)
            return answer.stopped(error, time.monotonic() - started), error


class _Bisector:
    def __init__(
        self, request: BisectRequest, answer: Answer, trees: steps.Trees, started: float
    ) -> None:
        self.request = request
        self.run_request = request.run
        self.answer = answer
        self.trees = trees
        self.started = started
        self.deadline = started + request.budget_s
        self.logs = artifacts(request.run) / "bisect"

    @property
    def change(self) -> rule.Change:
        assert self.answer.change is not None
        return self.answer.change

    def _used(self) -> float:
        return time.monotonic() - self.started

    def _folder(self) -> Path:
        """The logs of the next step."""
        return self.logs / f"{len(self.answer.steps) + 1:02d}"

    def _phase_only(self) -> RunRequest:
        """The request measuring the bisected phase alone, judged on the bisected metric alone
        (the A/B run's adaptive stop then waits for that metric's answer)."""
        settings = steps.only(self.run_request.settings, self.change.phase)
        judge = replace(self.run_request.judge, metric=self.change.metric)
        return replace(self.run_request, settings=settings, judge=judge)

    def _affordable(self) -> bool:
        """Whether a step's first look and then a culprit's confirmation fit in the budget
        (at the seconds per sample measured so far)."""
        settings = self._phase_only().settings
        first = steps.step_plan(settings, self.change.phase).first
        warmup = settings.warmup if self.change.phase == "warm" else 0
        spent, samples = self.answer.spent()
        needed = 2 * (2 * first + 2 * warmup) * (spent / samples if samples else 0.0)
        return time.monotonic() + needed <= self.deadline

    # --- the bisection ------------------------------------------------------------------

    def run(self, good: Commit, path: list[Commit]) -> Bisection:
        verdict = self._confirm(good, path[-1])
        if self.answer.change is None:
            return self.answer.no_slowdown(verdict, self._used())
        commits = [good, *path]
        search = self._search(commits, FIRST_PARENT, {})
        label = FIRST_PARENT
        culprit_at = search.narrowed()
        while culprit_at is not None and len(commits[culprit_at].parents) >= 2:
            merge = commits[culprit_at]
            branch = self._merged(merge)
            if branch is None:
                break
            inner_label = f"merged by {merge.short}"
            inner = self._search(branch, inner_label, {len(branch) - 1: "bad"})
            found = inner.narrowed()
            if found == len(branch) - 1:
                self.answer.note(
                    f"every commit merged by {merge.short} is like GOOD: the slowdown came "
                    "with the merge itself (the branches' changes together)"
                )
                break
            commits, search, culprit_at, label = branch, inner, found, inner_label
        if culprit_at is None:
            first, last = search.candidates()
            return self.answer.range(commits, first, last, self._used())
        parent = commits[search.bounds()[0]]
        return self._culprit(commits[culprit_at], parent, label)

    def _confirm(self, good: Commit, bad: Commit) -> Verdict:
        """BAD against GOOD judged A/B (the change to bisect, if any, is recorded)."""
        known = self.request.known
        if known is not None:
            change = rule.regressed(known.verdict)
            samples = sum(len(p.samples) for _, p in known.report.runs.items())
            if known.report.against is not None:
                samples += sum(len(p.samples) for _, p in known.report.against.runs.items())
            self.answer.confirm_step(
                known.verdict,
                change,
                elapsed_s=known.elapsed_s,
                samples=samples,
                reused=known.how,
            )
            return known.verdict
        try:
            ab = steps.measure_ab(
                self.run_request,
                self.trees,
                bad.sha,
                good.sha,
                deadline=self.deadline,
                logs=self._folder(),
            )
        except SetupError as exc:
            raise _Stop(SetupError(f"BAD against GOOD cannot be measured: {exc}")) from None
        change = rule.regressed(ab.verdict) if ab.error is None else None
        self.answer.confirm_step(
            ab.verdict, change, elapsed_s=ab.elapsed_s, samples=ab.samples, error=ab.error
        )
        if ab.error is not None:
            raise _Stop(ab.error)
        return ab.verdict

    def _merged(self, merge: Commit) -> list[Commit] | None:
        """The fork point (like GOOD), the merged branch's first-parent commits and the
        merge (like BAD); None when the merge brought no commit of its own branch."""
        root = self.run_request.root
        known = [merge.parents[0], self.answer.good.sha]  # GOOD may be on the merged branch
        branch = history.first_parent_path(root, merge.parents[1], known)
        if not branch or not branch[0].parents:
            return None
        fork = history.commit(root, branch[0].parents[0], "fork point")
        others = len(merge.parents) - 2
        more = f" (its {others} other merged branches are not)" if others else ""
        self.answer.note(
            f"the first-parent path's culprit is the merge {merge.short}: bisecting the "
            f"{len(branch)} commits it merged{more}, from their fork point {fork.short} "
            "(taken as like GOOD)"
        )
        return [fork, *branch, merge]

    def _search(self, commits: list[Commit], label: str, states: dict[int, str]) -> rule.Search:
        """Steps along ``commits`` (the first like GOOD, the last like BAD) until narrowed,
        out of candidates or out of budget."""
        search = rule.Search(len(commits) - 1, dict(states))
        while (nxt := search.next()) is not None:
            if not self._affordable():
                self.answer.out_of_budget()
                break
            index, ref = nxt
            reference_bad = search.states[ref] == "bad"
            measured = steps.measure_step(
                self.run_request,
                self.trees,
                commits[index].sha,
                commits[ref].sha,
                self.change,
                reference_bad=reference_bad,
                deadline=self.deadline,
                logs=self._folder(),
            )
            self.answer.step(commits[index], commits[ref], reference_bad, label, measured)
            if measured.stopped is not None:
                raise _Stop(measured.stopped)
            search.record(index, measured.decision)
        return search

    def _culprit(self, culprit: Commit, parent: Commit, label: str) -> Bisection:
        """The culprit confirmed (or not) against its parent, a full A/B run."""
        confirm = self.answer.steps[0]
        if confirm.commit == culprit.sha and confirm.reference == parent.sha:
            return self.answer.found(culprit, confirm, self._used())
        if time.monotonic() >= self.deadline:
            self.answer.out_of_budget()
            return self.answer.range([culprit], 0, 0, self._used())
        try:
            ab = steps.measure_ab(
                self._phase_only(),
                self.trees,
                culprit.sha,
                parent.sha,
                deadline=self.deadline,
                logs=self._folder(),
            )
        except SetupError as exc:
            self.answer.note(f"{culprit.short} could not be measured against its parent: {exc}")
            return self.answer.range([culprit], 0, 0, self._used())
        cur, bas = steps.phase_samples(ab.report, self.change.phase)
        found = rule.position(cur, bas, self.change, reference_bad=False)
        step = self.answer.culprit_step(culprit, parent, ab, found, label)
        if ab.error is not None and ab.error.exit_code > 128:
            raise _Stop(ab.error)
        if step.decision == "confirmed":
            if found is not None and found.estimate < rule.MIDDLE:
                self.answer.note(
                    f"{culprit.short} brought part of the change ({step.pct_change}% of "
                    f"{self.change.pct:g}%): other commits contributed"
                )
            return self.answer.found(culprit, step, self._used())
        return self.answer.not_confirmed(culprit, step, self._used())


def bisected(
    request: RunRequest, report: Report, verdict: Verdict | None, elapsed_s: float
) -> tuple[Verdict | None, FtbenchError | None]:
    """``run --against REF --bisect``: when the A/B verdict is a regression and ``REF..HEAD``
    holds more than one commit, the verdict naming the commit the slowdown came with (its
    ``bisect`` block, its summary); and the error that stopped the bisection, if any."""
    against = report.against
    budget = request.bisect_budget_s
    if verdict is None or against is None or budget is None or verdict.verdict != "regression":
        return verdict, None
    if history.count(request.root, against.commit) < 2:
        return verdict, None
    known, notes = None, ["the working tree has uncommitted changes: HEAD is measured anew"]
    if report.git.dirty is False and report.git.commit is not None:
        how = "this run's own A/B of the working tree against REF"
        known, notes = Known(verdict, report, elapsed_s, how), []
    try:
        asked = BisectRequest(request, against.commit, "HEAD", budget, known, tuple(notes))
        found, error = bisect(asked)
    except FtbenchError as exc:  # e.g. a shallow clone: the A/B verdict stands, said
        return replace(verdict, notes=(*verdict.notes, f"--bisect: {exc}")), None
    except KeyboardInterrupt as exc:  # before any measuring: the verdict stands
        return verdict, interrupted_error(exc)
    if known is None and found.status == "no slowdown":
        found = replace(
            found, summary=f"{found.summary}: the slowdown is in the uncommitted changes"
        )
    summary = f"{verdict.summary}; {found.summary}" if verdict.summary else found.summary
    return replace(verdict, summary=summary, bisect=found), error
