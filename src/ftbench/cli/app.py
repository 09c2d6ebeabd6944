"""Command line: wires measure -> report -> judge -> archive. No logic of its own.

Only the standard library is imported at start-up; each command imports what it needs, so
``ft-bench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ftbench import __version__
from ftbench.cli.args import bounded
from ftbench.errors import EXIT_MEANINGS, EXIT_OK, EXIT_USAGE, FtbenchError

if TYPE_CHECKING:
    from ftbench.measure.runner import RunSettings

PROG = "ft-bench"


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (plus a hint) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_count = bounded(int, low=0)
_seconds = bounded(float, low=0, open_low=True)


def build_parser() -> argparse.ArgumentParser:
    from ftbench.analyse import trend
    from ftbench.cli import archive as archive_cli
    from ftbench.cli import compare
    from ftbench.judge import core as judge

    parser = _Parser(prog=PROG, description="FirstTry benchmark harness: cold and warm timings "
                     "with statistical regression verdicts and archived reports.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="benchmark a tier or a command, cold and warm",
                         description="Benchmark a tier (or --cmd) cold and warm, write "
                         ".firsttry/bench_proof.{json,md} and bench_report.env, judge "
                         "regressions and archive the report.")
    target = run.add_argument_group("target")
    target.add_argument("--tier", help="tier from configuration or built-in (default: lite)")
    target.add_argument("--cmd", help="benchmark this command instead of a tier")
    target.add_argument("--cache", action="append", metavar="PATH",
                        help="cache path of --cmd, cleared before cold samples (repeatable)")
    target.add_argument("--shell", action="store_true", help="run --cmd through /bin/sh")
    target.add_argument("--repo", type=Path, help="repository root (default: the git "
                        "top level of the current directory)")
    samples = run.add_argument_group("samples")
    samples.add_argument("--mode", choices=("fast", "normal", "full"), default="normal",
                         help="sample counts: fast 3 cold/5 warm, normal 5/10, full 10/30")
    samples.add_argument("--runs", type=_count, metavar="N", help="warm samples")
    samples.add_argument("--cold-runs", type=_count, metavar="N", help="cold samples")
    samples.add_argument("--warmup", type=_count, metavar="N",
                         help="unrecorded warm-up runs before the warm samples")
    samples.add_argument("--skip-cold", action="store_true", help="no cold phase")
    samples.add_argument("--skip-warm", action="store_true", help="no warm phase")
    samples.add_argument("--timeout-s", type=_seconds, metavar="S",
                         help="bound on each sample; the process group is killed after it")
    samples.add_argument("--max-procs", type=_count, metavar="N",
                         help="exported to the target as FT_MAX_PROCS")
    samples.add_argument("--allow-failure", action="store_true",
                         help="keep going and exit 0 when a command fails or times out")
    output = run.add_argument_group("output")
    output.add_argument("--out-dir", type=Path, help="report directory (default: .firsttry "
                        "under the repository root)")
    output.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="progress on stderr: auto (terminal only), always, never")
    output.add_argument("--quiet", action="store_true", help="do not print the summary")
    judge.add_judge_arguments(run)
    archive_cli.add_archive_arguments(run)
    run.set_defaults(func=cmd_run)

    tiers = sub.add_parser("tiers", help="print the tiers and exactly what each would run")
    tiers.add_argument("--repo", type=Path, help="repository root")
    tiers.add_argument("--mode", choices=("fast", "normal", "full"), default="normal")
    tiers.set_defaults(func=cmd_tiers)

    compare.register(sub)
    trend.register(sub)
    archive_cli.register(sub)
    return parser


def repo_root(explicit: Path | None) -> Path:
    if explicit is not None:
        if not explicit.is_dir():
            raise FtbenchError(f"--repo: not a directory: {explicit}", exit_code=EXIT_USAGE)
        return explicit.resolve()
    from ftbench.measure.environment import git

    top = git(Path.cwd(), "rev-parse", "--show-toplevel")
    return Path(top).resolve() if top else Path.cwd().resolve()


def _settings(args: argparse.Namespace) -> RunSettings:
    from ftbench.measure.config import MODES
    from ftbench.measure.runner import RunSettings

    cold, warm, warmup = MODES[args.mode]
    explicit = any(v is not None for v in (args.runs, args.cold_runs, args.warmup))
    if args.skip_cold and args.skip_warm:
        raise FtbenchError("--skip-cold and --skip-warm leave nothing to run",
                           exit_code=EXIT_USAGE)
    for name in ("runs", "cold_runs"):
        if getattr(args, name) == 0:
            raise FtbenchError(f"--{name.replace('_', '-')} must be at least 1 (use "
                               f"--skip-{'warm' if name == 'runs' else 'cold'})",
                               exit_code=EXIT_USAGE)
    return RunSettings(
        mode=args.mode if not explicit else "custom" if args.mode == "normal" else args.mode,
        cold_runs=args.cold_runs if args.cold_runs is not None else cold,
        warm_runs=args.runs if args.runs is not None else warm,
        warmup=args.warmup if args.warmup is not None else warmup,
        skip_cold=args.skip_cold, skip_warm=args.skip_warm, timeout_s=args.timeout_s,
        max_procs=args.max_procs, allow_failure=args.allow_failure)


def cmd_run(args: argparse.Namespace) -> int:
    from ftbench.archive.local import default_archive_dir
    from ftbench.archive.repo_id import repo_id
    from ftbench.archive.sync import archive_report
    from ftbench.cli import progress
    from ftbench.judge import core as judge
    from ftbench.measure import config
    from ftbench.measure.runner import Runner
    from ftbench.report.build import ENV_NAME, JSON_NAME, MD_NAME, build_report, write_reports
    from ftbench.report.markdown import render

    if args.cmd is None and (args.cache or args.shell):
        raise FtbenchError("--cache and --shell only apply to --cmd", exit_code=EXIT_USAGE)
    if args.cmd is not None and args.tier is not None:
        raise FtbenchError("give either --tier or --cmd, not both", exit_code=EXIT_USAGE)
    root = repo_root(args.repo)
    settings = _settings(args)
    judge_options = judge.JudgeOptions.from_args(args)
    target = config.resolve_target(root, tier=args.tier, cmd=args.cmd, cache=args.cache,
                                   shell=args.shell)
    config.check_commands(target, settings.mode, root)
    out_dir = (args.out_dir or root / ".firsttry").resolve()
    reports = tuple(out_dir / name for name in (JSON_NAME, MD_NAME, ENV_NAME))
    runner = Runner(target, settings, root, out_dir / "bench_artifacts",
                    progress.choose("never" if args.quiet else args.progress),
                    protected=(*reports, default_archive_dir(root, args.archive_dir)))
    result = runner.run()

    report = build_report(result, root, repo_id=repo_id(root, args.repo_id))
    # Measured data is safe from here on, whatever the judge or the archive do next.
    write_reports(report, out_dir, render(report), pretty=False)

    verdict = None
    judge_error: FtbenchError | None = None
    if result.error is None or settings.allow_failure:
        try:
            verdict = judge.evaluate(report, root, judge_options,
                                     archive_dir=args.archive_dir)
            report["regression"] = verdict.to_dict()
        except FtbenchError as exc:  # e.g. --baseline FILE missing: still archive the run
            judge_error = exc
    archive_out = io.StringIO()
    archive_report(report, root, upload_s3=args.upload_s3, archive_dir=args.archive_dir,
                   repo_id_override=args.repo_id, out=archive_out)  # sets report["archive"]
    markdown = render(report)
    write_reports(report, out_dir, markdown)

    if not args.quiet:
        print(markdown)
    sys.stdout.write(archive_out.getvalue())
    _append_step_summary(markdown)
    if result.error is not None and not (settings.allow_failure and
                                         result.error.exit_code == 3):
        raise result.error
    if judge_error is not None:
        raise judge_error
    return verdict.exit_code() if verdict is not None else EXIT_OK


def _append_step_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    except OSError as exc:
        print(f"[WARN] cannot append to GITHUB_STEP_SUMMARY: {exc.strerror}", file=sys.stderr)


def cmd_tiers(args: argparse.Namespace) -> int:
    import shlex

    from ftbench.measure.config import available_tiers

    root = repo_root(args.repo)
    tiers = available_tiers(root)
    if not tiers:
        print("no tiers: no [tool.ftbench] / ftbench.toml and no known checks found "
              f"in {root}")
        return EXIT_OK
    for name, target in tiers.items():
        print(f"{name}  ({target.source})" + (f": {target.description}"
                                             if target.description else ""))
        for step in target.steps:
            argv = step.argv(name, args.mode)
            shown = argv[2] if step.shell else shlex.join(argv)
            print(f"  - {step.name}: {shown}")
            if step.cache:
                print(f"      cache: {', '.join(step.cache)}")
            if step.clear:
                print(f"      clear: {step.clear_argv(name, args.mode)}")
            if step.env:
                print(f"      env: {', '.join(f'{k}={v}' for k, v in step.env.items())}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    try:
        parser = build_parser()
        args = parser.parse_args(arguments)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return EXIT_USAGE
        return int(args.func(args))
    except FtbenchError as exc:
        if debug:
            raise
        from ftbench.redact import scrub

        print(f"{PROG}: error: {scrub(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            raise
        from ftbench.redact import scrub

        print(f"{PROG}: internal error: {type(exc).__name__}: {scrub(str(exc))} "
              "(run with --debug for a traceback)", file=sys.stderr)
        return 1


def exit_meaning(code: int) -> str:
    return EXIT_MEANINGS.get(code, "unexpected failure")
