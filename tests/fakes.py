"""Scripted executors: runner, pipeline and CLI tests without processes."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Generator, Iterable, Sequence

from ftbench.measure.executor import Job, ProcessResult


def result(
    wall_s: float = 0.01,
    *,
    exit_code: int = 0,
    timed_out: bool = False,
    user_s: float = 0.0,
    sys_s: float = 0.0,
    max_rss_kb: int | None = 1000,
    rss_exact: bool = True,
    rss_floor_kb: int = 0,
) -> ProcessResult:
    """A ProcessResult with defaults for what a test does not care about."""
    return ProcessResult(
        wall_s,
        user_s,
        sys_s,
        max_rss_kb,
        rss_exact,
        rss_floor_kb,
        -1 if timed_out else exit_code,
        timed_out,
    )


Outcome = ProcessResult | BaseException


class FakeExecutor:
    """Records every job; answers from ``script`` in order (an exception is raised), then
    from ``respond(job)``, else a successful 10 ms result."""

    name = "fake"

    def __init__(
        self, script: Iterable[Outcome] = (), respond: Callable[[Job], Outcome] | None = None
    ) -> None:
        self.script = list(script)
        self.respond = respond
        self.jobs: list[Job] = []
        self.closed = 0

    def run(
        self, jobs: Sequence[Job], *, stop_on_failure: bool
    ) -> Generator[ProcessResult, None, None]:
        for job in jobs:
            self.jobs.append(job)
            if self.script:
                outcome = self.script.pop(0)
            elif self.respond is not None:
                outcome = self.respond(job)
            else:
                outcome = result()
            if isinstance(outcome, BaseException):
                raise outcome
            yield outcome
            if stop_on_failure and not outcome.ok:
                return

    def close(self) -> None:
        self.closed += 1


_NAP = re.compile(rb"sleep\(([0-9.]+)\)")
#: what the interpreter's start-up adds to a napping command's wall time, in the fake
STARTUP_S = 0.02


class Naps(FakeExecutor):
    """Commands that take, in wall time, the seconds they sleep (``time.sleep(S)`` in their
    arguments, else in their tree's ``nap.py``) plus an interpreter's start-up, with
    ``noise_pct`` of seeded noise; 10 ms of CPU. For the CLI and pipeline tests that only
    need timings: nothing runs, and the answers are the same on a quiet machine and a loaded
    one."""

    def __init__(self, noise_pct: float = 1.0, seed: int = 19) -> None:
        super().__init__(respond=self._nap)
        self._noise = noise_pct / 100
        self._random = random.Random(seed)

    def _nap(self, job: Job) -> ProcessResult:
        found = _NAP.search(" ".join(job.argv).encode()) or _NAP.search(
            (job.cwd / "nap.py").read_bytes()
        )
        nap = float(found.group(1)) if found else 0.0
        wall = (nap + STARTUP_S) * (1 + self._random.gauss(0, self._noise))
        return result(round(wall, 6), user_s=0.008, sys_s=0.002, max_rss_kb=9000)


class Levels(FakeExecutor):
    """Commands that do what their tree's ``level.txt`` (``MiB nap exit``) says, as
    ``tests/test_bisect.py``'s workload does: peak RSS ``MiB`` above an interpreter's (48 MiB
    when both ``a.flag`` and ``b.flag`` exist), wall ``nap`` plus a start-up, exit ``exit``."""

    def __init__(self) -> None:
        super().__init__(respond=self._level)

    def _level(self, job: Job) -> ProcessResult:
        mib, nap, code = (job.cwd / "level.txt").read_text().split()
        if (job.cwd / "a.flag").exists() and (job.cwd / "b.flag").exists():
            mib = "48"
        wall = float(nap) + STARTUP_S
        return result(wall, exit_code=int(code), user_s=0.008, max_rss_kb=9000 + int(mib) * 1024)
