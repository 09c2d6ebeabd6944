"""The metrics a verdict can be judged on, read from samples of either stage.

``cpu``: user + system CPU time of the measured processes (what the command *did*; far
steadier than wall time when other work competes for the CPUs); ``wall``: elapsed time;
``rss``: peak resident memory. ``auto`` picks ``cpu`` unless the command mostly waits: when on
some side even the least-disturbed sample spent under 10% of its wall time on a CPU (a sleep, a
network call), CPU time says little and ``wall`` decides. The bar is low on purpose: under
load a CPU-bound command's wall time inflates several times (seen here: a 50 ms command got a
sixth of a CPU with a load average of 12 on 2 CPUs), and it must still be judged on CPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

METRICS = ("cpu", "wall", "rss")
#: a command waits (``auto`` judges wall time) when no sample of a side reached this share of
#: CPU time in its wall time
CPU_BOUND_SHARE = 0.1
UNITS = {"cpu": "s", "wall": "s", "rss": "KiB"}


class Timed(Protocol):
    """What a metric is read from: a sample, or one step of it (report or measure stage)."""

    @property
    def wall_s(self) -> float: ...
    @property
    def user_s(self) -> float: ...
    @property
    def sys_s(self) -> float: ...
    @property
    def max_rss_kb(self) -> int | None: ...


class Counted(Timed, Protocol):
    @property
    def ok(self) -> bool: ...
    @property
    def timed_out(self) -> bool: ...


def value(sample: Timed, metric: str) -> float | None:
    """``sample``'s value of ``metric`` (None: peak memory not known)."""
    if metric == "cpu":
        return sample.user_s + sample.sys_s
    if metric == "wall":
        return sample.wall_s
    rss = sample.max_rss_kb
    return None if rss is None else float(rss)


def counts(sample: Counted) -> bool:
    """Whether a sample enters the statistics (as ``report.model.Sample.counts``)."""
    return sample.ok and not sample.timed_out and sample.wall_s > 0


def values(samples: Iterable[Counted], metric: str) -> list[float]:
    """The metric over the samples that count (unknown values left out)."""
    out = []
    for s in samples:
        if counts(s) and (v := value(s, metric)) is not None:
            out.append(v)
    return out


def choose(option: str, *sides: Sequence[Counted]) -> str:
    """The deciding metric for ``--metric option`` over the samples of every side."""
    if option != "auto":
        return option
    shares = [
        max(((s.user_s + s.sys_s) / s.wall_s for s in side if counts(s)), default=None)
        for side in sides
    ]
    known = [v for v in shares if v is not None]
    return "cpu" if known and min(known) >= CPU_BOUND_SHARE else "wall"
