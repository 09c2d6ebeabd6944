"""A/B measuring in the pipeline: this tree and a git commit's, interleaved pair by pair.

Used by ``ft-bench run --against REF`` (:func:`measure_against`), by the archive judge's
confirmation of a suspected change (:func:`confirm`) and by ``ft-bench calibrate`` (A/A,
:func:`interleaved`). The commit is checked out into a temporary worktree
(``measure/worktree.py``), removed whatever ends the block; the judge decides when sampling may
stop (``judge/ab.py``), handed in as a callback so ``measure`` imports nothing downstream.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ftbench.archive.repo_id import repo_id
from ftbench.errors import FtbenchError, SetupError
from ftbench.judge import accept
from ftbench.judge.ab import clear_enough, judge_against, pairs_to_reject
from ftbench.judge.baseline import Acceptances
from ftbench.judge.confirm import confirmed, confirming_options, not_confirmed, suspicion
from ftbench.judge.metrics import restrict
from ftbench.measure import environment, machine, tools
from ftbench.measure.ab import ABResult, pair_plans, run_pairs
from ftbench.measure.runner import BenchResult, Sample
from ftbench.measure.worktree import BaseRef, base_of, checkout, messages, resolve_ref, run_setup
from ftbench.pipeline.definitions import Definitions, base_definition
from ftbench.pipeline.request import RunRequest, artifacts, make_runner
from ftbench.pipeline.sides import base_environment, import_notes
from ftbench.redact import target_environ
from ftbench.report.build import base_side, build_report
from ftbench.report.model import Acceptance, Confirmation, Report, Verdict

#: the A/B run that confirms a suspicion starts no more pairs after this many times the plain
#: run's own measuring time (and at least :data:`CONFIRM_MIN_BUDGET_S`)
CONFIRM_BUDGET_FACTOR = 3.0
CONFIRM_MIN_BUDGET_S = 30.0


def interleaved(
    request: RunRequest,
    tree: Path,
    *,
    deadline: float | None = None,
    about: Definitions | None = None,
    current: tuple[RunRequest, Path] | None = None,
    logs: Path | None = None,
) -> tuple[ABResult, dict[str, int]]:
    """This tree (or ``current``: another tree, and the request its side runs with) and
    ``tree`` measured pair by pair, their logs under ``logs`` (default: the run's) and its
    ``base/``; per phase, the looks that can reject (the judge splits alpha over them).
    ``about``: what the base side runs (its own tier definition) and which steps are judged
    (``pipeline/definitions.py``)."""
    settings = request.settings
    phases = sum(
        not skip and n > 0
        for skip, n in (
            (settings.skip_cold, settings.cold_runs),
            (settings.skip_warm, settings.warm_runs),
        )
    )
    plans = pair_plans(settings, pairs_to_reject(request.judge, phases))
    folder = logs or artifacts(request)
    mine = make_runner(*current, folder) if current else make_runner(request, request.root, folder)
    base = make_runner(_base_request(request, about), tree, folder / "base")
    judged = about.judged if about is not None else None

    def decide(phase: str, cur: list[Sample], bas: list[Sample], looks: int) -> bool:
        if judged is not None:  # steps only one side runs are never judged
            pair = restrict(cur, judged), restrict(bas, judged)
            return clear_enough(*pair, request.judge, phases=len(plans), looks=looks)
        return clear_enough(cur, bas, request.judge, phases=len(plans), looks=looks)

    looks = {name: plan.rejecting for name, plan in plans.items()}
    return run_pairs(mine, base, decide, plans, deadline), looks


def _base_request(request: RunRequest, about: Definitions | None) -> RunRequest:
    """``request`` with the base side's target: REF's definition of the tier (``about``), in
    the base side's own interpreter when it runs in an isolated environment."""
    if about is None:
        return request
    own, isolated = about.target, request.base_target
    if isolated is not None and isolated.interp is not None:
        own = tools.bind(own, isolated.interp, isolated.path or "")
    return replace(request, base_target=own)


def _measure(
    request: RunRequest, ref: BaseRef, deadline: float | None = None
) -> tuple[BenchResult, Report, dict[str, int]]:
    """Both trees measured interleaved; the report (its ``against`` block the base side,
    not yet judged) and the looks per phase."""
    with checkout(request.root, ref.commit) as tree:
        for side in (tree, request.root):
            setup_tree(request, side)
        about = base_definition(request.target, tree, request.base_definition)
        return measure_trees(request, ref, tree, deadline=deadline, about=about)


def setup_tree(request: RunRequest, tree: Path) -> None:
    """The tier's untimed ``setup`` command in ``tree``, if it has one."""
    setup = request.target.setup
    if setup:
        env = target_environ(os.environ)  # as the commands get it: no ftbench credentials
        if request.target.path:
            env["PATH"] = request.target.path
        run_setup(setup, tree, env)


def measure_trees(
    request: RunRequest,
    ref: BaseRef,
    tree: Path,
    *,
    current: Path | None = None,
    deadline: float | None = None,
    logs: Path | None = None,
    about: Definitions | None = None,
) -> tuple[BenchResult, Report, dict[str, int]]:
    """This tree (or the ``current`` tree) and ``ref``'s ``tree``, both set up, measured
    interleaved, each side importing its own tree's code (``pipeline/sides.py``): the report
    (its ``against`` block the base side, not yet judged) and the looks per phase."""
    sides = base_environment(request, tree)
    mine = None if current is None else (base_environment(request, current).request, current)
    measured, looks = interleaved(
        sides.request, tree, deadline=deadline, about=about, current=mine, logs=logs
    )
    facts = request.machine if current is None else None
    if facts is None:  # another tree than the request's (bisect): its own git facts
        facts = machine.read(current or request.root, request.target, request.settings.mode)
    rid = repo_id(request.root, request.repo_id)  # resolved once by pipeline.run: checked
    report = build_report(measured.current, facts, repo_id=rid)
    ran = about.target if about is not None else request.target
    against = base_side(
        measured.base,
        ref=ref,
        order=measured.order,
        setup=request.target.setup,
        stopped=measured.stopped,
        tool_versions=_base_versions(replace(request, target=ran), tree, report),
        imports=sides.imports,
    )
    if about is not None:  # the tier's definitions differ: what each side ran
        against = replace(
            against,
            definition=about.ran,  # type: ignore[arg-type]
            definition_changes=about.changes or None,
            unjudged_steps=about.apart or None,
        )
    return measured.current, replace(report, against=against), looks


def measure_against(request: RunRequest) -> tuple[BenchResult, Report, Verdict]:
    """``--against REF``: both trees measured interleaved (the report, not yet judged), and
    the A/B verdict (the slowdowns that the commits in ``REF..HEAD`` accept apply)."""
    assert request.against is not None
    options = request.judge
    ref = resolve_ref(request.root, request.against, base_branch=options.baseline_branch)
    measured, report, looks = _measure(request, ref)
    found, notes = accept.from_messages(messages(request.root, ref.commit))
    options = replace(options, accept=(*options.accept, *found))
    verdict = judge_against(report, options, looks=looks)
    return measured, report, replace(verdict, notes=(*verdict.notes, *notes, *import_notes(report)))


def _base_versions(request: RunRequest, tree: Path, report: Report) -> dict[str, str | None]:
    """The base tree's tool versions: the current side's, but for programs inside the
    repository (a path such as ``./bin/tool`` or ``.venv/bin/ruff``), asked in the base tree."""
    target, mode = request.target, request.settings.mode
    inside = {
        s.name: str(tree / prog)
        for s in target.steps
        if not Path(prog := s.argv(target.tier, mode)[0]).is_absolute() and "/" in prog
    }
    versions = dict(report.environment.tool_versions)
    if inside:
        versions.update(environment.tool_versions(tree, inside, target, mode))
    return {s.name: versions.get(s.name) for s in target.steps}  # the base side's own steps


def acceptances(root: Path) -> Acceptances:
    """The intended slowdowns declared in the commits since a baseline's commit."""

    def since(commit: str | None) -> tuple[Sequence[Acceptance], Sequence[str]]:
        return accept.from_messages(messages(root, commit))

    return since


def confirm(
    request: RunRequest, report: Report, verdict: Verdict, measured_s: float
) -> tuple[Verdict, FtbenchError | None]:
    """The archive verdict, confirmed by an A/B run against the baseline runs' commit when it
    suspects a change (``--confirm auto``), else with a note why not; and the error that
    stopped the A/B run (a signal), if any. The A/B measures only the suspected phases and
    starts no more pairs once its time budget is spent."""
    suspected = suspicion(verdict)
    if request.judge.confirm == "never" or not suspected:
        return verdict, None
    commit = verdict.baseline.commit
    if not commit:
        return not_confirmed(verdict, "the baseline runs record no git commit"), None
    if commit == report.git.commit and not report.git.dirty:
        why = "this is the baseline runs' own commit: the difference is the machine's"
        return not_confirmed(verdict, why), None
    try:
        base, how = base_of(request.root, commit)
    except SetupError:
        return not_confirmed(
            verdict,
            f"the baseline's commit {commit[:12]} is not in this clone; fetch it (git fetch "
            "--unshallow, or git fetch --deepen=N) or judge with --against REF",
        ), None
    settings = replace(
        request.settings,
        skip_cold="cold" not in suspected.phases,
        skip_warm="warm" not in suspected.phases,
    )
    budget = request.confirm_budget_s or max(
        CONFIRM_MIN_BUDGET_S, CONFIRM_BUDGET_FACTOR * measured_s
    )
    started = time.monotonic()
    asked = confirming_options(request.judge, suspected)
    sub = replace(request, settings=settings, against=base, judge=asked)
    try:
        measured, ab_report, looks = _measure(sub, BaseRef(base, base, how), started + budget)
    except FtbenchError as exc:
        return not_confirmed(verdict, f"the A/B run could not start: {exc}"), None
    found, notes = accept.from_messages(messages(request.root, base))
    ab = judge_against(ab_report, replace(asked, accept=(*asked.accept, *found)), looks=looks)
    assert ab_report.against is not None
    error = measured.error
    if error is not None:
        ab = replace(ab, verdict="inconclusive", exit_code=0, summary=f"A/B stopped: {error}")
    confirmation = Confirmation(
        ref=base,
        commit=base,
        how=how,
        suspicion=suspected.text(),
        verdict=ab.verdict,
        summary=ab.summary,
        elapsed_s=round(time.monotonic() - started, 3),
        stopped=dict(ab_report.against.stopped),
        phases=dict(ab.phases),
        current=ab_report.runs,
        base=ab_report.against.runs,
    )
    made = confirmed(verdict, replace(ab, notes=(*ab.notes, *notes)), confirmation)
    return made, error if error is not None and error.exit_code > 128 else None
