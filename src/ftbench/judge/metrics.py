"""The metrics a verdict is judged on, read from samples of either stage, and which gate.

``wall``: elapsed time, the time a developer waits (it grows with more work, longer waits and
lost parallelism alike); ``cpu``: user + system CPU time of the measured processes (what the
command *did*: steadier than wall time when other work competes for the CPUs, it explains a
change); ``rss``: peak resident memory. ``--metric any`` (the default) gates on wall *and* CPU
time: a significant regression beyond the threshold in either is a regression
(:func:`gates`); ``cpu``, ``wall`` or ``rss`` gates on that metric alone. Every metric is judged
and reported whatever gates.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

METRICS = ("cpu", "wall", "rss")
#: the metrics each ``--metric`` choice gates on (wall first: the user's time)
GATES = {"any": ("wall", "cpu"), "wall": ("wall",), "cpu": ("cpu",), "rss": ("rss",)}


def gates(option: str) -> tuple[str, ...]:
    """The metrics whose regression fails the job for ``--metric option``."""
    return GATES[option]


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


@dataclass(frozen=True)
class Part:
    """A sample restricted to some of its steps (an A/B run whose sides define the tier with
    different steps: only the steps both ran are judged)."""

    wall_s: float
    user_s: float
    sys_s: float
    max_rss_kb: int | None
    ok: bool
    timed_out: bool


def restrict(samples: Sequence[Any], names: Collection[str]) -> list[Part]:
    """``samples`` (of either stage: a step's times are on it, or on its ``result``) summed
    over the steps named ``names``."""
    out = []
    for sample in samples:
        steps = [getattr(s, "result", s) for s in sample.steps if s.name in names]
        rss = [r.max_rss_kb for r in steps if r.max_rss_kb is not None]
        out.append(
            Part(
                wall_s=sum(r.wall_s for r in steps),
                user_s=sum(r.user_s for r in steps),
                sys_s=sum(r.sys_s for r in steps),
                max_rss_kb=max(rss) if rss else None,
                ok=sample.ok,
                timed_out=sample.timed_out,
            )
        )
    return out
