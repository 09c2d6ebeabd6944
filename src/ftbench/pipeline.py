"""``ft-bench run``: the stages in order, measure -> report -> judge -> archive.

Each stage returns a value and no stage changes what an earlier one produced: the judge's
verdict and the archive's keys are attached to new copies of the report. The report files are
written right after measuring (so whatever was measured survives a judge or archive that
fails or hangs) and again, complete, at the end.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

from ftbench.archive.local import default_archive_dir
from ftbench.archive.repo_id import repo_id
from ftbench.archive.sync import archive_report, open_archives
from ftbench.errors import EXIT_COMMAND_FAILED, EXIT_OK, FtbenchError
from ftbench.judge.baseline import evaluate
from ftbench.judge.options import JudgeOptions
from ftbench.measure.config import Target
from ftbench.measure.runner import Progress, Runner, RunSettings
from ftbench.report.build import build_report
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


@dataclass(frozen=True)
class RunOutcome:
    """The final report, its Markdown, what archiving printed, and how the run ends."""

    report: Report
    markdown: str
    archive_output: str
    #: what stopped the run or its judge (raised by the CLI after printing), or None
    error: FtbenchError | None
    exit_code: int


def run(request: RunRequest) -> RunOutcome:
    root, settings = request.root, request.settings
    runner = Runner(
        request.target,
        settings,
        root,
        request.out_dir / "bench_artifacts",
        request.progress,
        protected=(
            *(request.out_dir / n for n in REPORT_NAMES),
            default_archive_dir(root, request.archive_dir),
        ),
    )
    measured = runner.run()
    report = build_report(measured, root, repo_id=repo_id(root, request.repo_id))
    write_reports(report, request.out_dir, pretty=False)  # measured data is safe from here

    verdict: Verdict | None = None
    judge_error: FtbenchError | None = None
    failed_command = measured.error is not None and measured.error.exit_code == EXIT_COMMAND_FAILED
    if measured.error is None or (settings.allow_failure and failed_command):
        try:
            archives, notes = open_archives(root, request.archive_dir)
            verdict = evaluate(report, archives, request.judge, repo_root=root, notes=notes)
        except FtbenchError as exc:  # e.g. --baseline FILE missing: the run is still archived
            judge_error = exc
        except KeyboardInterrupt as exc:  # a signal while reading baselines: still archived
            judge_error = interrupted_error(exc)
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
    markdown = write_reports(report, request.out_dir)

    # A run that stopped ends with its own error, unless it was a failing command that
    # --allow-failure accepts; then a judge error; else the verdict's exit code.
    error = measured.error
    if error is not None and settings.allow_failure and failed_command:
        error = None
    error = error or judge_error
    code = error.exit_code if error else (verdict.exit_code if verdict else EXIT_OK)
    return RunOutcome(report, markdown, printed.getvalue(), error, code)
