"""``ft-bench compare BASE NEW``: judge one report (or set) against another with the same judge.

``BASE`` and ``NEW`` are each a report file (relative to the working directory or the
repository root), an archive key (full key, or just its file name
``2026-11-25T13:58:00Z-benchmark-0123456789ab.json``: BASE's within NEW's repository id,
NEW's within this repository's), or a comma-separated list of those, a *set*, whose samples
are pooled (a run named twice counts once)::

    ft-bench compare .firsttry/old.json .firsttry/bench_proof.json
    ft-bench compare a.json,b.json,c.json .firsttry/bench_proof.json
    ft-bench compare benchmarks/abcd1234/2026-11-24T10:00:00Z-benchmark-0123456789ab.json new.json

Prints a table (rich on a terminal, plain text otherwise; ``--json`` prints the verdict block)
and exits 4 on a regression of a phase named by ``--fail-on``, else 0. BASE and NEW that differ
in tier, mode, configuration hash, machine class, measuring backend or tool versions are not
judged: the verdict is ``not comparable`` and names each difference, unless
``--allow-incomparable`` is given. The reports of a set are pooled only when they do not
differ (else exit 2, naming the differences).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ftbench.cli import tables
from ftbench.cli.common import add_judge_arguments, judge_options, repo_root
from ftbench.errors import UsageError

if TYPE_CHECKING:  # the stages are imported by the command that uses them
    from ftbench.judge.baseline import History
    from ftbench.report.model import KeyedReport, Verdict

HELP = "compare two reports (or sets of reports) with the regression judge"
DESCRIPTION = (
    "Judge NEW against BASE with the same statistics as `ft-bench run`. Each of BASE and NEW "
    "is a report file, an archive key, or a comma-separated list of them (a set: samples are "
    "pooled). Exits 4 on a regression, 0 otherwise. Reports that differ in tier, mode, "
    "configuration, machine class or tool versions are not judged (the differences are named) "
    "unless --allow-incomparable is given."
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``compare`` subcommand (sets ``func``)."""
    p = subparsers.add_parser("compare", help=HELP, description=DESCRIPTION)
    p.add_argument("base", metavar="BASE", help="baseline report(s): FILE|KEY[,FILE|KEY...]")
    p.add_argument("new", metavar="NEW", help="new report(s): FILE|KEY[,FILE|KEY...]")
    p.add_argument(
        "--repo",
        type=Path,
        default=None,
        metavar="DIR",
        help="repository root whose archive resolves keys (default: the git top "
        "level of the current directory)",
    )
    p.add_argument(
        "--archive-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="local archive directory (default: .firsttry/archive)",
    )
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    add_judge_arguments(p, selection=False)
    p.set_defaults(func=run)


def split_specs(text: str) -> list[str]:
    """``"a.json, b.json"`` -> ``["a.json", "b.json"]``; a usage error when empty."""
    specs = [part.strip() for part in text.split(",") if part.strip()]
    if not specs:
        raise UsageError(f"no report named in {text!r}")
    return specs


def run(args: argparse.Namespace) -> int:
    from ftbench.judge.baseline import resolve_report
    from ftbench.judge.core import judge, pool

    options = judge_options(args)
    root = repo_root(args.repo)
    base_specs, new_specs = split_specs(args.base), split_specs(args.new)
    history: History | None = None
    notes: list[str] = []
    if not all(_is_file(s, root) for s in base_specs + new_specs):
        from ftbench.archive.sync import open_archives

        history, notes = open_archives(root, args.archive_dir, check=True)
    # NEW's file-name keys are looked up under this repository's id, BASE's under NEW's
    own_id = (
        _own_repo_id(root)
        if any(not _is_file(s, root) and "/" not in s for s in new_specs)
        else None
    )
    new = _once(
        [resolve_report(s, history, root, own_id, side="NEW") for s in new_specs], "NEW", notes
    )
    base_id = new[0].report.repo_id
    base = _once(
        [resolve_report(s, history, root, base_id, side="BASE") for s in base_specs], "BASE", notes
    )
    _check_sets(new, base, options.allow_incomparable, notes)
    verdict = judge(pool([n.report for n in new]), base, options, same_target=True)
    if args.json:
        from ftbench.report.codec import to_value

        out: dict[str, Any] = to_value(verdict)
        out["new"] = [n.key for n in new]
        out["notes"] = [*verdict.notes, *notes]
        print(json.dumps(out, indent=2))
    else:
        print_table(verdict, [n.key for n in new], notes, sys.stdout)
    return verdict.exit_code


