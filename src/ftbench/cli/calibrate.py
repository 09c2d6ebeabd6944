"""``ft-bench calibrate``: an A/A run of the target against itself, several rounds."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ftbench.cli.common import bounded, repo_root
from ftbench.cli.target import (
    add_sample_arguments,
    add_target_arguments,
    resolve_target,
    run_settings,
)
from ftbench.errors import EXIT_OK

DEFAULT_ROUNDS = 5
MIN_ROUNDS = 5  # judge.calibration.MIN_ROUNDS (not imported: --help stays fast)
CAP = 2.0  # judge.calibration.CAP_FACTOR


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from ftbench.judge import options as d

    cal = sub.add_parser(
        "calibrate",
        help="measure this machine's noise for a target (A/A) and store thresholds",
        description="Run the target against itself, interleaved pair by pair as --against "
        "does, several rounds. Prints the false-alarm rate and noise floor measured on this "
        "machine and the thresholds it recommends; stores them so that later runs of the "
        "same target on the same machine class use them by default (docs/regression.md).",
    )
    add_target_arguments(cal)
    add_sample_arguments(cal, allow_failure=False)
    cal.add_argument(
        "--rounds",
        type=bounded(int, low=2),
        default=DEFAULT_ROUNDS,
        metavar="N",
        help=f"A/A rounds (default {DEFAULT_ROUNDS})",
    )
    cal.add_argument("--metric", choices=d.METRIC_CHOICES, default="auto", help="deciding metric")
    cal.add_argument(
        "--force",
        action="store_true",
        help=f"store the thresholds measured even above {CAP:g}x the defaults (or from fewer "
        f"than {MIN_ROUNDS} rounds): they can then hide real slowdowns",
    )
    cal.add_argument("--archive-dir", help="local archive directory (calibrations live in it)")
    cal.add_argument("--repo-id", help="repository id used in archive keys")
    cal.add_argument("--out-dir", type=Path, help="log directory (default: .firsttry)")
    cal.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ftbench import pipeline
    from ftbench.judge.options import JudgeOptions

    root = repo_root(args.repo)
    settings = run_settings(args)
    target = resolve_target(args, root, settings)
    outcome = pipeline.calibrate(
        pipeline.RunRequest(
            root=root,
            target=target,
            settings=settings,
            judge=JudgeOptions(metric=args.metric),
            out_dir=Path(os.path.abspath(args.out_dir)) if args.out_dir else root / ".firsttry",
            archive_dir=Path(args.archive_dir) if args.archive_dir else None,
            repo_id=args.repo_id,
        ),
        args.rounds,
        force=args.force,
    )
    stored = outcome.stored
    print(f"calibration: {target.tier} ({stored.mode} mode), {stored.rounds} A/A rounds")
    print("  round  verdict       change   noise floor")
    for i, r in enumerate(outcome.rounds, 1):
        change = "-" if r.pct_change is None else f"{r.pct_change:+.1f}%"
        floor = "-" if r.noise_floor_pct is None else f"{r.noise_floor_pct:.1f}%"
        print(f"  {i:>5}  {r.verdict:<12}  {change:>7}  {floor:>11}")
    rate = stored.false_alarms / stored.rounds
    print(
        f"  false alarms: {stored.false_alarms} of {stored.rounds} ({rate:.0%}) "
        f"at the default A/B threshold; metric: {stored.metric}"
    )
    if stored.noise_floor_pct is not None:
        print(f"  noise floor (median of rounds): {stored.noise_floor_pct:.1f}%")
    print(
        f"  measured: --regress-pct {stored.archive_measured_pct:g} (archive judge, 95% bound "
        f"on the noise between rounds), {stored.against_measured_pct:g} (--against)"
    )
    if (stored.archive_pct, stored.against_pct) != (
        stored.archive_measured_pct,
        stored.against_measured_pct,
    ):
        print(
            f"  capped at {CAP:g}x the defaults: {stored.archive_pct:g} (archive judge), "
            f"{stored.against_pct:g} (--against); this machine is too noisy to gate at the "
            "measured thresholds (--force stores them anyway; --against gates noisy machines)"
        )
    if outcome.path is None:
        print(
            f"  not stored: {stored.rounds} rounds give too wide a bound on the noise (at least "
            f"{MIN_ROUNDS}; --force stores it anyway); later runs keep the default thresholds"
        )
        return EXIT_OK
    print(
        f"  stored: {outcome.path} (the default thresholds of later runs of this target on "
        "this machine class while the tool versions stay the same)"
    )
    return EXIT_OK
