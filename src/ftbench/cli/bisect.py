"""``ft-bench bisect GOOD BAD``: the commit that made it slower (``docs/bisect.md``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftbench.cli.common import bounded, repo_root
from ftbench.errors import EXIT_OK
from ftbench.report.escape import terminal

if TYPE_CHECKING:
    from ftbench.measure.results import Progress
    from ftbench.report.bisect import BisectStep


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from ftbench.cli.target import add_sample_arguments, add_target_arguments
    from ftbench.judge import options as d

    p = sub.add_parser(
        "bisect",
        help="find the commit that made it slower: interleaved A/B steps within a budget",
        description="Find the first commit on the first-parent path from GOOD to BAD whose "
        "performance is like BAD's: BAD is measured against GOOD first (is it slower at "
        "all?), then each step measures a commit interleaved against the nearest decided one "
        "until the answer is clear; merges are bisected into, failing commits skipped, and "
        "the culprit is confirmed against its parent. When the budget runs out the answer "
        "is the narrowed range. Exits 0 with an answer (a commit, a range, or no slowdown).",
    )
    p.add_argument("good", metavar="GOOD", help="a commit as fast as it should be")
    p.add_argument(
        "bad",
        metavar="BAD",
        help="a later commit that is slower (default HEAD)",
        nargs="?",
        default="HEAD",
    )
    add_target_arguments(p)
    add_sample_arguments(p, allow_failure=False)
    judge = p.add_argument_group("judge (see docs/bisect.md)")
    judge.add_argument(
        "--metric",
        choices=d.METRIC_CHOICES,
        default="any",
        help="which regression is bisected: any (default): of wall and CPU time, the one "
        "standing out most from its noise; "
        "or wall, cpu or rss (peak memory)",
    )
    judge.add_argument(
        "--regress-pct",
        type=bounded(float, low=0),
        default=None,
        metavar="PCT",
        help=f"smallest slowdown from GOOD to BAD worth bisecting (default "
        f"{d.DEFAULT_AB_REGRESS_PCT:g})",
    )
    judge.add_argument(
        "--alpha",
        type=bounded(float, low=0, high=1, open_low=True, open_high=True),
        default=None,
        metavar="P",
        help=f"false-alarm rate of the A/B runs (default {d.DEFAULT_ALPHA:g})",
    )
    judge.add_argument(
        "--budget-min",
        type=bounded(float, low=0, open_low=True),
        default=d.DEFAULT_BUDGET_MIN,
        metavar="N",
        help=f"the most minutes the bisection may take (default {d.DEFAULT_BUDGET_MIN:g}); when "
        "it runs out, the narrowed range is the answer",
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="the answer on stdout: a table of steps (text, default), Markdown for a PR "
        "comment, or JSON (culprit, range, steps, budget used)",
    )
    out.add_argument(
        "--json", dest="format", action="store_const", const="json", help="same as --format json"
    )
    out.add_argument(
        "--markdown",
        dest="format",
        action="store_const",
        const="markdown",
        help="same as --format markdown",
    )
    out.add_argument(
        "--out-dir",
        type=Path,
        help="where the steps' logs go, under bench_artifacts/bisect/ (default: .firsttry)",
    )
    out.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress on stderr: a line per step, and a bar of the samples on a terminal "
        "(auto, default); always: the samples' lines off a terminal too; never: none",
    )
    out.add_argument("--quiet", action="store_true", help="no progress, only the answer")
    p.set_defaults(func=cmd_bisect)


def cmd_bisect(args: argparse.Namespace) -> int:
    from ftbench.cli.target import resolve_target, run_settings
    from ftbench.judge.options import JudgeOptions
    from ftbench.pipeline.bisect import BisectRequest, bisect
    from ftbench.pipeline.request import RunRequest, check_places

    root = repo_root(args.repo)
    settings = run_settings(args)
    options = JudgeOptions(
        regress_pct=args.regress_pct,
        metric=args.metric,
        baseline="none",
        **({"alpha": args.alpha} if args.alpha is not None else {}),
    )
    target = resolve_target(args, root, settings)
    run = RunRequest(
        root=root,
        target=target,
        settings=settings,
        judge=options,
        out_dir=Path(os.path.abspath(args.out_dir)) if args.out_dir else root / ".firsttry",
        progress=_samples_progress(args),
    )
    check_places(run)
    found, error = bisect(
        BisectRequest(
            run,
            args.good,
            args.bad,
            60.0 * args.budget_min,
            on_step=None if args.quiet or args.progress == "never" else _progress,
        )
    )
    if args.format == "json":
        from ftbench.report.codec import to_value

        print(json.dumps(to_value(found), indent=2, ensure_ascii=False))
    else:
        from ftbench.report.bisect_text import render_text
        from ftbench.report.bisect_view import render_markdown

        markdown = render_markdown(found)
        print(markdown if args.format == "markdown" else render_text(found), end="")
        from ftbench.cli.run import append_step_summary

        append_step_summary(markdown)
    if error is not None:
        raise error
    return EXIT_OK


def _samples_progress(args: argparse.Namespace) -> Progress:
    """A bar on a terminal (``auto``), lines elsewhere too (``always``), else nothing."""
    from ftbench.cli.progress import choose
    from ftbench.measure.results import Progress

    if args.quiet or args.progress == "never":
        return Progress()
    if args.progress == "auto" and not sys.stderr.isatty():
        return Progress()
    return choose(args.progress)


def _progress(step: BisectStep) -> None:
    """One line per measured step on stderr."""
    from ftbench.report.formats import fmt_pct

    change = f" {fmt_pct(step.pct_change)}" if step.pct_change is not None else ""
    against = f" against {step.reference[:12]}" if step.reference else ""
    print(
        terminal(
            f"ft-bench bisect: {step.kind} {step.commit[:12]} '{step.subject}'{against}:"
            f"{change} {step.decision} ({step.pairs} pairs, {step.elapsed_s:.0f} s)"
        ),
        file=sys.stderr,
        flush=True,
    )
