"""``ft-bench run``: the stages in order, measure -> report -> judge -> archive.

Each stage returns a value and no stage changes what an earlier one produced: the judge's
verdict and the archive's keys are attached to new copies of the report. The report files are
written right after measuring (so whatever was measured survives a judge or archive that
fails or hangs) and again, complete, at the end.
"""

from __future__ import annotations

import io
import os
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

from ftbench import paths
from ftbench.archive.local import default_archive_dir
from ftbench.archive.repo_id import repo_id
from ftbench.archive.sync import archive_report, open_archives, open_local
from ftbench.errors import EXIT_COMMAND_FAILED, EXIT_OK, FtbenchError
from ftbench.judge import calibration
from ftbench.judge.ab import clear_enough, judge_against
from ftbench.judge.baseline import evaluate
from ftbench.judge.calibration import machine_key
from ftbench.judge.options import JudgeOptions
from ftbench.measure import environment
from ftbench.measure.ab import ABResult, pair_plans, run_pairs
from ftbench.measure.config import Target
from ftbench.measure.runner import BenchResult, Progress, Runner, RunSettings, Sample
from ftbench.measure.worktree import BaseRef, checkout, resolve_ref, run_setup
from ftbench.redact import target_environ
from ftbench.report.build import base_side, build_report
from ftbench.report.codec import to_value
from ftbench.report.files import REPORT_NAMES, write_reports
from ftbench.report.model import Report, Verdict
from ftbench.signals import interrupted_error


@dataclass(frozen=True)
class RunRequest:
    """Everything ``ft-bench run`` was asked to do."""

    root: Path
    target: Target
    settings: RunSettings
    judge: JudgeOptions
    out_dir: Path
    archive_dir: Path | None = None
    repo_id: str | None = None
    upload_s3: bool = False
    progress: Progress | None = None
    #: ``--against REF``: measure REF's tree too, interleaved, and judge A/B
    against: str | None = None


@dataclass(frozen=True)
class RunOutcome:
    """The final report, its Markdown, what archiving printed, and how the run ends."""

    report: Report
    markdown: str
    archive_output: str
    #: what stopped the run or its judge (raised by the CLI after printing), or None
    error: FtbenchError | None
    exit_code: int


def _out_anchor(request: RunRequest) -> Path:
    """Where the no-link walk to the reports and logs starts (ftbench.paths)."""
    return paths.anchor(request.out_dir, request.root)


def check_places(request: RunRequest) -> None:
    """Refuse, before anything runs, a symbolic link on the way to a place the run writes:
    the reports, logs (the A/B base side's too), the archive's folder of this repository,
    its pending markers and calibrations (:mod:`ftbench.paths`; every write checks again)."""
    root = request.root
    paths.check(request.out_dir / "bench_artifacts" / "base", _out_anchor(request))
    local = open_local(root, request.archive_dir)
    folder = local.root.joinpath(*local.prefix.split("/"), repo_id(root, request.repo_id))
    for place in (folder, local.pending_dir, calibration_dir(request)):
        paths.check(place, local.anchor)


def _runner(request: RunRequest, tree: Path, artifacts: Path) -> Runner:
    return Runner(
        request.target,
        request.settings,
        tree,
        artifacts,
        request.progress,
        protected=(
            *(request.out_dir / n for n in REPORT_NAMES),
            default_archive_dir(request.root, request.archive_dir),
        ),
        within=_out_anchor(request),
    )


def _interleaved(request: RunRequest, tree: Path) -> tuple[ABResult, dict[str, int]]:
    """This tree and ``tree`` measured pair by pair; the looks per phase (for the judge)."""
    plans = pair_plans(request.settings)
    current = _runner(request, request.root, request.out_dir / "bench_artifacts")
    base = _runner(request, tree, request.out_dir / "bench_artifacts" / "base")

    def decide(phase: str, cur: list[Sample], bas: list[Sample], n_looks: int) -> bool:
        return clear_enough(cur, bas, request.judge, phases=len(plans), looks=n_looks)

    looks = {name: len(plan.looks()) for name, plan in plans.items()}
    return run_pairs(current, base, decide), looks


def _measure_ab(request: RunRequest) -> tuple[BenchResult, Report]:
    """Both trees measured interleaved; the report carries the base side."""
    assert request.against is not None
    root, options = request.root, request.judge
    ref = resolve_ref(root, request.against, base_branch=options.baseline_branch)
    with checkout(root, ref.commit) as tree:
        setup = request.target.setup
        if setup:
            env = target_environ(os.environ)  # as the commands get it: no ftbench credentials
            if request.target.path:
                env["PATH"] = request.target.path
            for side in (tree, root):
                run_setup(setup, side, env)
        measured, looks = _interleaved(request, tree)
        report = build_report(measured.current, root, repo_id=repo_id(root, request.repo_id))
        against = base_side(
            measured.base,
            ref=ref,
            order=measured.order,
            setup=setup,
            stopped=measured.stopped,
            tool_versions=_base_versions(request, tree, report),
        )
    report = replace(report, against=against)
    return measured.current, replace(report, regression=judge_against(report, options, looks=looks))


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
        versions.update(environment.snapshot(tree, inside)["tool_versions"])
    return versions


def calibration_dir(request: RunRequest) -> Path:
    archive = default_archive_dir(request.root, request.archive_dir)
    return archive / ".calibration" / repo_id(request.root, request.repo_id)


