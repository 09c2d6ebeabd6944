"""Issue 19: the scripted executor reachable from the pipeline (``RunRequest.executor``): a
whole run, A/B included, judged and written without starting the measured commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakes import FakeExecutor, result
from ftbench import pipeline
from ftbench.archive import repo_id
from ftbench.archive import sync as archive_sync
from ftbench.judge.options import JudgeOptions
from ftbench.measure import machine, tools
from ftbench.measure.executor import Job, ProcessResult
from ftbench.measure.runner import RunSettings
from ftbench.pipeline import request as request_module
from ftbench.report.model import Report

Git = Callable[..., str]
SETTINGS = RunSettings(mode="custom", cold_runs=6, warm_runs=12, warmup=1)


def _request(repo: Path, executor: FakeExecutor, against: str | None = None) -> pipeline.RunRequest:
    return pipeline.RunRequest(
        root=repo,
        target=tools.resolve_target(repo, tier="lite", cmd=None),
        settings=SETTINGS,
        judge=JudgeOptions(baseline="none" if against is None else "auto"),
        out_dir=repo / ".firsttry",
        against=against,
        executor=executor,
    )


def _seconds(wall: float) -> ProcessResult:
    return result(wall, user_s=wall * 0.9)


def test_a_run_measures_what_the_executor_answers(tmp_repo: Path) -> None:
    repo = tmp_repo
    fake = FakeExecutor(respond=lambda job: _seconds(0.25))
    outcome = pipeline.run(_request(repo, fake))
    assert outcome.exit_code == 0 and len(fake.jobs) == 6 + 1 + 12
    report = Report.from_json((repo / ".firsttry/bench_proof.json").read_bytes())
    assert report.runs.warm is not None and report.runs.warm.elapsed_s == 0.25


def test_an_ab_run_judges_the_answers_of_each_side(tmp_repo: Path, run_git: Git) -> None:
    repo = tmp_repo
    (repo / "b.txt").write_text("b\n")
    run_git(repo, "add", "b.txt")
    run_git(repo, "commit", "-qm", "second")

    def respond(job: Job) -> ProcessResult:  # the current tree is 20% slower
        return _seconds(0.30 if job.cwd.resolve() == repo.resolve() else 0.25)

    fake = FakeExecutor(respond=respond)
    outcome = pipeline.run(_request(repo, fake, against="HEAD~1"))
    verdict = outcome.report.regression
    assert outcome.exit_code == 4 and verdict is not None and verdict.verdict == "regression"
    assert {j.cwd.resolve() for j in fake.jobs} != {repo.resolve()}  # both trees measured


def test_an_ab_run_reads_the_machine_and_the_repository_id_once(
    tmp_repo: Path, run_git: Git, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The machine, git facts and tool versions are read once, before the first sample, and
    every later stage (calibration lookup, report, archive) reads that value."""
    repo = tmp_repo
    (repo / "b.txt").write_text("b\n")
    run_git(repo, "add", "b.txt")
    run_git(repo, "commit", "-qm", "second")
    reads: list[Path] = []
    ids: list[str | None] = []
    read, resolve = machine.read, repo_id.repo_id

    def counted_read(tree: Path, *args: Any) -> machine.Machine:
        reads.append(tree)
        return read(tree, *args)

    def counted_id(root: Path, override: str | None = None) -> str:
        ids.append(override)
        return resolve(root, override)

    monkeypatch.setattr(machine, "read", counted_read)
    monkeypatch.setattr(repo_id, "repo_id", counted_id)
    for module in (request_module, archive_sync):
        monkeypatch.setattr(module, "repo_id", counted_id)
    outcome = pipeline.run(
        _request(repo, FakeExecutor(respond=lambda job: _seconds(0.25)), "HEAD~1")
    )
    assert outcome.report.against is not None
    assert reads == [repo]
    assert ids.count(None) == 1  # resolved once; the later calls only check the resolved id
