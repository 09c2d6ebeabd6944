"""Progress on stderr: a rich bar on a terminal, plain lines when asked for in CI, else quiet."""

from __future__ import annotations

import sys
from typing import Any

from ftbench.measure.runner import Progress
from ftbench.report.markdown import fmt_s


class PlainProgress(Progress):
    """One line per finished run, for CI logs when ``--progress`` is given."""

    def phase(self, name: str, total: int) -> None:
        print(f"[ftbench] {name}: {total} run(s)", file=sys.stderr, flush=True)

    def sample(self, name: str, index: int, total: int, wall_s: float, ok: bool) -> None:
        mark = "" if ok else " FAILED"
        print(
            f"[ftbench] {name} {index}/{total}: {fmt_s(wall_s)}{mark}", file=sys.stderr, flush=True
        )


class RichProgress(Progress):
    """A live bar per phase: phase, sample i/N, last time."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._bar.start()
        self._task: Any = None

    def phase(self, name: str, total: int) -> None:
        self._task = self._bar.add_task(f"{name:>6}", total=total, last="")

    def sample(self, name: str, index: int, total: int, wall_s: float, ok: bool) -> None:
        last = f"last {fmt_s(wall_s)}" + ("" if ok else " [red]failed[/red]")
        self._bar.update(self._task, completed=index, last=last)

    def close(self) -> None:
        self._bar.stop()


def choose(mode: str) -> Progress:
    """``mode``: ``auto`` (bar on a terminal, quiet otherwise), ``always`` or ``never``."""
    if mode == "never":
        return Progress()
    if sys.stderr.isatty():
        return RichProgress()
    return PlainProgress() if mode == "always" else Progress()
