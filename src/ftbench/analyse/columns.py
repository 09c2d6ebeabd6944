"""A repository's whole history in compact columns: what ``ft-bench dashboard`` reads.

The index's ``runs`` rows come one segment at a time, parsed and checked
(``Archives.each_run_rows``); the few fields a chart needs of each report's rows are appended
to arrays (one set per series: tier, mode, phase, step, metric) and the rest is dropped at
once. For 20,000
reports of 12 series that is under 20 MB (about 50 bytes a point), where holding the lines
took 160 MiB and parsing them all into dicts 700 MiB more (``docs/trends.md``, "Long
histories").

Kept, as ``trend`` keeps them (:func:`ftbench.analyse.trend.select`): successful reports, of
``branch`` when given, from ``since`` on; in each series, the first row of a report with a
positive value.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ftbench.analyse.charts import Points, epoch_ms
from ftbench.analyse.trend import METRICS, positive
from ftbench.archive.base import key_name

if TYPE_CHECKING:
    from ftbench.archive.base import Archives

SeriesKey = tuple[str, str, str, str | None, str]  #: tier, mode, phase, step, metric
NAN = float("nan")


@dataclass
class Column:
    """One series' points in arrival order: the report (index into :class:`History`), the
    value, the samples' min and max (NaN: unknown), the sample count, the phase verdict."""

    report: array[int] = field(default_factory=lambda: array("q"))
    value: array[float] = field(default_factory=lambda: array("d"))
    low: array[float] = field(default_factory=lambda: array("d"))
    high: array[float] = field(default_factory=lambda: array("d"))
    n: array[int] = field(default_factory=lambda: array("q"))
    verdict: list[str | None] = field(default_factory=list)


