"""``ft-bench run``: the stages in order, measure -> report -> judge -> archive.

Each stage returns a value and no stage changes what an earlier one produced: the judge's
verdict and the archive's keys are attached to new copies of the report. The report files are
written right after measuring (so whatever was measured survives a judge or archive that
fails or hangs) and again, complete, at the end. A/B measuring (``--against``, the archive
judge's confirmation) is in :mod:`.ab`, ``ft-bench calibrate`` in :mod:`.calibrate`.
"""

from __future__ import annotations

import io
import time
from dataclasses import replace

from ftbench.archive.sync import archive_report, open_archives
from ftbench.errors import EXIT_COMMAND_FAILED, EXIT_OK, FtbenchError
from ftbench.judge import calibration
from ftbench.judge.baseline import evaluate
from ftbench.measure.machine import Machine
from ftbench.pipeline.ab import acceptances, confirm, measure_against
from ftbench.pipeline.bisect import bisected
from ftbench.pipeline.calibrate import CalibrationOutcome as CalibrationOutcome
from ftbench.pipeline.calibrate import calibrate as calibrate
from ftbench.pipeline.request import RunOutcome as RunOutcome
from ftbench.pipeline.request import RunRequest as RunRequest
from ftbench.pipeline.request import (
    artifacts,
    calibration_dir,
    make_runner,
    out_anchor,
    prepared,
)
from ftbench.report.build import build_report
from ftbench.report.files import write_reports
from ftbench.report.model import Verdict
from ftbench.signals import interrupted_error


def _calibrated(request: RunRequest, machine: Machine) -> tuple[RunRequest, str]:
    """The request with a stored calibration's thresholds as the judge's defaults (unless
    ``--regress-pct`` was given), and the note the verdict carries: which calibration, how old
    (every run that uses one says so), or why a calibration file was not used."""
    if request.judge.regress_pct is not None or request.judge.baseline == "none":
        return request, ""
    found, note = calibration.load(
        calibration_dir(request),
        machine.klass.key,
        request.target.config_hash(),
        request.settings.mode,
        lambda: dict(machine.environment.tool_versions),
    )
    if found is None:
        return request, note
    return replace(request, judge=replace(request.judge, calibration=found)), note


def run(request: RunRequest) -> RunOutcome:
    request, facts, rid = prepared(request)
    request, calibration_note = _calibrated(request, facts)
    root, settings = request.root, request.settings
    started = time.monotonic()
    verdict: Verdict | None = None
    if request.against is not None:
        measured, report, verdict = measure_against(request)
    else:
        measured = make_runner(request, root, artifacts(request)).run()
        report = build_report(measured, facts, repo_id=rid)
    measured_s = time.monotonic() - started
    anchor = out_anchor(request)
    # measured data is safe from here
    write_reports(report, request.out_dir, pretty=False, anchor=anchor)

    judge_error: FtbenchError | None = None
    failed_command = measured.error is not None and measured.error.exit_code == EXIT_COMMAND_FAILED
    if report.against is not None:
        if request.bisect_budget_s is not None and measured.error is None:
            verdict, judge_error = bisected(request, report, verdict, measured_s)
    elif measured.error is None or (settings.allow_failure and failed_command):
        try:
            archives, notes = open_archives(root, request.archive_dir)
            verdict = evaluate(
                report,
                archives,
                request.judge,
                repo_root=root,
                notes=notes,
                acceptances=acceptances(root),
            )
            verdict, judge_error = confirm(request, report, verdict, measured_s)
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
    markdown = write_reports(report, request.out_dir, anchor=anchor)

    # A run that stopped ends with its own error, unless it was a failing command that
    # --allow-failure accepts; then a judge error; else the verdict's exit code.
    error = measured.error
    if error is not None and settings.allow_failure and failed_command:
        error = None
    error = error or judge_error
    code = error.exit_code if error else (verdict.exit_code if verdict else EXIT_OK)
    return RunOutcome(report, markdown, printed.getvalue(), error, code)
