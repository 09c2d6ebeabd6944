"""The comment's "What next" (issue 20): the command finding the commit a regression came
with, when it was not bisected yet."""

from __future__ import annotations

import dataclasses

from factory import FIXTURES
from ftbench.report.bisect import Bisection
from ftbench.report.model import Report
from ftbench.report.next_steps import next_steps

BASE = "ab" * 20


def _regression(base: str | None = BASE) -> Report:
    report = Report.from_json((FIXTURES / "v1" / "cmd-regression.json").read_bytes())
    verdict = report.regression
    assert verdict is not None and verdict.verdict == "regression"
    baseline = dataclasses.replace(verdict.baseline, commit=base)
    return dataclasses.replace(report, regression=dataclasses.replace(verdict, baseline=baseline))


def test_a_regression_says_how_to_find_its_commit() -> None:
    report = _regression()
    head = report.git.commit
    assert head is not None
    (line,) = [s for s in next_steps(report) if s.startswith("- Which commit?")]
    expected = f"ft-bench bisect {BASE[:12]} {head[:12]} --cmd 'sh -c \"sleep ${{D}}\"'"
    assert expected in line and "--cold-runs 6 --runs 10 --warmup 1" in line


def test_no_bisect_line_without_a_base_commit_or_once_bisected() -> None:
    assert not any("Which commit" in s for s in next_steps(_regression(None)))
    report = _regression()
    verdict = report.regression
    assert verdict is not None
    found = Bisection(
        good=BASE, bad="cd" * 20, status="no slowdown", summary="-", phase=None, metric=None,
        change_pct=None, change_ci95_pct=None, culprit=None, culprit_subject=None,
        culprit_pct=None, culprit_ci95_pct=None, range=None, range_commits=None, skipped=(),
        notes=(), steps=(), budget_s=0, used_s=0, samples=0, normal_runs=0,
    )  # fmt: skip
    bisected = dataclasses.replace(report, regression=dataclasses.replace(verdict, bisect=found))
    assert not any("Which commit" in s for s in next_steps(bisected))
