"""Which archived reports form the baseline of the current report.

``--baseline auto`` (default): reports of the same repository id, tier, mode and target
configuration hash that succeeded (every measured phase ok), from the base branch of a pull or
merge request (``--baseline-branch``, else ``GITHUB_BASE_REF``, else
``CI_MERGE_REQUEST_TARGET_BRANCH_NAME``), else from the current report's own branch; the most
recent ``--baseline-count`` of them, preferring reports comparable with the current one (same
machine class and tool versions). ``latest``: the most recent such report of any branch.
``none``: no baseline. Anything else is a report file (path) or an archive key.

The current report itself (same ``run_id``) is never picked; a report held by several stores
(local and S3, same key) counts once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftbench.archive.base import (
    ArchiveStore,
    StoredReport,
    key_name,
    newest_reports,
    report_succeeded,
)
from ftbench.errors import UsageError
from ftbench.judge.core import JudgeOptions, differences

BASE_BRANCH_VARS = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
#: At most this many keys per store are listed (newest first) when searching for baselines.
SCAN_LIMIT = 200


@dataclass(frozen=True)
class Selection:
    reports: list[StoredReport]
    description: str
    notes: list[str] = field(default_factory=list)
    why_empty: str = ""


def select_baselines(current: Mapping[str, Any], stores: Sequence[ArchiveStore],
                     options: JudgeOptions, *, repo_root: Path) -> list[StoredReport]:
    """The baseline reports for ``current`` (newest first); see the module docstring."""
    return find_baselines(current, stores, options, repo_root=repo_root).reports


def base_branch(current: Mapping[str, Any], options: JudgeOptions,
                environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """``(branch, where it came from)`` for ``--baseline auto``."""
    env = os.environ if environ is None else environ
    if options.baseline_branch:
        return options.baseline_branch, "--baseline-branch"
    for var in BASE_BRANCH_VARS:
        value = env.get(var, "").strip()
        if value:
            return value, var
    git = current.get("git")
    branch = git.get("branch") if isinstance(git, Mapping) else None
    if isinstance(branch, str) and branch:
        return branch, "same branch"
    return None, "branch unknown"


def find_baselines(current: Mapping[str, Any], stores: Sequence[ArchiveStore],
                   options: JudgeOptions, *, repo_root: Path,
                   environ: Mapping[str, str] | None = None) -> Selection:
    """Like :func:`select_baselines`, with a description of the choice and notes."""
    spec = options.baseline
    if spec == "none":
        return Selection([], "none", why_empty="disabled (--baseline none)")
    if spec not in ("auto", "latest"):
        repo_id = current.get("repo_id")
        return _explicit(spec, stores, repo_root, repo_id if isinstance(repo_id, str) else None)
    notes: list[str] = []
    if spec == "latest":
        branch: str | None = None
        count = 1
        origin = "most recent report of any branch"
    else:
        branch, source = base_branch(current, options, environ)
        count = options.baseline_count
        if branch is None:
            origin = "any branch (current branch unknown)"
        else:
            origin = f"branch {branch} ({source})"
    wanted = (lambda r: True) if options.allow_incomparable else (
        lambda r: not differences(current, r))
    candidates = _candidates(current, stores, branch, notes, want=count, wanted=wanted)
    if options.allow_incomparable:
        chosen = candidates[:count]
    else:
        comparable = [c for c in candidates if not differences(current, c.report)]
        if comparable:
            chosen = comparable[:count]
            oldest = _order(chosen[-1])
            skipped = [c for c in candidates
                       if _order(c) > oldest and differences(current, c.report)]
            if skipped:
                notes.append(f"skipped {len(skipped)} newer report(s) from another machine "
                             "class, tool versions or target")
        else:  # none comparable: hand them to the judge, which says what differed
            chosen = candidates[:count]
    where = ", ".join(getattr(s, "name", "?") for s in stores) or "no archive"
    description = f"{len(chosen)} report(s) of {origin}" if spec == "auto" else origin
    why = "" if chosen else (
        f"no earlier successful report of {origin} with this tier, mode and target in {where}")
    return Selection(chosen, description, notes, why)


def _matches(current: Mapping[str, Any], report: Mapping[str, Any], branch: str | None) -> bool:
    if report.get("schema") != 1:
        return False
    if report.get("run_id") and report.get("run_id") == current.get("run_id"):
        return False
    for name in ("repo_id", "tier", "mode"):
        if report.get(name) != current.get(name):
            return False
    if _target_hash(report) != _target_hash(current):
        return False
    if branch is not None:
        git = report.get("git")
        if not isinstance(git, Mapping) or git.get("branch") != branch:
            return False
    return report_succeeded(report)


def _target_hash(report: Mapping[str, Any]) -> Any:
    target = report.get("target")
    return target.get("config_hash") if isinstance(target, Mapping) else None


def _candidates(current: Mapping[str, Any], stores: Sequence[ArchiveStore],
                branch: str | None, notes: list[str], *, want: int,
                wanted: Callable[[Mapping[str, Any]], bool]) -> list[StoredReport]:
    """Matching reports from all stores, newest first, deduplicated by key and run id.

    Reading stops once ``want`` matching reports satisfy ``wanted`` (on a fresh CI runner the
    reports come from S3, one request each, so reading all ``SCAN_LIMIT`` would cost seconds).
    """
    repo_id = current.get("repo_id")
    if not isinstance(repo_id, str) or not repo_id:
        notes.append("current report has no repo_id: no archive baseline")
        return []
    out: list[StoredReport] = []
    found = 0
    for stored in newest_reports(stores, repo_id, notes, scan_limit=SCAN_LIMIT):
        if not _matches(current, stored.report, branch):
            continue
        out.append(stored)
        found += wanted(stored.report)
        if found >= want:
            break
    out.sort(key=_order, reverse=True)
    return out


def _order(stored: StoredReport) -> tuple[str, str]:
    return str(stored.report.get("timestamp", "")), key_name(stored.key)


# --- explicit baselines --------------------------------------------------------------------


def load_report_file(path: Path) -> dict[str, Any]:
    """Read a report file; a one-line :class:`UsageError` when it is not a report."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read report {path}: {exc.strerror or exc}") from None
    return parse_report(data, str(path))