def _calibrated(request: RunRequest) -> tuple[RunRequest, str]:
    """The request with a stored calibration's thresholds as the judge's defaults (unless
    ``--regress-pct`` was given), and a note when a calibration file could not be used."""
    if request.judge.regress_pct is not None or request.judge.baseline == "none":
        return request, ""
    machine = machine_key(environment.snapshot(request.root, {}))
    found, note = calibration.load(
        calibration_dir(request),
        machine,
        request.target.config_hash(),
        request.settings.mode,
    )
    if found is None:
        return request, note
    return replace(request, judge=replace(request.judge, calibration=found)), note


def run(request: RunRequest) -> RunOutcome:
    check_places(request)
    request, calibration_note = _calibrated(request)
    root, settings = request.root, request.settings
    if request.against is not None:
        measured, report = _measure_ab(request)
    else:
        measured = _runner(request, root, request.out_dir / "bench_artifacts").run()
        report = build_report(measured, root, repo_id=repo_id(root, request.repo_id))
    out_anchor = _out_anchor(request)
    # measured data is safe from here
    write_reports(report, request.out_dir, pretty=False, anchor=out_anchor)

    verdict: Verdict | None = None
    judge_error: FtbenchError | None = None
    failed_command = measured.error is not None and measured.error.exit_code == EXIT_COMMAND_FAILED
    if report.against is not None:
        verdict = report.regression
    elif measured.error is None or (settings.allow_failure and failed_command):
        try:
            archives, notes = open_archives(root, request.archive_dir)
            verdict = evaluate(report, archives, request.judge, repo_root=root, notes=notes)
        except FtbenchError as exc:  # e.g. --baseline FILE missing: the run is still archived
            judge_error = exc
        except KeyboardInterrupt as exc:  # a signal while reading baselines: still archived
            judge_error = interrupted_error(exc)
    if verdict is not None and calibration_note:
        verdict = replace(verdict, notes=(*verdict.notes, calibration_note))
    report = replace(report, regression=verdict)

    # After a signal the report is archived locally and queued for upload, not uploaded.
    stopped = next((e for e in (measured.error, judge_error) if e and e.exit_code > 128), None)
    printed = io.StringIO()
    archived = archive_report(
        report,
        root,
        upload_s3=request.upload_s3,
        queue_only=stopped is not None,
        archive_dir=request.archive_dir,
        repo_id_override=request.repo_id,
        out=printed,
    )
    report = replace(report, archive=archived.ref)
    markdown = write_reports(report, request.out_dir, anchor=out_anchor)

    # A run that stopped ends with its own error, unless it was a failing command that
    # --allow-failure accepts; then a judge error; else the verdict's exit code.
    error = measured.error
    if error is not None and settings.allow_failure and failed_command:
        error = None
    error = error or judge_error
    code = error.exit_code if error else (verdict.exit_code if verdict else EXIT_OK)
    return RunOutcome(report, markdown, printed.getvalue(), error, code)


@dataclass(frozen=True)
class CalibrationOutcome:
    """What ``ft-bench calibrate`` measured and stored."""

    rounds: tuple[calibration.Round, ...]
    stored: calibration.Stored
    path: Path


def calibrate(request: RunRequest, rounds: int) -> CalibrationOutcome:
    """A/A: the target against itself, interleaved, ``rounds`` times; the thresholds it
    recommends are stored for this machine class, target and mode (see
    :mod:`ftbench.judge.calibration`). A round that fails ends the calibration."""
    check_places(request)
    root, options = request.root, request.judge
    self_ref = BaseRef("A/A", "", "A/A: this tree against itself")
    made: list[calibration.Round] = []
    report: Report | None = None
    for _ in range(rounds):
        measured, looks = _interleaved(request, root)
        if measured.current.error is not None:
            raise measured.current.error
        report = build_report(measured.current, root, repo_id=repo_id(root, request.repo_id))
        against = base_side(
            measured.base,
            ref=replace(self_ref, commit=report.git.commit or ""),
            order=measured.order,
            setup=None,
            stopped=measured.stopped,
            tool_versions=dict(report.environment.tool_versions),
        )
        verdict = judge_against(replace(report, against=against), options, looks=looks)
        phase = verdict.phases.get("warm") or next(iter(verdict.phases.values()), None)
        made.append(
            calibration.Round(
                verdict=verdict.verdict,
                pct_change=None if phase is None else phase.pct_change,
                noise_floor_pct=None if phase is None else phase.noise_floor_pct,
                median=None if phase is None else phase.current.median,
                metric=verdict.metric,
            )
        )
    assert report is not None
    against_pct, archive_pct = calibration.recommend(made, alpha=options.alpha)
    floors = [r.noise_floor_pct for r in made if r.noise_floor_pct is not None]
    env = to_value(report.environment)
    stored = calibration.Stored(
        format=calibration.FORMAT,
        created=report.timestamp,
        machine=machine_key(env),
        machine_class=calibration.machine_class(env),
        config_hash=report.target.config_hash,
        mode=report.mode,
        tier=report.tier,
        metric=made[-1].metric,
        rounds=len(made),
        false_alarms=sum(r.verdict == "regression" for r in made),
        noise_floor_pct=round(statistics.median(floors), 2) if floors else None,
        against_pct=against_pct,
        archive_pct=archive_pct,
    )
    archive = default_archive_dir(root, request.archive_dir)
    saved = calibration.save(calibration_dir(request), stored, paths.anchor(archive, root))
    return CalibrationOutcome(tuple(made), stored, saved)
