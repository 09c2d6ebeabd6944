"""How busy the machine was while a run measured: load average, CPU pressure, CPU steal.

Read before and after the measured samples (cheap: a few small files in ``/proc``):

* ``load1``: the 1-minute load average at the end, and per CPU;
* ``cpu_pressure_pct``: Linux pressure stall information (``/proc/pressure/cpu``, kernel 4.20+):
  the share of the run's wall time during which some runnable task waited for a CPU;
* ``steal_pct``: the share of CPU time the hypervisor gave to other guests (``/proc/stat``);

and :func:`reference_ms`, the CPU time of a fixed reference loop, which the runner takes a few
times around each phase and at most once a second between cold samples
(``Phase.speed_ref_ms``: their median): on a shared machine the CPU time of the
*same* work swings by tens of percent, and up to 2.4x, for seconds to minutes at a time (other
guests, caches, memory bandwidth: seen here, 36 ms to 86 ms for one unchanged command); the
reference loop slows down with it, so the archive judge compares CPU times relative to it.

Each is None where the platform does not offer it (macOS has only the load average).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

PRESSURE = Path("/proc/pressure/cpu")
STAT = Path("/proc/stat")


@dataclass(frozen=True)
class LoadReading:
    """The machine's load over one run."""

    cpus: int | None
    load1: float | None
    cpu_pressure_pct: float | None
    steal_pct: float | None


def _pressure_us() -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in PRESSURE.read_text().splitlines():
            if line.startswith("some "):
                fields = dict(f.split("=", 1) for f in line.split()[1:])
                return int(fields["total"])
    return None


def _cpu_ticks() -> tuple[int, int] | None:
    """(steal, total) jiffies over all CPUs."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        first = STAT.read_text().split("\n", 1)[0].split()
        if first[0] == "cpu":
            values = [int(v) for v in first[1:]]
            steal = values[7] if len(values) > 7 else 0
            # guest time is already counted in user/nice
            return steal, sum(values[:8])
    return None


#: iterations of the reference loop: about 3 ms of CPU on a 2.5 GHz x86-64 core
REFERENCE_LOOP = 40_000
#: readings before and after each phase
REFERENCE_READINGS = 3
#: between cold samples (caches are cleared there anyway), at most one reading this often
REFERENCE_EVERY_S = 1.0


def reference_ms() -> float:
    """CPU time (ms) of a fixed pure-Python loop in this process."""
    started = time.process_time()
    total = 0
    for i in range(REFERENCE_LOOP):
        total += i * i
    return (time.process_time() - started) * 1000


class LoadMeter:
    """Started before the samples; :meth:`reading` after them."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self._pressure0 = _pressure_us()
        self._ticks0 = _cpu_ticks()

    def reading(self) -> LoadReading:
        elapsed = time.monotonic() - self._t0
        pressure = None
        p1 = _pressure_us()
        if self._pressure0 is not None and p1 is not None and elapsed > 0:
            pressure = min(100.0, (p1 - self._pressure0) / 1e6 / elapsed * 100)
        steal = None
        t1 = _cpu_ticks()
        if self._ticks0 is not None and t1 is not None and t1[1] > self._ticks0[1]:
            steal = (t1[0] - self._ticks0[0]) / (t1[1] - self._ticks0[1]) * 100
        load1 = None
        with contextlib.suppress(OSError, AttributeError):
            load1 = os.getloadavg()[0]
        return LoadReading(
            cpus=os.cpu_count(),
            load1=None if load1 is None else round(load1, 2),
            cpu_pressure_pct=None if pressure is None else round(pressure, 1),
            steal_pct=None if steal is None else round(steal, 2),
        )
