"""``ft-bench init``: arguments, then ``ftbench.adopt``; prints what it chose and did."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ftbench.cli.common import repo_root
from ftbench.errors import EXIT_OK
from ftbench.report.escape import terminal

CI_CHOICES = ("github", "gitlab", "pre-commit")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from ftbench.adopt import DEFAULT_NAME, FILE_CHOICES

    init = sub.add_parser(
        "init",
        help="write a tier of the repository's own checks (and a CI file that runs it)",
        description="Look at the repository (its tests, the linters and type checkers it "
        "configures, the interpreter its commands use), write a tier of them into "
        "ftbench.toml or pyproject.toml's [tool.ftbench] as the default tier, and with --ci "
        "the CI file that benchmarks it. Nothing existing is replaced without --force.",
    )
    init.add_argument("--repo", type=Path, help="repository root (default: the git top level)")
    init.add_argument(
        "--tier", default=DEFAULT_NAME, help=f"name of the tier written (default: {DEFAULT_NAME})"
    )
    init.add_argument(
        "--file",
        choices=FILE_CHOICES,
        default="auto",
        help="where the tier goes (auto: ftbench.toml when it exists, else pyproject.toml, "
        "else a new ftbench.toml)",
    )
    init.add_argument("--ci", choices=CI_CHOICES, help="also write this CI file (docs/ci.md)")
    init.add_argument(
        "--source",
        metavar="URL",
        help="ftbench's repository, for the CI file (e.g. https://github.com/OWNER/ftbench); "
        "default: placeholders to fill in",
    )
    init.add_argument("--rev", help="ftbench's tag for the CI file (default: this version's)")
    init.add_argument("--force", action="store_true", help="replace an existing tier or file")
    init.add_argument(
        "--print",
        dest="dry_run",
        action="store_true",
        help="show what would be written, write nothing",
    )
    init.set_defaults(func=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    from ftbench.adopt.init import InitRequest, init
    from ftbench.adopt.recipes import lines

    root = repo_root(args.repo)
    done = init(
        InitRequest(
            root=root,
            tier=args.tier,
            file=args.file,
            ci=args.ci,
            force=args.force,
            source=args.source,
            rev=args.rev,
            dry_run=args.dry_run,
        )
    )
    seen = done.seen
    say = print
    say(terminal(f"interpreter: {seen.interp.describe()}"))
    steps = len(seen.checks)
    say(terminal(f"tier '{args.tier}' ({steps} step{'s' if steps != 1 else ''}):"))
    for check in seen.checks:
        say(terminal(f"  - {check.name}: {' '.join(check.cmd)}  ({check.why})"))
    for note in seen.notes:
        say(terminal(f"  # {note}"))
    for note in done.notes:
        say(terminal(f"note: {note}"))
    if args.dry_run:
        say(f"--- {done.config}")
        say(done.tier_text.rstrip("\n"))
    elif done.config_written:
        say(terminal(f"wrote {done.config}: tier '{args.tier}', the default tier of ft-bench run"))
    if done.ci is not None:
        recipe = done.ci
        count = lines(recipe.text)
        if args.dry_run:
            say(f"--- {recipe.path} ({count} lines)")
            say(recipe.text.rstrip("\n"))
        elif done.ci_written:
            say(terminal(f"wrote {recipe.path} ({count} lines)"))
        else:
            say(terminal(f"{recipe.path} exists: kept (--force replaces it); the recipe is:"))
            say(recipe.text.rstrip("\n"))
        if seen.install:
            say(terminal(f"CI installs the project with: {seen.install}"))
        if recipe.todo:
            say(terminal(f"to do: {recipe.todo}"))
    say("next: ft-bench tiers (what each tier runs), ft-bench run (benchmark the default tier)")
    return EXIT_OK