def _check_sets(
    new: list[KeyedReport], base: list[KeyedReport], allowed: bool, notes: list[str]
) -> None:
    """Reports of one set are pooled only when they do not differ (tier, mode, configuration,
    machine class, tool versions): a usage error naming each difference, unless ``allowed``
    (then they become notes)."""
    from ftbench.judge.comparable import differences

    for side, reports in (("NEW", new), ("BASE", base)):
        for other in reports[1:]:
            diff = differences(other.report, reports[0].report)
            if not diff:
                continue
            what = f"{side} reports differ ({reports[0].key} -> {other.key}: {'; '.join(diff)})"
            if not allowed:
                raise UsageError(f"{what}; use --allow-incomparable to pool them anyway")
            notes.append(f"{what}, pooled anyway (--allow-incomparable)")


def _is_file(spec: str, root: Path) -> bool:
    return Path(spec).is_file() or (root / spec).is_file()


def _own_repo_id(root: Path) -> str | None:
    from ftbench.archive.repo_id import repo_id

    try:
        return repo_id(root)
    except UsageError:  # a bad S3_REPO_ID: only full keys can be found
        return None


def _once(reports: list[KeyedReport], side: str, notes: list[str]) -> list[KeyedReport]:
    """``reports`` without repeats of one run (a file named twice, or as a file and a key):
    pooling a run's samples twice would make any difference look significant."""
    seen: dict[str, str] = {}
    out = []
    for r in reports:
        if r.report.run_id in seen:
            notes.append(f"{side}: {r.key} is the run of {seen[r.report.run_id]}, counted once")
            continue
        seen[r.report.run_id] = r.key
        out.append(r)
    return out


def table_rows(verdict: Verdict) -> list[list[str]]:
    from ftbench.report.formats import fmt_s

    """The table's rows (header first): one per judged phase."""
    rows = [["phase", "baseline median (n)", "new median (n)", "change", "95% CI", "p", "verdict"]]
    for name, p in verdict.phases.items():
        ci = "-" if p.ci95_pct is None else f"{p.ci95_pct[0]:+.1f}%..{p.ci95_pct[1]:+.1f}%"
        rows.append(
            [
                name,
                f"{fmt_s(p.baseline.median)} ({p.baseline.n})",
                f"{fmt_s(p.current.median)} ({p.current.n})",
                "-" if p.pct_change is None else f"{p.pct_change:+.1f}%",
                ci,
                "-" if p.p_value is None else f"{p.p_value:.2g}",
                p.verdict,
            ]
        )
    return rows


def print_table(
    verdict: Verdict, new_keys: Sequence[str], notes: Sequence[str], out: TextIO
) -> None:
    rows = table_rows(verdict)
    footer = [
        f"baseline: {', '.join(verdict.baseline.keys) or '-'}",
        f"new: {', '.join(new_keys)}",
        f"verdict: {verdict.verdict} - {verdict.summary}",
    ]
    footer += [f"note: {n}" for n in [*verdict.notes, *notes]]
    styles = {
        i: {"regression": "bold red", "improvement": "green"}.get(row[-1], "")
        for i, row in enumerate(rows[1:])
    }
    title = f"ft-bench compare (threshold {verdict.threshold_pct:g}%, alpha {verdict.alpha:g})"
    tables.print_table(rows, out, title=title, text_title=False, styles=styles, footer=footer)
