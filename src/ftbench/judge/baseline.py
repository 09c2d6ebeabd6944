"""Which archived reports form the baseline of the current report, then the verdict.

``--baseline auto`` (default): reports of the same repository id, tier, mode and target
configuration hash that succeeded (every measured phase ok), from the base branch of a pull or
merge request (``--baseline-branch``, else ``GITHUB_BASE_REF``, else
``CI_MERGE_REQUEST_TARGET_BRANCH_NAME``), else from the current report's own branch; the most
recent ``--baseline-count`` of them, preferring reports comparable with the current one (same
machine class, backend and tool versions). ``latest``: the most recent such report of any
branch. ``none``: no baseline. Anything else is a report file (path) or an archive key.

The current report itself (same ``run_id``) is never picked. The archive is reached through
:class:`History`, which the archive stage implements; this package never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from ftbench.errors import UsageError
from ftbench.judge.comparable import differences
from ftbench.judge.core import judge
from ftbench.judge.options import JudgeOptions
from ftbench.report.files import read_report
from ftbench.report.model import Acceptance, KeyedReport, Report, Verdict

BASE_BRANCH_VARS = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")


class History(Protocol):
    """Archived reports, as the judge reads them."""

    def describe(self) -> str:
        """Where the reports come from, for messages (``local, s3``)."""
        ...

    def newest(self, repo_id: str, notes: list[str]) -> Iterator[KeyedReport]:
        """``repo_id``'s reports, newest first, read lazily; problems become ``notes``."""
        ...

    def find(self, spec: str, repo_id: str | None) -> KeyedReport | None:
        """The report under a full key, or under a key's file name within ``repo_id``."""
        ...


@dataclass(frozen=True)
class Selection:
    reports: list[KeyedReport]
    description: str
    notes: list[str] = field(default_factory=list)
    why_empty: str = ""


def base_branch(
    current: Report, options: JudgeOptions, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str]:
    """``(branch, where it came from)`` for ``--baseline auto``."""
    env = os.environ if environ is None else environ
    if options.baseline_branch:
        return options.baseline_branch, "--baseline-branch"
    for var in BASE_BRANCH_VARS:
        value = env.get(var, "").strip()
        if value:
            return value, var
    if current.git.branch:
        return current.git.branch, "same branch"
    return None, "branch unknown"


def find_baselines(
    current: Report,
    history: History,
    options: JudgeOptions,
    *,
    repo_root: Path,
    environ: Mapping[str, str] | None = None,
) -> Selection:
    """The baseline reports of ``current`` (newest first), how they were chosen, notes."""
    spec = options.baseline
    if spec == "none":
        return Selection([], "none", why_empty="disabled (--baseline none)")
    if spec not in ("auto", "latest"):
        found = resolve_report(spec, history, repo_root, current.repo_id)
        return Selection([found], f"explicit {found.key}")
    notes: list[str] = []
    if spec == "latest":
        branch: str | None = None
        count = 1
        origin, scope = "most recent report of any branch", "any branch"
    else:
        branch, source = base_branch(current, options, environ)
        count = options.baseline_count
        origin = scope = (
            "any branch (current branch unknown)"
            if branch is None
            else f"branch {branch} ({source})"
        )
    candidates = _candidates(
        current, history, branch, notes, want=count, any_comparable=options.allow_incomparable
    )
    chosen = candidates[:count]
    if not options.allow_incomparable:
        comparable = [c for c in candidates if not differences(current, c.report)]
        if comparable:  # else hand the others to the judge, which says what differed
            chosen = comparable[:count]
            oldest = _order(chosen[-1])
            skipped = [
                c for c in candidates if _order(c) > oldest and differences(current, c.report)
            ]
            if skipped:
                notes.append(
                    f"skipped {len(skipped)} newer report(s) from another machine "
                    "class, measuring backend, tool versions or target"
                )
    description = f"{len(chosen)} report(s) of {origin}" if spec == "auto" else origin
    why = (
        ""
        if chosen
        else (
            f"no earlier successful report of {scope} with this tier, mode "
            f"and target in {history.describe() or 'no archive'}"
        )
    )
    return Selection(chosen, description, notes, why)


def _matches(current: Report, report: Report, branch: str | None) -> bool:
    return (
        report.run_id != current.run_id
        and report.repo_id == current.repo_id
        and report.tier == current.tier
        and report.mode == current.mode
        and report.target.config_hash == current.target.config_hash
        and (branch is None or report.git.branch == branch)
        and report.succeeded
    )


def _candidates(
    current: Report,
    history: History,
    branch: str | None,
    notes: list[str],
    *,
    want: int,
    any_comparable: bool,
) -> list[KeyedReport]:
    """Matching reports, newest first. Reading stops once ``want`` of them are comparable
    (or merely match, with ``any_comparable``): on S3 each read is one request."""
    out: list[KeyedReport] = []
    found = 0
    for stored in history.newest(current.repo_id, notes):
        if not _matches(current, stored.report, branch):
            continue
        out.append(stored)
        found += any_comparable or not differences(current, stored.report)
        if found >= want:
            break
    out.sort(key=_order, reverse=True)
    return out


def _order(stored: KeyedReport) -> tuple[str, str]:
    return stored.report.timestamp, stored.key.rsplit("/", 1)[-1]


def resolve_report(
    spec: str,
    history: History | None,
    repo_root: Path,
    repo_id: str | None = None,
    *,
    side: str = "baseline",
) -> KeyedReport:
    """A report named by a file path (absolute, relative to the working directory or to
    ``repo_root``) or an archive key (full key, or the file name part within ``repo_id``);
    the usage error names ``side`` (``baseline``; ``compare``'s BASE or NEW)."""
    for path in (Path(spec), repo_root / spec):
        if path.is_file():
            return KeyedReport(str(path), read_report(path))
    found = history.find(spec, repo_id) if history is not None else None
    if found is None:
        where = history.describe() if history is not None else "no archive configured"
        within = f" of repository id {repo_id}" if repo_id and "/" not in spec else ""
        raise UsageError(
            f"{side} {spec!r} is neither a report file nor an archive key{within} ({where})"
        )
    return found


#: ``acceptances(commit)``: the intended slowdowns declared since ``commit`` (the newest
#: baseline run's; None when unknown) and notes about them (``judge/accept.py``)
Acceptances = Callable[[str | None], tuple[Sequence[Acceptance], Sequence[str]]]


def evaluate(
    report: Report,
    history: History,
    options: JudgeOptions,
    *,
    repo_root: Path,
    notes: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    acceptances: Acceptances | None = None,
) -> Verdict:
    """Choose the baseline from ``history`` and judge ``report`` against it; with
    ``acceptances``, the slowdowns declared since the newest baseline's commit apply too."""
    if options.baseline == "none":
        return judge(
            report, [], options, notes=notes, no_baseline_reason="disabled (--baseline none)"
        )
    selection = find_baselines(report, history, options, repo_root=repo_root, environ=environ)
    notes = [*notes, *selection.notes]
    if acceptances is not None and selection.reports:
        found, more = acceptances(selection.reports[0].report.git.commit)
        options = replace(options, accept=(*options.accept, *found))
        notes += more
    return judge(
        report,
        selection.reports,
        options,
        windowed=options.baseline in ("auto", "latest"),
        selection=selection.description,
        notes=notes,
        no_baseline_reason=selection.why_empty or "no baseline report",
    )
