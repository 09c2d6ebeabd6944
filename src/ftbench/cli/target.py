"""The arguments naming what is measured and how often, shared by ``run``, ``bisect`` and
``calibrate`` (as asv shares argument groups), and their reading: one definition each, so a
check such as "--cache needs --cmd" cannot be lost in a copy."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ftbench.cli.common import bounded
from ftbench.errors import UsageError

if TYPE_CHECKING:
    from ftbench.measure.config import Target
    from ftbench.measure.runner import RunSettings

MODES = ("fast", "normal", "full")
_count = bounded(int, low=0)
_seconds = bounded(float, low=0, open_low=True)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """``--tier``, ``--cmd`` (``--cache``, ``--shell``) and ``--repo`` (run, bisect, calibrate)."""
    target = parser.add_argument_group("target")
    target.add_argument(
        "--tier",
        help="tier from configuration or built-in (default: the configuration's default_tier, "
        "else lite)",
    )
    target.add_argument("--cmd", help="benchmark this command instead of a tier")
    target.add_argument(
        "--cache",
        action="append",
        metavar="PATH",
        help="cache path of --cmd, cleared before cold samples (repeatable)",
    )
    target.add_argument("--shell", action="store_true", help="run --cmd through /bin/sh")
    target.add_argument(
        "--repo",
        type=Path,
        help="repository root (default: the git top level of the current directory)",
    )


def add_mode_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--mode`` (run, bisect, calibrate, and ``tiers``, which shows each mode's commands)."""
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="normal",
        help="sample counts: fast 3 cold/5 warm, normal 5/10, full 10/30",
    )


def add_sample_arguments(parser: argparse.ArgumentParser, *, allow_failure: bool = True) -> None:
    """Sample counts, timeouts and failures (run, bisect, calibrate), read by
    :func:`run_settings`."""
    samples = parser.add_argument_group("samples")
    add_mode_argument(samples)
    samples.add_argument("--runs", type=_count, metavar="N", help="warm samples")
    samples.add_argument("--cold-runs", type=_count, metavar="N", help="cold samples")
    samples.add_argument(
        "--warmup", type=_count, metavar="N", help="unrecorded warm-up runs before the warm samples"
    )
    samples.add_argument("--skip-cold", action="store_true", help="no cold phase")
    samples.add_argument("--skip-warm", action="store_true", help="no warm phase")
    samples.add_argument(
        "--timeout-s",
        type=_seconds,
        metavar="S",
        help="bound on each sample; the process group is killed after it",
    )
    samples.add_argument(
        "--max-procs", type=_count, metavar="N", help="exported to the target as FT_MAX_PROCS"
    )
    if allow_failure:
        samples.add_argument(
            "--allow-failure",
            action="store_true",
            help="keep going and exit 0 when a command fails or times out",
        )
    samples.add_argument(
        "-i",
        "--ignore-failure",
        action="store_true",
        help="time every sample whatever its exit code (as hyperfine -i; recorded in the "
        "report, exit codes kept); timeouts still fail",
    )


def run_settings(args: argparse.Namespace) -> RunSettings:
    from ftbench.measure.config import MODES as COUNTS
    from ftbench.measure.runner import RunSettings

    cold, warm, warmup = COUNTS[args.mode]
    explicit = any(v is not None for v in (args.runs, args.cold_runs, args.warmup))
    if args.skip_cold and args.skip_warm:
        raise UsageError("--skip-cold and --skip-warm leave nothing to run")
    for name in ("runs", "cold_runs"):
        if getattr(args, name) == 0:
            raise UsageError(
                f"--{name.replace('_', '-')} must be at least 1 (use "
                f"--skip-{'warm' if name == 'runs' else 'cold'})"
            )
    return RunSettings(
        mode=args.mode if not explicit else "custom" if args.mode == "normal" else args.mode,
        cold_runs=args.cold_runs if args.cold_runs is not None else cold,
        warm_runs=args.runs if args.runs is not None else warm,
        warmup=args.warmup if args.warmup is not None else warmup,
        skip_cold=args.skip_cold,
        skip_warm=args.skip_warm,
        timeout_s=args.timeout_s,
        max_procs=args.max_procs,
        allow_failure=getattr(args, "allow_failure", False),
        ignore_failure=args.ignore_failure,
    )


def resolve_target(args: argparse.Namespace, root: Path, settings: RunSettings) -> Target:
    """The target ``--tier``/``--cmd`` name, its programs checked (a usage error when the
    arguments do not fit together)."""
    from ftbench.measure import tools

    if args.cmd is None and (args.cache or args.shell):
        raise UsageError("--cache and --shell only apply to --cmd")
    if args.cmd is not None and args.tier is not None:
        raise UsageError("give either --tier or --cmd, not both")
    target = tools.resolve_target(
        root, tier=args.tier, cmd=args.cmd, cache=args.cache, shell=args.shell
    )
    tools.check_commands(target, settings.mode, root)
    return target
