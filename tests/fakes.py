"""A scripted executor: runner tests without processes."""

from __future__ import annotations

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
