"""``ft-bench dashboard``: a static site of charts over the repository's archive
(``docs/trends.md``, "Dashboard")."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ftbench.analyse import DEFAULT_PENALTY, MAX_POINTS
from ftbench.cli.common import add_location_arguments, add_range_arguments, bounded
from ftbench.errors import EXIT_OK
from ftbench.report.escape import terminal

HELP = "write a static site of trend charts for every tier, phase and step"
DESCRIPTION = (
    "Write a static site (HTML pages with their data and scripts inside, and SVG charts) of "
    "this repository's archived history: one page per tier and mode with every phase, step "
    "and metric selectable, change points and regression verdicts marked. A long history is "
    f"down-sampled to at most {MAX_POINTS:,} points per series, change points kept exact. "
    "Needs no extra."
)
_penalty = bounded(float, low=0, open_low=True)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    p = subparsers.add_parser("dashboard", help=HELP, description=DESCRIPTION)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("ftbench-dashboard"),
        metavar="DIR",
        help="directory to write (default ./ftbench-dashboard)",
    )
    add_location_arguments(p, repo_id=True)
    p.add_argument("--branch", default=None, metavar="B", help="only reports of branch B")
    add_range_arguments(p, last=None, what=" of each tier and mode")
    p.add_argument(
        "--penalty",
        type=_penalty,
        default=DEFAULT_PENALTY,
        metavar="X",
        help=f"change-point penalty (default {DEFAULT_PENALTY:g}; see ft-bench trend)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ftbench import paths
    from ftbench.analyse.dashboard import build
    from ftbench.archive.repo_id import repo_id
    from ftbench.archive.sync import open_archives
    from ftbench.cli.common import repo_root

    root = repo_root(args.repo)
    paths.check(args.out / "svg", paths.anchor(args.out, root))  # no link on the way
    rid = repo_id(root, args.repo_id)
    archives, notes = open_archives(root, args.archive_dir, scan_limit=None, check=True)
    site = build(
        archives,
        rid,
        args.out,
        branch=args.branch,
        last=args.last,
        since=args.since,
        penalty=args.penalty,
        notes=notes,
    )
    print(
        f"dashboard: {site.pages[0]} ({len(site.pages) - 1} page(s), {len(site.svgs)} SVG "
        f"chart(s), {site.reports} report(s) of repository {rid})"
    )
    for note in site.notes:
        print(terminal(f"note: {note}"))
    return EXIT_OK