def parse_report(data: bytes, source: str) -> dict[str, Any]:
    """Parse report bytes; a one-line :class:`UsageError` unless it is a schema-1 report."""
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        raise UsageError(f"{source}: not valid JSON") from None
    if not isinstance(parsed, dict):
        raise UsageError(f"{source}: not a report (expected a JSON object)")
    if parsed.get("schema") != 1:
        raise UsageError(f"{source}: not a schema-1 ftbench report")
    if not isinstance(parsed.get("runs"), dict):
        raise UsageError(f"{source}: report has no 'runs'")
    return parsed


def resolve_report(spec: str, stores: Sequence[ArchiveStore], repo_root: Path,
                   repo_id: str | None = None) -> StoredReport:
    """A report named by a file path (absolute, relative to the working directory or to
    ``repo_root``) or an archive key (full key, or the file name part within ``repo_id``)."""
    for path in (Path(spec), repo_root / spec):
        if path.is_file():
            return StoredReport(str(path), load_report_file(path))
    for store in stores:
        try:
            data = store.get(spec)
        except Exception:
            continue
        if data is not None:
            return StoredReport(spec, parse_report(data, spec))
    if repo_id and "/" not in spec:
        for store in stores:
            try:
                keys = store.list_keys(repo_id, limit=SCAN_LIMIT)
            except Exception:
                continue
            for key in keys:
                if key_name(key) == spec:
                    data = store.get(key)
                    if data is not None:
                        return StoredReport(key, parse_report(data, key))
    where = ", ".join(getattr(s, "name", "?") for s in stores) or "no archive configured"
    raise UsageError(f"baseline {spec!r} is neither a report file nor an archive key ({where})")


def _explicit(spec: str, stores: Sequence[ArchiveStore], repo_root: Path,
              repo_id: str | None = None) -> Selection:
    found = resolve_report(spec, stores, repo_root, repo_id)
    return Selection([found], f"explicit {found.key}")
