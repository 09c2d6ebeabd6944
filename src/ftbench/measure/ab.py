"""A/B in one job: the current tree and a base tree measured pair by pair, interleaved.

Pair ``i`` runs one sample of each side back to back, the order alternating (base first in odd
pairs, current first in even ones: ``ABBA``), so slow drift and the "second runs faster"
effect fall on both sides alike. The cold phase is interleaved too (each tree's own caches
cleared before its sample), then warm-up runs of both sides, then the warm pairs.

Sampling is adaptive: a phase runs as many pairs as a normal run has samples, then asks
``decide`` (the judge, handed in by the pipeline: this stage does not import it) whether the
answer is clear; when it is not, it goes on to the fewest pairs that can show a significant
change at the judge's level (:attr:`PairPlan.reject`; the judge's ``pairs_to_reject``) and
looks again, then to :attr:`PairPlan.maximum` pairs and is judged there. Looks before
``reject`` pairs can only stop on a clear "no change" (they spend no alpha); the judge splits
alpha over the two looks that can reject.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ftbench.errors import FtbenchError
from ftbench.measure.load import LoadMeter
from ftbench.measure.runner import BenchResult, PhaseResult, Runner, RunSettings, Sample
from ftbench.signals import interrupted_error

#: ``decide(phase, current samples, base samples, looks)``: whether the verdict is clear
#: (``looks``: how many times this phase's verdict is checked in all, for the judge's alpha)
Decide = Callable[[str, list[Sample], list[Sample], int], bool]
ORDER = "ABBA"
#: the cap on pairs is this many times a normal run's samples of the phase
CAP_FACTOR = 3


@dataclass(frozen=True)
class PairPlan:
    #: the first look: a normal run's samples of the phase
    first: int
    #: the fewest pairs that can show a significant change (the judge's level)
    reject: int
    maximum: int

    def looks(self) -> tuple[int, ...]:
        """The pair counts at which the verdict is checked: the first look, the first that
        can reject (when the first cannot), the cap."""
        first = max(1, self.first)
        return tuple(sorted({first, max(first, self.reject), self.maximum}))

    @property
    def rejecting(self) -> int:
        """How many looks can show a significant change (the judge splits alpha over them)."""
        return sum(n >= self.reject for n in self.looks())


def pair_plans(settings: RunSettings, reject: int) -> dict[str, PairPlan]:
    """The pairs per phase: a normal run's samples at the first look, ``reject`` (the fewest
    that can show a significant change), then up to ``CAP_FACTOR`` times a normal run's
    samples (at least ``reject``)."""
    plans: dict[str, PairPlan] = {}
    for name, count, skip in (
        ("cold", settings.cold_runs, settings.skip_cold),
        ("warm", settings.warm_runs, settings.skip_warm),
    ):
        if not skip and count > 0:
            plans[name] = PairPlan(count, reject, max(reject, CAP_FACTOR * count))
    return plans


@dataclass
class ABResult:
    """Both sides' measurements and how sampling ended, per phase."""

    current: BenchResult
    base: BenchResult
    order: str = ORDER
    stopped: dict[str, str] = field(default_factory=dict)


def run_pairs(
    current: Runner,
    base: Runner,
    decide: Decide,
    plans: dict[str, PairPlan],
    deadline: float | None = None,
) -> ABResult:
    """Measure both sides interleaved, phase by phase as ``plans`` say; never raises mid-run
    (errors land in ``result.current.error``, so whatever was measured reaches the report).
    ``deadline`` (``time.monotonic()``): no look after it starts more pairs."""
    meter = LoadMeter()
    settings = current.settings
    result = ABResult(current.begin(), base.begin())
    try:
        for name, plan in plans.items():
            if name == "warm" and settings.warmup > 0:
                _pairs(current, base, result, "warmup", settings.warmup, record=False)
            done = 0
            looks = plan.looks()
            phase_meter = LoadMeter()
            for look in looks:
                done = _pairs(
                    current, base, result, name, look, record=True, start=done, cap=plan.maximum
                )
                cur = result.current.phases[name].samples
                if decide(name, cur, result.base.phases[name].samples, plan.rejecting):
                    result.stopped[name] = f"clear after {done} pairs"
                    break
                if deadline is not None and time.monotonic() > deadline and done < plan.maximum:
                    result.stopped[name] = f"time budget reached after {done} pairs"
                    break
            else:
                result.stopped[name] = f"cap of {plan.maximum} pairs reached"
            pressure = phase_meter.reading().cpu_pressure_pct
            for side in (result.current, result.base):
                side.phases[name].pressure_pct = pressure
            current.end_phase(result.current.phases[name])
            base.end_phase(result.base.phases[name])
    except FtbenchError as exc:
        result.current.error = exc
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP (ftbench.signals)
        result.current.error = interrupted_error(exc)
    finally:
        for runner in (current, base):
            runner.executor.close()
        current.progress.close()
        result.current.load = meter.reading()
    return result


def _pairs(
    current: Runner,
    base: Runner,
    result: ABResult,
    name: str,
    upto: int,
    *,
    record: bool,
    start: int = 0,
    cap: int | None = None,
) -> int:
    """Run pairs ``start+1 .. upto`` of phase ``name``; returns the pairs done. A failing
    sample ends the run (``FtbenchError``) unless failures are allowed."""
    sides = ((base, result.base), (current, result.current))
    if record:
        for _, side in sides:
            side.phases.setdefault(name, PhaseResult(name, 0)).planned = upto
    progress = current.progress
    progress.pairs(name, start + 1, upto, cap)
    for index in range(start + 1, upto + 1):
        order = sides if index % 2 else sides[::-1]
        for runner, side in order:
            sample = runner.sample(name, index)
            if record:
                side.phases[name].samples.append(sample)
            which = "current" if runner is current else "base"
            progress.pair(name, index, upto, which, sample.wall_s, sample.ok, first=start + 1)
            changed = runner.after_sample(sample, warmup=not record)  # puts files back too
            error = changed or runner.failure(sample, name, index, warmup=not record)
            if error is not None:
                raise FtbenchError(f"{which} side: {error}", exit_code=error.exit_code)
    return upto
