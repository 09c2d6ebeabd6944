"""``ft-bench``: the parser of every command and the one error handler.

Only the standard library is imported at start-up; each command imports what it needs, so
``ft-bench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ftbench import __version__
from ftbench.errors import EXIT_SETUP, EXIT_USAGE, FtbenchError, UsageError

PROG = "ft-bench"


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (plus a hint) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from ftbench.cli import archive, bisect, calibrate, compare, dashboard, init, query, run, trend

    parser = _Parser(
        prog=PROG,
        description="FirstTry benchmark harness: cold and warm timings "
        "with statistical regression verdicts and archived reports.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run.register(sub)
    init.register(sub)
    calibrate.register(sub)
    bisect.register(sub)
    compare.register(sub)
    trend.register(sub)
    query.register(sub)
    dashboard.register(sub)
    archive.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every error is one line on stderr (``--debug``: the traceback)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    try:
        _check_text(arguments)
        parser = build_parser()
        args = parser.parse_args(arguments)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return EXIT_USAGE
        from ftbench.archive.deadline import command_budget
        from ftbench.signals import handle_signals

        # SIGTERM and SIGHUP end a run the way Ctrl-C does; all S3 work shares one deadline
        with handle_signals(), command_budget():
            return int(args.func(args))
    except FtbenchError as exc:
        if debug:
            raise
        _print_error(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt as exc:
        from ftbench.signals import exit_code

        print(f"{PROG}: interrupted", file=sys.stderr)
        return exit_code(exc)
    except OSError as exc:  # the file system: read-only, full, a name too long, ...
        if debug:
            raise
        where = f" at {os.fsdecode(exc.filename)}" if exc.filename else ""
        _print_error(f"error: file system error{where}: {exc.strerror or exc}")
        return EXIT_SETUP
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            raise
        _print_error(
            f"internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)"
        )
        return 1


def _check_text(arguments: Sequence[str]) -> None:
    """Arguments are text: bytes that are not UTF-8 (kept by Python as surrogates) could not
    be written to a report; a usage error, before anything runs."""
    for number, argument in enumerate(arguments, 1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(
                f"argument {number} holds bytes that are not UTF-8 text "
                "(reports, logs and archives are UTF-8)"
            ) from None


def _print_error(message: str) -> None:
    """One line: secrets masked, and no control character from a name the message quotes."""
    from ftbench.redact import scrub
    from ftbench.report.escape import terminal

    print(f"{PROG}: {terminal(scrub(message))}", file=sys.stderr)
