"""Progress on stderr: a live bar on a terminal, plain lines off a terminal.

On a terminal: phase, current step, runs done, elapsed time and the phase's ETA (the mean of
its finished runs times the runs left), refreshed while a run is going. Off a terminal (CI
logs, files): one line per finished run, and a line at least every ``interval`` seconds while
a run is still going, so a 15-minute tier never looks stuck; no cursor escapes. Step names
come from the repository: shown on one line without control characters, never as rich markup.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from ftbench.measure.runner import Progress
from ftbench.report.escape import terminal
from ftbench.report.formats import fmt_s

HEARTBEAT_S = 30.0


def clock_text(seconds: float) -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _Tracker:
    """What is running: phase, run i/N, step; times of the finished runs; the ETA."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.started = clock()
        self.phase, self.total, self.done, self.step = "", 0, 0, ""
        self.pair: tuple[int, int] | None = None  # A/B: the pairs of the current stretch
        self.run_started = self.started
        self.times: list[float] = []

    def begin_phase(self, name: str, total: int) -> None:
        self.phase, self.total, self.done, self.times = name, total, 0, []
        self.pair = None
        self.run_started = self.clock()

    def finish(self, index: int, wall_s: float) -> None:
        self.done = index
        self.times.append(wall_s)
        self.run_started = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def eta(self) -> float | None:
        if not self.times:
            return None
        return sum(self.times) / len(self.times) * max(0, self.total - self.done)


class PlainProgress(Progress):
    """Plain lines: one per finished run, and one at least every ``interval`` seconds."""

    def __init__(
        self,
        out: TextIO | None = None,
        interval: float = HEARTBEAT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._out = out if out is not None else sys.stderr
        self._interval = interval
        self._state = _Tracker(clock)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_line = clock()
        self._thread: threading.Thread | None = None

    def _print(self, text: str) -> None:
        with self._lock:
            print(f"[ftbench] {terminal(text)}", file=self._out, flush=True)
            self._last_line = self._state.clock()

    def phase(self, name: str, total: int) -> None:
        self._state.begin_phase(name, total)
        self._print(f"{name}: {total} run(s) (elapsed {clock_text(self._state.elapsed())})")
        if self._thread is None and self._interval > 0:
            self._thread = threading.Thread(target=self._beat, name="ftbench-progress")
            self._thread.daemon = True
            self._thread.start()

    def step(self, name: str, index: int, step: str) -> None:
        self._state.step = step

    def sample(self, name: str, index: int, total: int, wall_s: float, ok: bool) -> None:
        st = self._state
        st.finish(index, wall_s)
        eta = st.eta()
        self._print(
            f"{name} {index}/{total}: {fmt_s(wall_s)}{'' if ok else ' FAILED'} "
            f"(elapsed {clock_text(st.elapsed())}"
            + (f", {name} ETA {clock_text(eta)})" if eta is not None and index < total else ")")
        )

    def pairs(self, name: str, first: int, last: int, cap: int | None) -> None:
        self._state.begin_phase(name, 2 * (last - first + 1))
        self._state.pair = (first, last)
        elapsed = clock_text(self._state.elapsed())
        most = f", at most {cap}" if cap is not None and cap > last else ""
        if first == 1:
            self._print(
                f"{name}: {last} pair(s) of base and current samples, interleaved{most} "
                f"(elapsed {elapsed})"
            )
        else:
            self._print(
                f"{name}: extended to {last} pairs{most}: not clear after {first - 1} "
                f"(elapsed {elapsed})"
            )
        if self._thread is None and self._interval > 0:
            self._thread = threading.Thread(target=self._beat, name="ftbench-progress")
            self._thread.daemon = True
            self._thread.start()

    def pair(
        self, name: str, index: int, last: int, side: str, wall_s: float, ok: bool, first: int = 1
    ) -> None:
        st = self._state
        st.finish(st.done + 1, wall_s)
        eta = st.eta()
        self._print(
            f"{name} pair {index}/{last} {side}: {fmt_s(wall_s)}{'' if ok else ' FAILED'} "
            f"(elapsed {clock_text(st.elapsed())}"
            + (
                f", {name} ETA {clock_text(eta)})"
                if eta is not None and st.done < st.total
                else ")"
            )
        )

    def heartbeat(self) -> None:
        """The line printed when nothing was printed for ``interval`` seconds."""
        st = self._state
        step = f", step {st.step}" if st.step else ""
        running = clock_text(st.clock() - st.run_started)
        where = f"{min(st.done + 1, st.total)}/{st.total}"
        if st.pair is not None:  # A/B: the pair running, two samples each
            where = f"pair {min(st.pair[0] + st.done // 2, st.pair[1])}/{st.pair[1]}"
        self._print(
            f"{st.phase} {where}{step}: running for {running} (elapsed {clock_text(st.elapsed())})"
        )

    def _beat(self) -> None:
        while not self._stop.wait(min(self._interval, 1.0)):
            if self._state.clock() - self._last_line >= self._interval:
                self.heartbeat()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None


class RichProgress(Progress):
    """A live bar per phase: phase and step, runs i/N, elapsed, ETA, last time."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._state = _Tracker(time.monotonic)
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            TextColumn("{task.fields[last]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._bar.start()
        self._task: Any = None

    def phase(self, name: str, total: int) -> None:
        self._state.begin_phase(name, total)
        step = self._state.step
        self._task = self._bar.add_task(self._describe(name, step), total=total, last="", eta="")

    def _describe(self, name: str, step: str) -> str:
        from rich.markup import escape

        shown = escape(terminal(step))
        return f"{escape(terminal(name)):>6}" + (f" [dim]{shown}[/dim]" if shown else "")

    def step(self, name: str, index: int, step: str) -> None:
        self._state.step = step
        self._bar.update(self._task, description=self._describe(name, step))

    def sample(self, name: str, index: int, total: int, wall_s: float, ok: bool) -> None:
        self._state.finish(index, wall_s)
        eta = self._state.eta()
        last = f"last {fmt_s(wall_s)}" + ("" if ok else " [red]failed[/red]")
        shown = f"ETA {clock_text(eta)}" if eta is not None and index < total else ""
        self._bar.update(self._task, completed=index, last=last, eta=shown)

    def pairs(self, name: str, first: int, last: int, cap: int | None) -> None:
        self._state.begin_phase(name, 2 * (last - first + 1))
        label = f"{name} pairs" if first == 1 else f"{name} pairs {first}-{last} (extended)"
        total = 2 * (last - first + 1)
        self._task = self._bar.add_task(self._describe(label, ""), total=total, last="", eta="")

    def pair(
        self, name: str, index: int, last: int, side: str, wall_s: float, ok: bool, first: int = 1
    ) -> None:
        st = self._state
        st.finish(st.done + 1, wall_s)
        eta = st.eta()
        done = f"pair {index}/{last} {side} {fmt_s(wall_s)}" + ("" if ok else " [red]failed[/red]")
        shown = f"ETA {clock_text(eta)}" if eta is not None and st.done < st.total else ""
        self._bar.update(self._task, completed=st.done, last=done, eta=shown)

    def close(self) -> None:
        self._bar.stop()


def choose(mode: str) -> Progress:
    """``mode``: ``auto`` (a bar on a terminal, plain lines otherwise), ``always`` (the same)
    or ``never``."""
    if mode == "never":
        return Progress()
    if sys.stderr.isatty():
        return RichProgress()
    return PlainProgress()
