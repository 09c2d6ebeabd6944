"""What the commands share: argparse value types (numbers within bounds, one-line errors),
the judge's options, the history range (``--last``, ``--since``) and the repository-root
resolver."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ftbench.errors import UsageError

if TYPE_CHECKING:
    from ftbench.judge.options import JudgeOptions

N = TypeVar("N", int, float)


def bounded(
    kind: Callable[[str], N],
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
) -> Callable[[str], N]:
    """A ``type=`` for argparse: ``kind`` (int or float) parsed, finite, within the bounds."""
    noun = "a whole number" if kind is int else "a number"
    limits = []
    if low is not None:
        limits.append(f"{'>' if open_low else '>='} {low:g}")
    if high is not None:
        limits.append(f"{'<' if open_high else '<='} {high:g}")
    expected = f"{noun} {' and '.join(limits)}".strip()

    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        too_low = low is not None and (value <= low if open_low else value < low)
        too_high = high is not None and (value >= high if open_high else value > high)
        if not math.isfinite(value) or too_low or too_high:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_count = bounded(int, low=2)


def last_reports(text: str) -> int | None:
    """``--last``: a number of reports (at least 2) or ``all`` (None)."""
    return None if text.strip().lower() == "all" else _count(text)


def since_time(text: str) -> str:
    """``--since``: a date or time (ISO 8601; without a zone: UTC) as the reports write
    their timestamps, ``2026-11-01T00:00:00Z``, so that it compares with them as text."""
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date (2026-11-01) or a time (2026-11-01T10:00:00Z), got {text!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def add_range_arguments(group: argparse._ActionsContainer, *, last: int | None, what: str) -> None:
    """``--last N|all`` (default ``last``; None: all) and ``--since DATE``: which part of the
    history ``what`` covers (``trend`` and ``dashboard``)."""
    group.add_argument(
        "--last",
        type=last_reports,
        default=last,
        metavar="N",
        help=f"at most the newest N reports{what}, or 'all' (default {last or 'all'})",
    )
    group.add_argument(
        "--since",
        type=since_time,
        default=None,
        metavar="DATE",
        help="only reports from DATE on (2026-11-01 or 2026-11-01T10:00:00Z; no zone: UTC)",
    )


def repo_root(explicit: Path | None) -> Path:
    """The repository every command works in: ``--repo``, else the git top level of the
    current directory, else the current directory. The one resolver of every command."""
    if explicit is not None:
        if not explicit.is_dir():
            raise UsageError(f"--repo: not a directory: {explicit}")
        return explicit.resolve()
    from ftbench.measure.environment import git

    top = git(Path.cwd(), "rev-parse", "--show-toplevel")
    return Path(top).resolve() if top else Path.cwd().resolve()


def add_location_arguments(parser: argparse.ArgumentParser, *, repo_id: bool = True) -> None:
    """``--repo``, ``--archive-dir`` and (``repo_id``) ``--repo-id`` of the commands that read
    the archive."""
    p = parser
    p.add_argument(
        "--repo",
        type=Path,
        default=None,
        metavar="DIR",
        help="repository root (default: the git top level of the current directory)",
    )
    p.add_argument(
        "--archive-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="local archive directory (default: $FTBENCH_ARCHIVE_DIR or .firsttry/archive)",
    )
    if repo_id:
        p.add_argument(
            "--repo-id",
            default=None,
            metavar="ID",
            help="repository id (default: $S3_REPO_ID, else derived from the git remote or "
            "the path)",
        )


def add_judge_arguments(parser: argparse.ArgumentParser, *, selection: bool = True) -> None:
    """The judge's options. ``selection=False`` leaves out the baseline-choice options
    (``ft-bench compare`` names its baseline explicitly)."""
    from ftbench.judge import options as d

    group = parser.add_argument_group("regression judge (see docs/regression.md)")
    group.add_argument(
        "--regress-pct",
        type=bounded(float, low=0),
        default=None,
        metavar="PCT",
        help=f"smallest slowdown (percent of the median) that counts as a regression "
        f"(default: a stored calibration's ('ft-bench calibrate'), else "
        f"{d.DEFAULT_REGRESS_PCT:g}, or {d.DEFAULT_AB_REGRESS_PCT:g} with --against)",
    )
    group.add_argument(
        "--metric",
        choices=(*d.METRIC_CHOICES, *d.METRIC_ALIASES),
        default=None,
        help="what gates the verdict: any (default): a regression in wall or CPU time; or "
        "wall, cpu (user+sys time) or rss (peak memory) alone (auto: any). Every metric is "
        "judged and reported",
    )
    group.add_argument(
        "--alpha",
        type=bounded(float, low=0, high=1, open_low=True, open_high=True),
        default=None,
        metavar="P",
        help=f"false-alarm rate of the whole job, split across phases (and looks, with "
        f"--against) (default {d.DEFAULT_ALPHA:g})",
    )
    if selection:
        group.add_argument(
            "--baseline",
            default=None,
            metavar="auto|latest|none|FILE|KEY",
            help="baseline: recent reports of the base/same branch (auto, default), the most "
            "recent matching report (latest), none, a report file or an archive key",
        )
        group.add_argument(
            "--baseline-branch",
            default=None,
            metavar="BRANCH",
            help="branch whose reports form the baseline (default: the PR/MR target branch "
            "from GITHUB_BASE_REF or CI_MERGE_REQUEST_TARGET_BRANCH_NAME, else this "
            "branch)",
        )
        group.add_argument(
            "--baseline-count",
            type=bounded(int, low=1),
            default=None,
            metavar="N",
            help=f"number of recent reports (runs) in the baseline; the spread between runs "
            f"is estimated from them (default {d.DEFAULT_BASELINE_COUNT})",
        )
    if selection:
        group.add_argument(
            "--confirm",
            choices=d.CONFIRM_CHOICES,
            default=None,
            help="when the archive judge suspects a change (a regression, or one beyond the "
            "threshold it cannot decide), measure an interleaved A/B run against the baseline "
            "runs' commit and let it decide (auto, default), or not (never)",
        )
    group.add_argument(
        "--accept",
        action="append",
        default=None,
        metavar="SPEC",
        help="an intended slowdown for this run, as a commit trailer 'Ftbench-Accept: SPEC' "
        "declares one: 'TIER [warm|cold|any] [wall|cpu|rss|any] +PCT%%[: why]' (repeatable)",
    )
    group.add_argument(
        "--fail-on",
        choices=d.FAIL_ON_CHOICES,
        default=None,
        help="which phase's regression exits 4 (default any)",
    )
    group.add_argument(
        "--allow-incomparable",
        action="store_true",
        default=None,
        help="judge even against reports from another machine class, measuring backend or "
        "tool versions",
    )


def judge_options(ns: argparse.Namespace) -> JudgeOptions:
    """The judge's options from a namespace filled by :func:`add_judge_arguments`."""
    from ftbench.judge.options import JudgeOptions

    given = {
        name: getattr(ns, name, None)
        for name in (
            "regress_pct",
            "alpha",
            "baseline",
            "baseline_branch",
            "baseline_count",
            "fail_on",
            "allow_incomparable",
            "metric",
            "confirm",
        )
    }
    if getattr(ns, "accept", None):
        from ftbench.judge.accept import parse

        given["accept"] = tuple(parse(spec) for spec in ns.accept)
    return JudgeOptions(**{k: v for k, v in given.items() if v is not None})
