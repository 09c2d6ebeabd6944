"""``ft-bench run`` and ``ft-bench tiers``: arguments, then the pipeline."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftbench.cli.common import add_judge_arguments, bounded, judge_options, repo_root
from ftbench.cli.target import (
    add_mode_argument,
    add_sample_arguments,
    add_target_arguments,
    resolve_target,
    run_settings,
)
from ftbench.errors import EXIT_OK, UsageError
from ftbench.report.escape import terminal, workflow_data

if TYPE_CHECKING:
    from ftbench.measure.runner import RunSettings
    from ftbench.report.model import Report


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``run`` and ``tiers``."""
    from ftbench.cli.archive import add_archive_arguments

    run = sub.add_parser(
        "run",
        help="benchmark a tier or a command, cold and warm",
        description="Benchmark a tier (or --cmd) cold and warm, write "
        ".firsttry/bench_proof.{json,md} and bench_report.env, judge "
        "regressions and archive the report.",
    )
    add_target_arguments(run)
    add_sample_arguments(run)
    output = run.add_argument_group("output")
    output.add_argument(
        "--out-dir",
        type=Path,
        help="report directory (default: .firsttry under the repository root)",
    )
    output.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress on stderr: a bar on a terminal, plain lines (every run, at least "
        "every 30 s) otherwise; never: none (auto and always are the same)",
    )
    output.add_argument("--quiet", action="store_true", help="do not print the summary")
    output.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="summary on stdout: plain text (default) or the Markdown of bench_proof.md",
    )
    output.add_argument(
        "--markdown",
        dest="format",
        action="store_const",
        const="markdown",
        help="same as --format markdown",
    )
    add_judge_arguments(run)
    ab = run.add_argument_group("A/B (see docs/regression.md)")
    ab.add_argument(
        "--against",
        metavar="REF",
        help="also measure REF (any commit-ish; 'auto': the merge-base with the pull/merge "
        "request's base branch) in a temporary worktree, interleaved pair by pair with this "
        "tree, and judge the pairs instead of the archive",
    )
    ab.add_argument(
        "--confirm-budget-s",
        type=bounded(float, low=0, open_low=True),
        metavar="S",
        help="the most time an A/B run confirming the archive judge's suspicion may take "
        "(default: 3 times the run's own measuring time, at least 30 s)",
    )
    ab.add_argument(
        "--base-definition",
        choices=("own", "current"),
        default="own",
        help="when the tier's definition differs between REF and HEAD: each side runs its own "
        "(own, default: a changed command is part of the commit; steps only one side has are "
        "measured, not judged) or both run HEAD's (current)",
    )
    ab.add_argument(
        "--bisect",
        action="store_true",
        help="when the A/B verdict is a regression and REF..HEAD holds more than one commit, "
        "find the commit it came with (as ft-bench bisect REF HEAD; docs/bisect.md) and name "
        "it in the verdict",
    )
    ab.add_argument(
        "--bisect-budget-min",
        type=bounded(float, low=0, open_low=True),
        default=None,
        metavar="N",
        help="the most minutes --bisect may take (default 30; implies --bisect); when it "
        "runs out, the narrowed range is the answer",
    )
    add_archive_arguments(run)
    run.set_defaults(func=cmd_run)

    tiers = sub.add_parser("tiers", help="print the tiers and exactly what each would run")
    tiers.add_argument("--repo", type=Path, help="repository root")
    add_mode_argument(tiers)
    tiers.set_defaults(func=cmd_tiers)


