"""A bisection's record: its steps as the report model has them, its notes, and the answer
(:class:`~ftbench.report.bisect.Bisection`) for each way it can end."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ftbench.errors import FtbenchError
from ftbench.judge import bisect as rule
from ftbench.measure.history import Commit
from ftbench.pipeline.bisect_steps import ABRun, Measured
from ftbench.pipeline.request import RunRequest
from ftbench.report.bisect import Bisection, BisectStep, Decision, Status, StepKind
from ftbench.report.formats import fmt_ci, fmt_pct
from ftbench.report.model import Verdict

FIRST_PARENT = "first parent"


def quoted(commit: Commit) -> str:
    """``1a2b3c4d5e6f 'switch cache backend'`` (the subject as written: escaped where shown)."""
    return f"{commit.short} '{commit.subject}'"


class Answer:
    """Collects the steps and notes of one bisection and makes its answer."""

    def __init__(
        self,
        request: RunRequest,
        good: Commit,
        bad: Commit,
        budget_s: float,
        path_commits: int,
        notes: Sequence[str] = (),
        on_step: Callable[[BisectStep], None] | None = None,
    ) -> None:
        self.request = request
        self.good, self.bad = good, bad
        self.budget_s = budget_s
        self.path_commits = path_commits
        self.notes = list(notes)
        self.on_step = on_step
        self.steps: list[BisectStep] = []
        self.change: rule.Change | None = None
        self.budget_out = False
        self.reused: str | None = None

    # --- what happened ------------------------------------------------------------------

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def out_of_budget(self) -> None:
        self.budget_out = True

    def spent(self) -> tuple[float, int]:
        """Seconds and samples the measured steps took."""
        return (
            sum(s.elapsed_s for s in self.steps if s.samples),
            sum(s.samples for s in self.steps),
        )

    def _add(self, step: BisectStep) -> BisectStep:
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        return step

    def _step(
        self,
        kind: StepKind,
        commit: Commit,
        reference: Commit | None,
        *,
        reference_bad: bool = False,
        path: str = FIRST_PARENT,
        decision: Decision,
        reason: str,
        elapsed_s: float,
        samples: int,
        found: rule.Position | None = None,
        pairs: int | None = None,
        pct: float | None = None,
        ci: tuple[float, float] | None = None,
        shown: rule.Change | None = None,
    ) -> BisectStep:
        change = shown or self.change
        return self._add(
            BisectStep(
                kind=kind,
                commit=commit.sha,
                subject=commit.subject,
                reference=reference.sha if reference is not None else None,
                reference_is=None if reference is None else "bad" if reference_bad else "good",
                path=path,
                phase=change.phase if change else None,
                metric=change.metric if change else None,
                pairs=pairs if pairs is not None else found.pairs if found else 0,
                pct_change=_round(pct if pct is not None else found.pct if found else None),
                ci95_pct=_ci(ci if ci is not None else found.ci95_pct if found else None),
                position=_round(found.estimate) if found else None,
                position_ci=_ci(found.interval) if found else None,
                decision=decision,
                reason=reason,
                elapsed_s=round(max(0.0, elapsed_s), 3),
                samples=samples,
            )
        )

    def confirm_step(
        self,
        verdict: Verdict,
        change: rule.Change | None,
        *,
        elapsed_s: float,
        samples: int,
        error: FtbenchError | None = None,
        reused: str | None = None,
    ) -> None:
        """BAD against GOOD."""
        self.change = change
        self.reused = reused
        shown = change or _largest(verdict)
        phase = verdict.phases.get(shown.phase) if shown else None
        if error is not None:
            reason = f"BAD against GOOD could not be measured: {error}"
        elif change is None:
            reason = f"not a regression: {verdict.summary or verdict.verdict}"
        else:
            reason = f"{change.phase} {change.metric} regressed: {verdict.summary}"
        self._step(
            "confirm",
            self.bad,
            self.good,
            decision="slower" if change is not None else "not slower",
            reason=(f"{reused}; " if reused else "") + reason,
            elapsed_s=elapsed_s,
            samples=samples,
            pairs=phase.current.n if phase else 0,
            pct=shown.pct if shown else None,
            ci=shown.ci95_pct if shown else None,
            shown=shown,
        )

    def step(
        self,
        commit: Commit,
        reference: Commit,
        reference_bad: bool,
        path: str,
        measured: Measured,
    ) -> None:
        """One step of the search."""
        self._step(
            "step",
            commit,
            reference,
            reference_bad=reference_bad,
            path=path,
            decision=measured.decision,
            reason=measured.reason,
            elapsed_s=measured.elapsed_s,
            samples=measured.samples,
            found=measured.found,
        )
        contradiction = rule.beyond(measured.found)
        if contradiction:
            self.note(
                f"the change is not monotonic: {quoted(commit)} is {contradiction}; "
                "another commit took part of the change back, or made it worse"
            )
        if measured.decision == "partial":
            self.note(
                f"{quoted(commit)} sits clearly between GOOD and BAD: the slowdown came in "
                "more than one commit"
            )

    def culprit_step(
        self, culprit: Commit, parent: Commit, ab: ABRun, found: rule.Position | None, path: str
    ) -> BisectStep:
        """The culprit against its parent: confirmed when the A/B rule calls the bisected
        metric a regression."""
        assert self.change is not None
        judged = _metric(ab.verdict, self.change)
        confirmed = ab.error is None and judged is not None and judged[0] == "regression"
        reason = (
            f"A/B against its parent: {ab.verdict.summary}"
            if ab.error is None
            else f"the A/B against its parent stopped: {ab.error}"
        )
        return self._step(
            "culprit",
            culprit,
            parent,
            path=path,
            decision="confirmed" if confirmed else "not confirmed",
            reason=reason,
            elapsed_s=ab.elapsed_s,
            samples=ab.samples,
            found=found,
            pct=judged[1] if judged else None,
            ci=judged[2] if judged else None,
        )

    # --- the answer ---------------------------------------------------------------------

    def _made(
        self,
        status: Status,
        summary: str,
        used_s: float,
        *,
        culprit: Commit | None = None,
        by: BisectStep | None = None,
        span: tuple[Commit, Commit, int] | None = None,
    ) -> Bisection:
        change, confirm = self.change, self.steps[0] if self.steps else None
        spent, samples = self.spent()
        del spent
        settings = self.request.settings
        normal = (0 if settings.skip_cold else settings.cold_runs) + (
            0 if settings.skip_warm else settings.warmup + settings.warm_runs
        )
        skipped = [s.commit for s in self.steps if s.decision in ("skipped", "unclear")]
        return Bisection(
            good=self.good.sha,
            bad=self.bad.sha,
            status=status,
            summary=summary,
            phase=change.phase if change else None,
            metric=change.metric if change else None,
            change_pct=confirm.pct_change if confirm else None,
            change_ci95_pct=confirm.ci95_pct if confirm else None,
            culprit=culprit.sha if culprit else None,
            culprit_subject=culprit.subject if culprit else None,
            culprit_pct=by.pct_change if by else None,
            culprit_ci95_pct=by.ci95_pct if by else None,
            range=(span[0].sha, span[1].sha) if span else None,
            range_commits=span[2] if span else None,
            skipped=tuple(dict.fromkeys(skipped)),
            notes=tuple(self.notes),
            steps=tuple(self.steps),
            budget_s=round(self.budget_s, 3),
            used_s=round(max(0.0, used_s), 3),
            samples=samples,
            normal_runs=round(samples / normal, 2) if normal else 0.0,
            path_commits=self.path_commits,
            reused=self.reused,
        )

    def no_slowdown(self, verdict: Verdict, used_s: float) -> Bisection:
        confirm = self.steps[0]
        change = "" if confirm.pct_change is None else f" ({_figure(confirm)})"
        bad, good = f"BAD {self.bad.short}", f"GOOD {self.good.short}"
        if verdict.verdict == "inconclusive":
            text = (
                f"could not show that {bad} is slower than {good}{change}: nothing bisected "
                "(more pairs, --runs, or a quieter machine may show it)"
            )
        else:
            text = f"{bad} is not slower than {good}{change}: nothing to bisect"
        return self._made("no slowdown", text, used_s)

    def found(self, culprit: Commit, by: BisectStep, used_s: float) -> Bisection:
        against = (
            "its parent"
            if culprit.parents[:1] == (by.reference,)
            else f"GOOD-like {(by.reference or '')[:12]}"
        )
        return self._made(
            "found",
            f"the slowdown came with {quoted(culprit)} ({_figure(by)} against {against})",
            used_s,
            culprit=culprit,
            by=by,
        )

    def not_confirmed(self, culprit: Commit, by: BisectStep, used_s: float) -> Bisection:
        self.note(
            f"{quoted(culprit)} was decided like BAD and its parent like GOOD, yet against "
            "each other they show no regression: the change is not monotonic, or a step "
            "decided wrong"
        )
        return self._made(
            "not confirmed",
            f"narrowed to {quoted(culprit)}, but against its parent it showed no regression "
            f"({_figure(by)}): not named",
            used_s,
            span=(culprit, culprit, 1),
        )

    def range(self, commits: Sequence[Commit], first: int, last: int, used_s: float) -> Bisection:
        """The culprit is one of ``commits[first..last]``."""
        count = last - first + 1
        why = []
        skipped = [c for c in commits[first : last + 1] if c.sha in self._skipped()]
        if skipped:
            why.append(f"{len(skipped)} skipped")
        if any(s.decision == "partial" for s in self.steps):
            why.append("the change came in more than one commit")
        if self.budget_out:
            why.append("the budget ran out")
        if first == last:
            text = f"narrowed to {quoted(commits[first])}, not confirmed against its parent"
        else:
            text = (
                f"the slowdown came between {quoted(commits[first])} and "
                f"{quoted(commits[last])} ({count} commits)"
            )
        return self._made(
            "range",
            text + (f": {', '.join(why)}" if why else ""),
            used_s,
            span=(commits[first], commits[last], count),
        )

    def stopped(self, error: FtbenchError, used_s: float) -> Bisection:
        return self._made("stopped", f"bisection stopped: {error}", used_s)

    def _skipped(self) -> set[str]:
        return {s.commit for s in self.steps if s.decision in ("skipped", "unclear")}


def _metric(
    verdict: Verdict, change: rule.Change
) -> tuple[str, float | None, tuple[float, float] | None] | None:
    """The A/B verdict of the bisected phase and metric: its verdict, change and interval."""
    phase = verdict.phases.get(change.phase)
    judged = (phase.metrics or {}).get(change.metric) if phase else None
    if judged is None:
        return None
    return judged.verdict, judged.pct_change, judged.ci95_pct


def _largest(verdict: Verdict) -> rule.Change | None:
    """The deciding metric of the phase that moved most (what a "not slower" step shows)."""
    found = [
        rule.Change(name, p.metric, p.pct_change, p.ci95_pct)
        for name, p in verdict.phases.items()
        if p.pct_change is not None
    ]
    return max(found, key=lambda c: c.pct, default=None)


def _figure(step: BisectStep) -> str:
    text = f"{step.phase} {step.metric} {fmt_pct(step.pct_change)}"
    if step.ci95_pct is not None:
        text += f", 95% CI {fmt_ci(step.ci95_pct, 'pct')}"
    return text


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _ci(ci: tuple[float, float] | None) -> tuple[float, float] | None:
    return None if ci is None else (round(ci[0], 3), round(ci[1], 3))
