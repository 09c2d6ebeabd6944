"""Errors that map to ftbench's exit codes; the CLI prints them as one line, never a traceback."""

from __future__ import annotations

from typing import Literal

EXIT_OK: Literal[0] = 0
EXIT_USAGE = 2
EXIT_COMMAND_FAILED = 3
EXIT_REGRESSION: Literal[4] = 4
EXIT_SETUP = 5


class FtbenchError(Exception):
    """An expected failure with a one-line message and an exit code."""

    exit_code = EXIT_SETUP

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        # one line, always: names from configuration (quoted TOML keys) may hold line breaks
        super().__init__(" ".join(message.splitlines()))
        if exit_code is not None:
            self.exit_code = exit_code


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, for notes about a failure that is not fatal."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


class UsageError(FtbenchError):
    exit_code = EXIT_USAGE


class SetupError(FtbenchError):
    exit_code = EXIT_SETUP


class ConfigError(SetupError):
    """Bad ``[tool.ftbench]`` / ``ftbench.toml`` content."""


class UnsafePathError(SetupError):
    """A cache path that would clear something outside the repository root."""