def _warn_huge_plan(settings: RunSettings) -> None:
    """Warn before a plan of tens of thousands of samples (issue 9: --runs 1000000)."""
    from ftbench.measure.logs import huge_plan_warning

    cold = 0 if settings.skip_cold else settings.cold_runs
    warm = 0 if settings.skip_warm else settings.warmup + settings.warm_runs
    warning = huge_plan_warning(cold + warm)
    if warning:
        print(warning, file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from ftbench import pipeline
    from ftbench.cli.progress import choose

    if (args.bisect or args.bisect_budget_min is not None) and args.against is None:
        raise UsageError("--bisect needs --against REF (the range REF..HEAD is bisected)")
    root = repo_root(args.repo)
    settings = run_settings(args)
    _warn_huge_plan(settings)
    options = judge_options(args)
    _warn_config(root)
    target = resolve_target(args, root, settings)
    outcome = pipeline.run(
        pipeline.RunRequest(
            root=root,
            target=target,
            settings=settings,
            judge=options,
            out_dir=Path(os.path.abspath(args.out_dir)) if args.out_dir else root / ".firsttry",
            archive_dir=Path(args.archive_dir) if args.archive_dir else None,
            repo_id=args.repo_id,
            upload_s3=args.upload_s3,
            against=args.against,
            confirm_budget_s=args.confirm_budget_s,
            base_definition=args.base_definition,
            bisect_budget_s=_bisect_budget(args),
            progress=choose("never" if args.quiet else args.progress),
        )
    )
    if not args.quiet:  # the run's error is printed once: on stderr, by the CLI
        text = outcome.markdown if args.format == "markdown" else _text(outcome.report, args)
        print(text)
    _warn_no_baseline(outcome.report)
    verdict = outcome.report.regression
    if args.quiet and verdict is not None and verdict.exit_code != EXIT_OK:
        print(f"ft-bench: {terminal(verdict.verdict)}: {terminal(verdict.summary)}")
    _warn_warm_slower(outcome.report)
    sys.stdout.write(outcome.archive_output)
    append_step_summary(outcome.markdown)
    if outcome.error is not None:
        raise outcome.error
    return outcome.exit_code


def _bisect_budget(args: argparse.Namespace) -> float | None:
    """``--bisect``'s budget in seconds (None: no bisection)."""
    if not args.bisect and args.bisect_budget_min is None:
        return None
    from ftbench.judge.options import DEFAULT_BUDGET_MIN

    return 60.0 * (args.bisect_budget_min or DEFAULT_BUDGET_MIN)


def _warn_config(root: Path) -> None:
    from ftbench.measure.config import config_warnings, load_config

    loaded = load_config(root)
    for line in config_warnings(*loaded) if loaded is not None else ():
        print(f"[WARN] {terminal(line)}", file=sys.stderr)


def _warn_warm_slower(report: Report) -> None:
    """Warm slower than cold (by 10% and 50 ms): the caches may not be what the tier uses."""
    cold, warm = report.runs.cold, report.runs.warm
    if cold is None or warm is None or not cold.elapsed_s or not warm.elapsed_s:
        return
    if warm.elapsed_s > cold.elapsed_s * 1.10 and warm.elapsed_s - cold.elapsed_s > 0.05:
        print(
            f"[WARN] warm median {warm.elapsed_s:.3f}s is slower than cold median "
            f"{cold.elapsed_s:.3f}s: the cleared caches do not speed this tier up, or the "
            "machine was busier during the warm samples (docs/measurement.md)",
            file=sys.stderr,
        )


def _text(report: Report, args: argparse.Namespace) -> str:
    from ftbench.report.text import render_text

    where = str((args.out_dir or Path(".firsttry")) / "bench_proof.json")
    return render_text(report, where, error=False)


def _warn_no_baseline(report: Report) -> None:
    """In CI, a run without a baseline gated nothing: say so loudly (and how to fix it)."""
    from ftbench.report.text import no_baseline_warning

    message = no_baseline_warning(report)
    if message is None:
        return
    print(f"[WARN] {message}", file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":  # an annotation on the workflow run
        print(f"::warning title=ftbench: no baseline::{workflow_data(message)}")


def append_step_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    except OSError as exc:
        print(f"[WARN] cannot append to GITHUB_STEP_SUMMARY: {exc.strerror}", file=sys.stderr)


def cmd_tiers(args: argparse.Namespace) -> int:
    from ftbench.measure import interpreter, tools
    from ftbench.redact import scrub

    root = repo_root(args.repo)
    _warn_config(root)
    tiers = tools.available_tiers(root)
    interp = interpreter.find(root, os.environ)
    notes = tools.builtin_tiers(root, interp, interpreter.command_path(interp, os.environ)).notes
    for note in notes:
        print(f"# {note}")
    if not tiers:
        print(f"no tiers: no [tool.ftbench] / ftbench.toml and no known checks found in {root}")
        return EXIT_OK
    for name, target in tiers.items():
        about = f": {target.description}" if target.description else ""
        print(terminal(f"{name}  ({target.source}){about}"))
        if target.writes == "restore":
            print("  writes: restore (changed tracked files put back after every sample)")
        for step in target.steps:
            argv = step.argv(name, args.mode)
            shown = argv[2] if step.shell else shlex.join(argv)
            print(terminal(f"  - {step.name}: {scrub(shown)}"))
            if step.cache:
                print(terminal(f"      cache: {', '.join(step.cache)}"))
            if step.clear:
                print(terminal(f"      clear: {scrub(str(step.clear_argv(name, args.mode)))}"))
            if step.env:
                env = scrub(", ".join(f"{k}={v}" for k, v in step.env.items()))
                print(terminal(f"      env: {env}"))
            if step.ok_exit_codes != (0,):
                print(f"      ok exit codes: {', '.join(map(str, step.ok_exit_codes))}")
            if step.pycache:
                print("      python bytecode: cold in cold samples (PYTHONPYCACHEPREFIX)")
    return EXIT_OK
