"""Issue 21, item 7: an A/B run whose tier definition differs between REF and HEAD (a ``-n 2``
-> ``-n 0``-like change of a step's command in the configuration), and A/B progress lines that
say "pair k/n", which side, and when sampling is extended."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fakes import Naps
from ftbench import cli
from ftbench.report.model import Report

Git = Callable[..., str]
FEW = ["--skip-cold", "--runs", "6", "--warmup", "0", "--metric", "wall"]


def step(name: str, seconds: float) -> str:
    return (
        f'[[tiers.t.steps]]\nname = "{name}"\n'
        f'cmd = ["{sys.executable}", "-c", "import time; time.sleep({seconds})"]\n'
    )


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("S3_", "AWS_", "FTBENCH_", "GITHUB_", "CI_")):
            monkeypatch.delenv(name, raising=False)


def two_commits(path: Path, git: Git, base: str, head: str) -> Path:
    """REF (HEAD~1) and HEAD differ only in the tier's definition (``ftbench.toml``)."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text(".firsttry/\n")
    (path / "ftbench.toml").write_text("[tiers.t]\n" + base)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    (path / "ftbench.toml").write_text("[tiers.t]\n" + head)
    git(path, "commit", "-q", "--allow-empty", "-am", "the tier changes")
    return path


def run(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, Report]:
    argv = ["run", "--repo", str(repo), "--tier", "t", "--against", "HEAD~1", *FEW, *args]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out + err, Report.from_json((repo / ".firsttry/bench_proof.json").read_text())


def test_each_side_runs_its_own_definition_and_the_verdict_says_so(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], naps: Naps
) -> None:
    # REF's step takes 0.15 s, HEAD's 0.01 s: the commit made the tier faster by changing
    # its command (as `pytest -n 2` -> `-n 0` can)
    repo = two_commits(tmp_path / "r", run_git, step("tests", 0.15), step("tests", 0.01))
    code, out, report = run(repo, capsys, "--progress", "never")
    assert code == 0
    against, verdict = report.against, report.regression
    assert against is not None and verdict is not None
    assert against.definition == "own"
    (change,) = against.definition_changes or ()
    assert (
        change.startswith("step 'tests': ") and "sleep(0.15)" in change and "sleep(0.01)" in change
    )
    assert verdict.verdict == "improvement"
    warm = verdict.phases["warm"]
    assert warm.pct_change is not None and warm.pct_change < -20
    assert any(
        "definition differs between HEAD~1 and HEAD" in n and "each side ran its own" in n
        for n in verdict.notes
    )
    assert "each side ran its own" in out  # on the terminal
    md = (repo / ".firsttry/bench_proof.md").read_text()
    assert "each side ran its own" in md


def test_both_sides_run_heads_definition_on_request(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], naps: Naps
) -> None:
    repo = two_commits(tmp_path / "r", run_git, step("tests", 0.15), step("tests", 0.01))
    code, _, report = run(repo, capsys, "--progress", "never", "--base-definition", "current")
    assert code == 0
    against, verdict = report.against, report.regression
    assert against is not None and verdict is not None and against.definition == "current"
    # the same command on both sides: REF's (15x slower) would be a clear improvement
    assert verdict.verdict == "no change", verdict.summary
    assert any("both sides ran HEAD's" in n for n in verdict.notes)


def test_an_added_step_is_measured_and_reported_apart_never_judged(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], naps: Naps
) -> None:
    base = step("tests", 0.02)
    repo = two_commits(tmp_path / "r", run_git, base, base + step("extra", 0.2))
    code, _, report = run(repo, capsys, "--progress", "never")
    assert code == 0  # the added step's 0.2 s is no regression
    against, verdict = report.against, report.regression
    assert against is not None and verdict is not None
    assert against.unjudged_steps == ("'extra' added",)
    # judged on the step both ran: the added 0.2 s (+200% or more) is not in the change
    warm_change = verdict.phases["warm"].pct_change
    assert verdict.verdict == "no change" and warm_change is not None, verdict.summary
    assert abs(warm_change) < 5, verdict.summary
    assert any("measured but not judged: 'extra' added" in n for n in verdict.notes)
    warm = report.runs.warm
    assert warm is not None and "extra" in warm.steps  # measured on the current side
    assert against.runs.warm is not None and "extra" not in against.runs.warm.steps


def test_ab_progress_says_pair_side_and_extension(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], naps: Naps
) -> None:
    base = step("tests", 0.01)
    repo = two_commits(tmp_path / "r", run_git, base, base)
    _, out, _ = run(repo, capsys, "--progress", "always", "--regress-pct", "0")
    lines = [line for line in out.splitlines() if line.startswith("[ftbench]")]
    assert (
        "[ftbench] warm: 6 pair(s) of base and current samples, interleaved, at most 18" in lines[0]
    )
    assert any(line.startswith("[ftbench] warm pair 1/6 base: ") for line in lines)
    assert any(line.startswith("[ftbench] warm pair 2/6 current: ") for line in lines)
    # a threshold of 0%: never clear on "no change", so sampling goes on and says so
    extended = [line for line in lines if "[ftbench] warm: extended to " in line]
    assert extended and "not clear after 6" in extended[0], lines


def test_an_isolated_base_side_runs_refs_definition_in_its_own_interpreter(tmp_path: Path) -> None:
    """Both base-side changes at once: REF's definition of the tier (issue 21) run by the
    isolated environment's interpreter (issue 20), not HEAD's commands nor the user's Python."""
    from ftbench.judge.options import JudgeOptions
    from ftbench.measure.config import Step, Target
    from ftbench.measure.interpreter import Interpreter
    from ftbench.measure.results import RunSettings
    from ftbench.measure.tools import bind
    from ftbench.pipeline.ab import _base_request
    from ftbench.pipeline.definitions import Definitions
    from ftbench.pipeline.request import RunRequest

    def tier(cmd: str) -> Target:
        return Target("tier", "t", (Step("tests", cmd),), "test")

    user, venv = Interpreter("/usr/bin/python3", "PATH"), Interpreter("/iso/bin/python", "iso")
    head = bind(tier("{python} -m pytest -n 2"), user, "/usr/bin")
    request = RunRequest(
        tmp_path, head, RunSettings(), JudgeOptions(), tmp_path,
        base_target=bind(head, venv, "/iso/bin"),
    )  # fmt: skip
    ref = bind(tier("{python} -m pytest -n 0"), user, "/usr/bin")
    base = _base_request(request, Definitions(ref, "own")).base_target
    assert base is not None
    assert base.steps[0].argv("t", "normal") == ["/iso/bin/python", "-m", "pytest", "-n", "0"]
    assert base.path == "/iso/bin"
    assert _base_request(request, None) is request
