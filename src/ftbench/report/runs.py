"""The measured part of the report model: ``runs`` (phases, samples, their statistics).

Kept apart from :mod:`.model` so the judge's blocks (:mod:`.verdict`) can hold runs too (an A/B
confirmation keeps every pair it measured); :mod:`.model` re-exports every name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ftbench.report.codec import OMIT_NONE, minimum

PHASE_NAMES = ("cold", "warm")


@dataclass(frozen=True, kw_only=True)
class Stats:
    """Summary of a set of values (seconds); ``ci95`` is the 95% CI of the median."""

    n: int = field(metadata=minimum(0))
    median: float | None
    mean: float | None
    stdev: float | None
    min: float | None
    max: float | None
    mad: float | None
    ci95: tuple[float, float] | None


@dataclass(frozen=True, kw_only=True)
class StepSample:
    name: str
    wall_s: float = field(metadata=minimum(0))
    user_s: float = field(metadata=minimum(0))
    sys_s: float = field(metadata=minimum(0))
    max_rss_kb: int | None
    rss_exact: bool
    rss_floor_kb: int | None
    exit_code: int
    timed_out: bool
    log: str


@dataclass(frozen=True, kw_only=True)
class Sample:
    """One timed run of the whole target: sums over its steps (peak RSS: the largest)."""

    index: int = field(metadata=minimum(1))
    wall_s: float = field(metadata=minimum(0))
    user_s: float = field(metadata=minimum(0))
    sys_s: float = field(metadata=minimum(0))
    max_rss_kb: int | None
    rss_exact: bool
    exit_code: int
    timed_out: bool
    ok: bool
    steps: tuple[StepSample, ...]

    @property
    def counts(self) -> bool:
        """Whether the judge and the summaries use it: ok, not timed out, wall time > 0."""
        return self.ok and not self.timed_out and self.wall_s > 0


@dataclass(frozen=True, kw_only=True)
class CacheSize:
    bytes: int
    files: int


@dataclass(frozen=True, kw_only=True)
class Phase:
    """``runs.cold`` or ``runs.warm``: summaries over the ok samples, and every sample."""

    elapsed_s: float | None
    ok: bool
    exit_code: int
    planned: int
    failed_samples: int
    timed_out_samples: int
    stats: Stats
    user_s_median: float | None
    sys_s_median: float | None
    max_rss_kb: int | None
    rss_exact: bool
    steps: dict[str, Stats]
    cache: CacheSize | None
    samples: tuple[Sample, ...]
    #: CPU time (ms) of a fixed reference loop around the phase (median of readings): the
    #: machine's speed at the time; the archive judge compares CPU times relative to it
    speed_ref_ms: float | None = field(default=None, metadata=OMIT_NONE)
    #: ftbench 0.3 only: (slowest / fastest reading of the reference loop - 1) in percent (a
    #: range, which grows with the number of readings: no longer written nor used)
    speed_ref_spread_pct: float | None = field(default=None, metadata=OMIT_NONE)
    #: share of the phase's wall time in which some task waited for a CPU (Linux PSI), in
    #: percent: how much other work competed for the CPUs while the phase ran
    cpu_pressure_pct: float | None = field(default=None, metadata=OMIT_NONE)

    def walls(self) -> list[float]:
        """Wall times of the samples that count (see :attr:`Sample.counts`)."""
        return [s.wall_s for s in self.samples if s.counts]

    @property
    def failed(self) -> int:
        """Samples left out of the statistics for failing (timeouts not included)."""
        return sum(1 for s in self.samples if not s.ok and not s.timed_out)

    @property
    def timed_out(self) -> int:
        return sum(1 for s in self.samples if s.timed_out)


@dataclass(frozen=True, kw_only=True)
class Runs:
    cold: Phase | None = field(default=None, metadata=OMIT_NONE)
    warm: Phase | None = field(default=None, metadata=OMIT_NONE)

    def items(self) -> list[tuple[str, Phase]]:
        """``(name, phase)`` of the measured phases, cold first."""
        return [(name, phase) for name in PHASE_NAMES if (phase := getattr(self, name)) is not None]

    def get(self, name: str) -> Phase | None:
        phase: Phase | None = getattr(self, name, None) if name in PHASE_NAMES else None
        return phase
