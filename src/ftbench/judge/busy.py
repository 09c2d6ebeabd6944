"""Whether the machine, not the code, can explain a change the archive judge saw.

A run is compared with runs measured at other times, so a change may come from the machine:
other work competing for the CPUs (a longer wall time) or a slower CPU (more CPU time for the
same work). Two readings of every phase tell (``measure/load.py``): the CPU pressure during
the phase (Linux PSI: the share of time some task waited for a CPU) and the speed of a fixed
reference loop (the median of its readings). Neither grows with the number of readings.

The machine is blamed only on evidence that *differs between this run and its baselines*: this
phase's pressure well above every baseline's, or its reference loop well slower than every
baseline's (a change the other way for an improvement), and only for as much as that evidence
can explain: a command that could get a CPU 60% of the time where its baselines got one 90% of
the time may be 1.5 times slower for that alone, not 3 times. A quiet machine measured against
quiet baselines is never called busy; a regression the busier machine explains becomes
"inconclusive: machine busier than during the baselines" with the figures. Without readings on
both sides (reports of ftbench 0.2 and older) nothing is blamed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ftbench.report.model import Phase

#: CPU pressure this many percentage points above the busiest baseline phase is a busier machine
PRESSURE_POINTS = 20.0
#: ... and the phase's pressure must be at least this high
PRESSURE_MIN_PCT = 25.0
#: a reference loop this many percent slower than the slowest baseline phase's (or faster than
#: the fastest's) is a slower (or faster) machine
SPEED_PCT = 15.0


@dataclass(frozen=True)
class Evidence:
    """How much slower this phase's machine could make a command than its baselines' did:
    ``pressure`` (the share of time a command could get a CPU, baselines' over this run's)
    and ``speed`` (the reference loop's time, this run's over the baselines'): above 1 a
    busier or slower machine, below 1 a quieter or faster one, 1 no difference; the figures,
    for the verdict's reason."""

    pressure: float
    speed: float
    text: str

    def explains(self, metric: str, change: float, threshold: float) -> bool:
        """Whether the machine's difference can explain ``change`` (percent) of ``metric``:
        the change, divided by the factor the machine could account for, is within
        ``threshold``. Wall time follows both readings, CPU time the reference loop's."""
        factors = (self.pressure, self.speed) if metric == "wall" else (self.speed,)
        ratio = 1 + change / 100
        if change > 0:
            factor = math.prod(f for f in factors if f > 1)
            return factor > 1 and ratio / factor <= 1 + threshold / 100
        factor = math.prod(f for f in factors if f < 1)
        return factor < 1 and ratio / factor >= 1 - threshold / 100


def evidence(mine: Phase, theirs: Sequence[Phase]) -> Evidence | None:
    """How ``mine``'s machine differed from the baselines' ``theirs``, or None when it did
    not (or the readings to tell are missing)."""
    figures: list[str] = []
    pressure = speed = 1.0
    known = [p.cpu_pressure_pct for p in theirs if p.cpu_pressure_pct is not None]
    if mine.cpu_pressure_pct is not None and known and len(known) == len(theirs):
        now, low, high = min(mine.cpu_pressure_pct, 99.0), min(known), min(max(known), 99.0)
        if now >= PRESSURE_MIN_PCT and now - high > PRESSURE_POINTS:
            pressure = (100 - high) / (100 - now)
            figures.append(f"CPU pressure {now:.0f}% against at most {high:.0f}%")
        elif high >= PRESSURE_MIN_PCT and low - now > PRESSURE_POINTS:
            pressure = (100 - low) / (100 - now)
            figures.append(f"CPU pressure {now:.0f}% against at least {low:.0f}%")
    refs = [p.speed_ref_ms for p in theirs if p.speed_ref_ms]
    if mine.speed_ref_ms and refs and len(refs) == len(theirs):
        now, low, high = mine.speed_ref_ms, min(refs), max(refs)
        if now > high * (1 + SPEED_PCT / 100):
            speed = now / high
            figures.append(f"reference loop {now:.2f} ms against at most {high:.2f} ms")
        elif now < low / (1 + SPEED_PCT / 100):
            speed = now / low
            figures.append(f"reference loop {now:.2f} ms against at least {low:.2f} ms")
    if not figures:
        return None
    return Evidence(pressure, speed, "; ".join(figures))
