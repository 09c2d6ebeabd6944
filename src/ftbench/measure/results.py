"""What the runner produces: settings in, samples and phases out (``runner.py`` runs them).

Kept apart from the runner so the measuring loop stays readable; ``ftbench.measure.runner``
re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ftbench.errors import FtbenchError
from ftbench.measure import cache
from ftbench.measure.config import MODES, Target
from ftbench.measure.executor import RSS_SCOPE, ProcessResult
from ftbench.measure.load import LoadReading
from ftbench.measure.tree import TreeStats


@dataclass(frozen=True)
class RunSettings:
    mode: str = "normal"
    cold_runs: int = MODES["normal"][0]
    warm_runs: int = MODES["normal"][1]
    warmup: int = MODES["normal"][2]
    skip_cold: bool = False
    skip_warm: bool = False
    timeout_s: float | None = None
    max_procs: int | None = None
    allow_failure: bool = False
    ignore_failure: bool = False  # every sample counts whatever its exit code (not timeouts)


@dataclass(frozen=True)
class StepSample:
    name: str
    result: ProcessResult
    log: str  # path relative to the repository root
    accepted: bool | None = None  # its exit code counts as success; None: exit code 0

    @property
    def ok(self) -> bool:
        return self.result.ok if self.accepted is None else self.accepted


@dataclass(frozen=True)
class Sample:
    phase: str
    index: int
    steps: tuple[StepSample, ...]

    @property
    def wall_s(self) -> float:
        return sum(s.result.wall_s for s in self.steps)

    @property
    def user_s(self) -> float:
        return sum(s.result.user_s for s in self.steps)

    @property
    def sys_s(self) -> float:
        return sum(s.result.sys_s for s in self.steps)

    @property
    def max_rss_kb(self) -> int | None:
        known = [s.result.max_rss_kb for s in self.steps if s.result.max_rss_kb is not None]
        return max(known) if known else None

    @property
    def rss_exact(self) -> bool:
        return all(s.result.rss_exact for s in self.steps)

    @property
    def timed_out(self) -> bool:
        return any(s.result.timed_out for s in self.steps)

    @property
    def exit_code(self) -> int:
        return next((s.result.exit_code for s in self.steps if s.result.exit_code != 0), 0)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)


@dataclass
class PhaseResult:
    name: str
    planned: int
    samples: list[Sample] = field(default_factory=list)
    #: CPU ms of the reference loop, read before, during (cold) and after the phase
    speed_refs: list[float] = field(default_factory=list)
    cache_usage: cache.CacheUsage | None = None
    #: share of the phase's wall time in which some task waited for a CPU (Linux PSI)
    pressure_pct: float | None = None


@dataclass
class BenchResult:
    target: Target
    settings: RunSettings
    started_at: datetime
    phases: dict[str, PhaseResult] = field(default_factory=dict)
    error: FtbenchError | None = None
    probe_backend: str = ""
    rss_scope: str = RSS_SCOPE  # what max_rss_kb covers (see executor.RSS_SCOPE)
    load: LoadReading | None = None  # how busy the machine was while measuring
    tree: TreeStats | None = None  # the tracked files' checks (measure/tree.py)


class Progress:
    """Receives progress events; the base class ignores them."""

    def phase(self, name: str, total: int) -> None:
        """A phase (``cold``, ``warmup``, ``warm``) starts with ``total`` runs."""

    def sample(self, name: str, index: int, total: int, wall_s: float, ok: bool) -> None:
        """Run ``index`` (1-based) of the phase finished."""

    def step(self, name: str, index: int, step: str) -> None:
        """Step ``step`` of run ``index`` of phase ``name`` starts (not called in batches)."""

    def pairs(self, name: str, first: int, last: int, cap: int | None) -> None:
        """A/B: pairs ``first``..``last`` of phase ``name`` start (``first > 1``: sampling was
        extended, the answer not yet clear), at most ``cap`` pairs in all. Default: a phase."""
        self.phase(name, last - first + 1)

    def pair(
        self, name: str, index: int, last: int, side: str, wall_s: float, ok: bool, first: int = 1
    ) -> None:
        """A/B: the ``side`` (``base`` or ``current``) of pair ``index`` (of ``last``) finished.
        Default: the current side's as a sample of the stretch that started at ``first``."""
        if side == "current":
            self.sample(name, index - first + 1, last - first + 1, wall_s, ok)

    def close(self) -> None:
        """The run is over."""
