"""Archive suspicions confirmed by an interleaved A/B run, and intended slowdowns declared in
commit messages: ``ft-bench run`` end to end on real git trees (docs/regression.md); the
commands' timings come from the scripted ``naps`` executor (``fakes.Naps``): what is tested
is the judging, confirming and archiving, not the measuring."""

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
CONFIG = '[tiers.lite]\n[[tiers.lite.steps]]\nname = "nap"\ncmd = ["{py}", "nap.py"]\n'
NAP = "import time\ntime.sleep({s})\n"
FEW = ["--skip-cold", "--runs", "4", "--warmup", "0", "--baseline-branch", "main"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("S3_", "AWS_", "FTBENCH_", "GITHUB_", "CI_")):
            monkeypatch.delenv(name, raising=False)


def repo_with_history(path: Path, git: Git, base_s: float, runs: int = 3) -> Path:
    """A repository whose archive holds ``runs`` reports of its first commit."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text(".firsttry/\n")
    (path / "ftbench.toml").write_text(CONFIG.format(py=sys.executable))
    (path / "nap.py").write_text(NAP.format(s=base_s))
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    for _ in range(runs):
        assert cli.main(["run", "--repo", str(path), "--quiet", *FEW, "--baseline", "none"]) == 0
    return path


def commit(repo: Path, git: Git, nap_s: float, message: str) -> None:
    (repo / "nap.py").write_text(NAP.format(s=nap_s))
    git(repo, "commit", "-q", "--allow-empty", "-am", message)


def run(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, Report]:
    code = cli.main(["run", "--repo", str(repo), "--quiet", "--progress", "never", *FEW, *args])
    out, err = capsys.readouterr()
    return code, out + err, Report.from_json((repo / ".firsttry/bench_proof.json").read_text())


def test_a_suspected_regression_is_confirmed_by_ab_against_the_baselines_commit(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], naps: Naps
) -> None:
    repo = repo_with_history(tmp_path / "r", run_git, 0.02)
    base = run_git(repo, "rev-parse", "HEAD")
    commit(repo, run_git, 0.3, "wait longer")
    code, out, report = run(repo, capsys)
    verdict = report.regression
    assert verdict is not None and code == 4, out
    confirmation = verdict.confirmation
    assert confirmation is not None and confirmation.commit == base
    assert confirmation.verdict == "regression" and verdict.verdict == "regression"
    assert confirmation.suspicion.startswith("warm +")
    assert confirmation.current.warm is not None and confirmation.base.warm is not None
    assert len(confirmation.current.warm.samples) == len(confirmation.base.warm.samples) >= 4
    assert verdict.summary.startswith(f"regression (confirmed by A/B against {base[:12]}")
    assert verdict.phases["warm"].verdict == "regression"  # the archive's own
    assert run_git(repo, "worktree", "list").count("\n") == 0
    markdown = (repo / ".firsttry/bench_proof.md").read_text()
    assert markdown.startswith("## 🔴 Regression")
    assert f"**Decided by an A/B run** against `{base[:12]}`" in markdown
    assert "What the archive judge saw, against the baseline runs:" in markdown


def test_unchanged_code_passes_and_never_confirms_when_told(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], naps: Naps
) -> None:
    repo = repo_with_history(tmp_path / "r", run_git, 0.02)
    commit(repo, run_git, 0.02, "same work")
    code, out, report = run(repo, capsys)
    verdict = report.regression
    assert code == 0 and verdict is not None, out
    assert verdict.verdict == "no change" and verdict.confirmation is None
    commit(repo, run_git, 0.3, "wait longer")
    code, out, report = run(repo, capsys, "--confirm", "never")
    verdict = report.regression
    assert verdict is not None and verdict.confirmation is None
    assert verdict.verdict == "regression" and code == 4, out  # the archive's own


def test_a_baseline_commit_missing_from_a_shallow_clone_is_said(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], naps: Naps
) -> None:
    origin = repo_with_history(tmp_path / "origin", run_git, 0.02)
    commit(origin, run_git, 0.3, "wait longer")
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    (clone / ".firsttry").mkdir()
    os.rename(origin / ".firsttry" / "archive", clone / ".firsttry" / "archive")
    code, out, report = run(clone, capsys)
    verdict = report.regression
    # the archive's own verdict stands
    assert verdict is not None and verdict.confirmation is None, out
    assert verdict.verdict == "regression" and code == 4
    (note,) = [n for n in verdict.notes if n.startswith("not confirmed by A/B")]
    assert "is not in this clone" in note and "git fetch --unshallow" in note


def test_a_commit_trailer_accepts_an_intended_slowdown(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], naps: Naps
) -> None:
    repo = repo_with_history(tmp_path / "r", run_git, 0.05)
    # (the start-up included: about +57% for the first commit, +286% for both)
    commit(repo, run_git, 0.09, "new checks\n\nFtbench-Accept: lite warm +100%: new checks")
    code, out, report = run(repo, capsys, "--against", "HEAD~1")
    verdict = report.regression
    assert verdict is not None and code == 0, out
    assert verdict.verdict == "accepted" and verdict.accepted is not None
    assert verdict.accepted[0].reason == "new checks"
    assert verdict.accepted[0].commit == run_git(repo, "rev-parse", "HEAD")
    commit(repo, run_git, 0.25, "much more")
    code, out, report = run(repo, capsys, "--against", "HEAD~2")
    assert code == 4, out  # over both commits: beyond the accepted +100%
    assert report.regression is not None and report.regression.accepted is not None
    assert "beyond the accepted +100%" in report.regression.phases["warm"].reason
    # the archive judge: the trailers since the newest baseline's commit apply too
    code, out, report = run(repo, capsys, "--confirm", "never", "--accept", "lite +900%")
    assert code == 0 and report.regression is not None, out
    assert report.regression.verdict == "accepted"


def test_a_bad_accept_option_is_a_usage_error(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repo_with_history(tmp_path / "r", run_git, 0.0, runs=0)
    code = cli.main(["run", "--repo", str(repo), *FEW, "--accept", "lite warm fifteen"])
    err = capsys.readouterr().err
    assert code == 2 and "TIER [warm|cold|any]" in err and "Traceback" not in err
