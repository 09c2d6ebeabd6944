"""The seam between the runner and the processes it measures: jobs in, results out.

The runner only needs an :class:`Executor`; :mod:`ftbench.measure.probe` has the real ones
(``forkserver`` and ``direct``), ``tests/fakes.py`` a scripted one.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

RSS_SCOPE = "largest process"
"""What ``max_rss_kb`` covers: ``ru_maxrss`` of a waited process is the peak of the largest
single process among it and the descendants it waited for, not the sum over the tree."""


@dataclass(frozen=True)
class Job:
    """One command to measure: ``header`` and then its stdout and stderr are appended to
    ``log_path`` (the samples of a batch share one log, each with its own header line)."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    timeout_s: float | None = None
    header: bytes = b""


@dataclass(frozen=True)
class ProcessResult:
    """What one run of one command cost.

    ``max_rss_kb`` is in KiB whatever the platform. It is exact when ``rss_exact``; otherwise
    the command's own peak is at most ``rss_floor_kb`` (what it may have inherited at fork),
    and ``max_rss_kb`` is that upper bound, or None when it would only be the harness's.
    """

    wall_s: float
    user_s: float
    sys_s: float
    max_rss_kb: int | None
    rss_exact: bool
    rss_floor_kb: int
    exit_code: int  # 128+N when killed by signal N; -1 when timed out
    timed_out: bool

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class Executor(Protocol):
    """Runs jobs one at a time, each in its own session, and measures them."""

    @property
    def name(self) -> str:
        """The backend's name, as reports record it."""
        ...

    def run(
        self, jobs: Sequence[Job], *, stop_on_failure: bool
    ) -> Generator[ProcessResult, None, None]:
        """Run ``jobs`` one after another, each to its end (or its timeout: its whole process
        group is killed), yielding each result as it comes; with ``stop_on_failure``, none
        after the first that fails or times out.

        Ctrl-C (KeyboardInterrupt), or closing the iterator early, kills the running
        command's group and starts no further job.
        """
        ...

    def close(self) -> None:
        """Release what the executor holds; it may be used again afterwards."""
        ...
