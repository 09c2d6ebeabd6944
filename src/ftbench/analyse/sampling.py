"""Down-sampling a long series for a chart (``docs/trends.md``, "Long histories").

A chart of 20,000 reports has more points than pixels: :func:`pick` keeps at most
:data:`MAX_POINTS` of them, chosen so that what the eye looks for survives:

* exact, always: the first and the last report, and at every change point the report that
  starts the new segment and the one before it (the chart draws the change between them);
  also the report either side of those two while they take at most a quarter of the budget;
* the reports in between are cut, by position, into buckets of equal size; each bucket is
  drawn by its fastest and its slowest report (the extremes of the line survive: a spike of
  one report stays visible) and by its first ``regression`` verdict, if any, so that no
  regression mark disappears. Each kept point stands for its bucket (``first``/``stop``):
  the chart's band spans the bucket's reports.

Every change point is kept, however many there are: a series with more than
``MAX_POINTS / 8`` change points (hundreds) can exceed the budget by four points for each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

from ftbench.analyse import MAX_POINTS


class Kept(NamedTuple):
    """A point drawn: ``at`` (index into the series), standing for ``[first, stop)``."""

    at: int
    first: int
    stop: int


def pick(
    values: Sequence[float],
    marked: Sequence[bool],
    starts: Sequence[int],
    limit: int = MAX_POINTS,
) -> list[Kept]:
    """The points to draw of ``values`` (oldest first), in order.

    ``marked``: reports that must not disappear from their bucket (a ``regression``
    verdict); ``starts``: the change points (index of the first report of a new segment).
    """
    n = len(values)
    if n <= limit:
        return [Kept(i, i, i + 1) for i in range(n)]
    exact = {0, n - 1}
    for c in starts:
        exact.update((c - 1, c))
    around = exact | {i for c in starts for i in (c - 2, c + 1)}
    if len(around) <= limit // 4:
        exact = around
    fixed = sorted(i for i in exact if 0 <= i < n)
    runs = [(a + 1, b) for a, b in pairwise(fixed) if b - a > 1]
    rest = sum(b - a for a, b in runs)
    # each bucket draws up to 3 points; a run of any length has at least one bucket
    width = max(1, math.ceil(3 * rest / max(limit - len(fixed) - 3 * len(runs), 1)))
    out = [Kept(i, i, i + 1) for i in fixed]
    for a, b in runs:
        for first in range(a, b, width):
            out.extend(_bucket(values, marked, first, min(first + width, b)))
    out.sort()
    return out


def _bucket(values: Sequence[float], marked: Sequence[bool], first: int, stop: int) -> set[Kept]:
    span = range(first, stop)
    found = {min(span, key=values.__getitem__), max(span, key=values.__getitem__)}
    flagged = next((i for i in span if marked[i]), None)
    if flagged is not None:
        found.add(flagged)
    return {Kept(i, first, stop) for i in found}