@dataclass
class History:
    """The reports kept (one entry each) and the columns of every series."""

    branch: str | None = None
    since: str | None = None
    keys: list[str] = field(default_factory=list)
    stamps: list[str] = field(default_factory=list)
    commits: list[str | None] = field(default_factory=list)
    #: each report's own verdict (the one its summary and exit code gave), ``(A/B)`` marked
    verdicts: list[str | None] = field(default_factory=list)
    columns: dict[SeriesKey, Column] = field(default_factory=dict)
    unreadable: int = 0  #: reports whose timestamp could not be read
    _names: dict[str, str] = field(default_factory=dict)
    _rank: list[int] | None = None

    def _intern(self, text: str) -> str:
        return self._names.setdefault(text, text)

    def add_rows(self, key: str, rows: list[Any]) -> None:
        """Take one report's ``runs`` rows, parsed (``Archives.each_run_rows``)."""
        if not rows or not isinstance(rows[0], dict):
            return
        head = rows[0]
        stamp, tier, mode = head.get("timestamp"), head.get("tier"), head.get("mode")
        if (
            not head.get("succeeded")
            or not isinstance(stamp, str)
            or not isinstance(tier, str)
            or not isinstance(mode, str)
            or (self.branch is not None and head.get("branch") != self.branch)
            or (self.since is not None and stamp < self.since)
        ):
            return
        try:
            epoch_ms(stamp)  # what the chart will need of it
        except ValueError:
            self.unreadable += 1
            return
        index = len(self.keys)
        commit = head.get("commit")
        self.keys.append(key)
        self.stamps.append(stamp)
        self.commits.append(commit[:12] if isinstance(commit, str) and commit else None)
        verdict = head.get("verdict")
        if isinstance(verdict, str):
            verdict = self._intern(verdict + (" (A/B)" if head.get("ab") is True else ""))
        self.verdicts.append(verdict if isinstance(verdict, str) else None)
        tier, mode = self._intern(tier), self._intern(mode)
        columns = self.columns
        for row in rows:  # 12 rows a report here: kept plain and inline, it is the hot loop
            if not isinstance(row, dict):
                continue
            value, metric = row.get("value"), row.get("metric")
            if value.__class__ is not float or not 0.0 < value < math.inf:
                value = positive(value)  # an int, or not a usable number (None)
            phase, step = row.get("phase"), row.get("step")
            if (
                value is None
                or metric not in METRICS
                or not isinstance(phase, str)
                or not phase
                or not (step is None or isinstance(step, str))
            ):
                continue
            col = columns.get((tier, mode, phase, step, metric))
            if col is None:
                col = columns[(tier, mode, phase, step, metric)] = Column()
            elif col.report[-1] == index:
                continue  # the first row of a report counts, as in trend.select
            low, high = row.get("min"), row.get("max")
            if low is not None and high is not None:  # most rows have neither
                low, high = positive(low), positive(high)
            if low is None or high is None or low > high:
                low = high = NAN
            verdict, n = row.get("phase_verdict"), row.get("n")
            col.report.append(index)
            col.value.append(value)
            col.low.append(low)
            col.high.append(high)
            col.n.append(n if isinstance(n, int) and 0 <= n < 2**31 else 0)
            col.verdict.append(self._intern(verdict) if isinstance(verdict, str) else None)

    # -- reading out --------------------------------------------------------------------------

    def newest_verdict(self, tier: str, mode: str) -> str | None:
        """The verdict of the newest report of ``tier``/``mode`` (the report's own)."""
        stamp = self.stamps.__getitem__  # the rows come in any order (newest first, by segment)
        found = [
            max(c.report, key=stamp)
            for k, c in self.columns.items()
            if k[:2] == (tier, mode) and c.report
        ]
        return self.verdicts[max(found, key=stamp)] if found else None

    def groups(self) -> list[tuple[str, str]]:
        """Every ``(tier, mode)``, sorted."""
        return sorted({(k[0], k[1]) for k in self.columns})

    def series(
        self, tier: str, mode: str, last: int | None = None
    ) -> list[tuple[str, str | None, str, Points]]:
        """``(phase, step, metric, points)`` of each series of ``tier``/``mode`` (phases
        first, then steps), over the group's newest ``last`` reports (None: all)."""
        rank = self._ranks()
        mine = {k: c for k, c in self.columns.items() if k[0] == tier and k[1] == mode}
        floor = -1
        if last is not None:
            ranks = sorted({rank[i] for c in mine.values() for i in c.report}, reverse=True)
            floor = ranks[last - 1] if len(ranks) >= last else -1
        order = {m: i for i, m in enumerate(METRICS)}
        out = []
        for key in sorted(
            mine, key=lambda k: (k[2] != "warm", k[3] is not None, k[3] or "", order[k[4]])
        ):
            col = mine[key]
            keep = sorted(
                (j for j, i in enumerate(col.report) if rank[i] >= floor),
                key=lambda j: rank[col.report[j]],
            )
            if keep:
                out.append((key[2], key[3], key[4], self._points(col, keep)))
        return out

    def _ranks(self) -> list[int]:
        """Each report's position in time (timestamp, then key name, as ``trend`` sorts)."""
        if self._rank is None or len(self._rank) != len(self.keys):
            order = sorted(
                range(len(self.keys)), key=lambda i: (self.stamps[i], key_name(self.keys[i]))
            )
            self._rank = [0] * len(order)
            for position, i in enumerate(order):
                self._rank[i] = position
        return self._rank

    def _points(self, col: Column, keep: Sequence[int]) -> Points:
        reports = [col.report[j] for j in keep]
        return Points(
            stamps=[self.stamps[i] for i in reports],
            values=[col.value[j] for j in keep],
            lows=[None if math.isnan(v) else v for v in (col.low[j] for j in keep)],
            highs=[None if math.isnan(v) else v for v in (col.high[j] for j in keep)],
            commits=[self.commits[i] for i in reports],
            verdicts=[col.verdict[j] for j in keep],
            ns=[col.n[j] for j in keep],
        )


def read(
    archives: Archives,
    repo_id: str,
    notes: list[str],
    *,
    branch: str | None = None,
    since: str | None = None,
) -> History:
    """``repo_id``'s history from every store of ``archives`` (its index extended from the
    reports it lacks, as every reader does)."""
    history = History(branch=branch, since=since)
    archives.each_run_rows(repo_id, notes, history.add_rows)
    if history.unreadable:
        notes.append(f"{history.unreadable} report(s) left out: their index lines are unreadable")
    return history
