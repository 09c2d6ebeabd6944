"""``ft-bench dashboard`` and the HTML/SVG charts: names a pull request controls are escaped
wherever they land (issue 16, item 4), and a long history gives a bounded page (item 11)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from factory import MemoryStore, make_report, noisy, ts
from ftbench.archive.base import Archives
from ftbench.archive.index import run_lines
from ftbench.report.model import Report

RID = "abcd1234"


@pytest.fixture(autouse=True)
def _no_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("S3_") or name == "FTBENCH_ARCHIVE_DIR":
            monkeypatch.delenv(name)


def hostile_report(i: int, name: str, *, slower: bool = False, **kw: Any) -> Report:
    """A report whose tier, branch, commit and step names are ``name``."""
    kw = {"tier": name, "branch": name, "commit": name, **kw}
    r = make_report(
        warm=noisy(0.1 * (1.3 if slower else 1.0), 6, seed=i),
        cold=noisy(0.2, 3, seed=100 + i),
        timestamp=ts(i),
        run_id=f"{i:032x}",
        **kw,
    )
    assert r.runs.warm is not None
    warm = dataclasses.replace(
        r.runs.warm, steps={name: r.runs.warm.stats, "plain": r.runs.warm.stats}
    )
    return dataclasses.replace(r, runs=dataclasses.replace(r.runs, warm=warm))


def test_streamed_lines_are_the_lines() -> None:
    """``run_lines(take=...)`` hands over what it would have kept; ``each_run_lines`` hands
    each key once, from the first store that lists it."""
    first, second = MemoryStore("local"), MemoryStore("s3")
    reports = [hostile_report(i, "lite") for i in range(8)]
    for r in reports[:5]:
        first.add(r)
    for r in reports[3:]:
        second.add(r)
    kept = run_lines(first, RID, []).lines
    taken: dict[str, list[bytes]] = {}
    assert run_lines(first, RID, [], take=taken.__setitem__).lines == {}
    assert taken == kept and len(kept) == 5
    handed: list[str] = []
    Archives([first, second]).each_run_lines(RID, [], lambda k, lines: handed.append(k))
    assert sorted(handed) == sorted(set(first.data) | set(second.data)) and len(handed) == 8
