"""The report files: ``bench_proof.json``, ``bench_proof.md``, ``bench_report.env``.

Every write is atomic (temporary file, then rename), so a crash never leaves half a report,
and goes through no symbolic link (:mod:`ftbench.paths`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ftbench import paths
from ftbench.errors import SetupError, UsageError
from ftbench.report.codec import ModelError
from ftbench.report.escape import dotenv_value
from ftbench.report.markdown import render
from ftbench.report.model import NewerSchema, Report

JSON_NAME = "bench_proof.json"
MD_NAME = "bench_proof.md"
ENV_NAME = "bench_report.env"
REPORT_NAMES = (JSON_NAME, MD_NAME, ENV_NAME)


_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def dotenv_lines(report: Report, report_path: str) -> list[str]:
    """GitLab dotenv lines: valid names, values on one line without control characters
    (a tier name holding a new line cannot add a variable); unknown values left out."""
    runs, verdict, archive = report.runs, report.regression, report.archive
    values: dict[str, object] = {
        "FT_BENCH_RUN_ID": report.run_id,
        "FT_BENCH_TIER": report.tier,
        "FT_BENCH_MODE": report.mode,
        "FT_BENCH_OK": str(report.ok).lower(),
        "FT_BENCH_COLD_MEDIAN_S": runs.cold.elapsed_s if runs.cold else None,
        "FT_BENCH_WARM_MEDIAN_S": runs.warm.elapsed_s if runs.warm else None,
        "FT_BENCH_SPEEDUP": report.speedup,
        "FT_BENCH_VERDICT": verdict.verdict if verdict else "not judged",
        "FT_BENCH_REPORT": report_path,
        "FT_BENCH_ARCHIVE_KEY": archive.local_key if archive else None,
        "FT_BENCH_S3_KEY": archive.s3_key if archive else None,
        "FT_BENCH_S3_URL": archive.s3_url if archive else None,
    }
    lines = []
    for name, value in values.items():
        if value is None or not _ENV_NAME.match(name):
            continue
        lines.append(f"{name}={dotenv_value(value)}")
    return lines


GITIGNORE = "# written by ftbench: reports, logs, archive and caches are not sources\n*\n"


def write_reports(
    report: Report, out_dir: Path, *, pretty: bool = True, anchor: Path | None = None
) -> str:
    """Write the JSON, Markdown and dotenv files; returns the Markdown.

    ``pretty=False`` (compact JSON) is for the safety write right after measuring. The default
    ``.firsttry`` directory gets a ``.gitignore`` (when it has none) so that it never shows as
    untracked in the user's repository. ``anchor``: no link is allowed between it and
    ``out_dir`` (:func:`ftbench.paths.anchor`; default: ``out_dir`` as named).
    """
    markdown = render(report)
    ignore = out_dir / ".gitignore"
    if out_dir.name == ".firsttry" and not os.path.lexists(ignore):
        paths.write(ignore, GITIGNORE, anchor)
    paths.write(out_dir / JSON_NAME, report.to_json(pretty=pretty), anchor)
    paths.write(out_dir / MD_NAME, markdown, anchor)
    shown = os.path.join(out_dir.name, JSON_NAME)
    paths.write(out_dir / ENV_NAME, "\n".join(dotenv_lines(report, shown)) + "\n", anchor)
    return markdown


def read_report(path: Path) -> Report:
    """A report file, checked; a one-line :class:`UsageError` when it is not a report."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read report {path}: {exc.strerror or exc}") from None
    return parse_report(data, str(path))


def parse_report(data: bytes, source: str) -> Report:
    """Report bytes, checked; a one-line :class:`UsageError` when they are not a report
    (:class:`SetupError` when a newer ftbench wrote them)."""
    try:
        return Report.from_json(data, source)
    except NewerSchema as exc:  # not bad input: this ftbench is too old for it (exit 5)
        raise SetupError(str(exc)) from None
    except ModelError as exc:
        raise UsageError(str(exc)) from None
