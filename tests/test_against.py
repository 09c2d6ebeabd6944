"""``ft-bench run --against REF`` and ``ft-bench calibrate`` end to end, on real git trees."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from factory import keyed, make_report, noisy, ts
from fakes import Naps
from ftbench import cli
from ftbench.errors import SetupError
from ftbench.judge import calibration
from ftbench.judge.core import judge
from ftbench.judge.options import JudgeOptions
from ftbench.measure import worktree
from ftbench.report.model import KeyedReport, Report
from procs import ftbench

Git = Callable[..., str]
# a sleep: "auto" judges it on wall time (it does not use a CPU)
CONFIG = '[tiers.lite]\n[[tiers.lite.steps]]\nname = "nap"\ncmd = ["{py}", "nap.py"]\n'
NAP = "import time\ntime.sleep({s})\n"
FEW = ["--skip-cold", "--runs", "4", "--warmup", "0"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("S3_", "AWS_", "FTBENCH_", "GITHUB_", "CI_")):
            monkeypatch.delenv(name, raising=False)


def nap_repo(path: Path, git: Git, base_s: float, head_s: float) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text(".firsttry/\n")
    (path / "ftbench.toml").write_text(CONFIG.format(py=sys.executable))
    (path / "nap.py").write_text(NAP.format(s=base_s))
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    (path / "nap.py").write_text(NAP.format(s=head_s))
    git(path, "commit", "-q", "--allow-empty", "-am", "head")
    return path


def run(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, Report]:
    code = cli.main(["run", "--repo", str(repo), "--quiet", "--progress", "never", *args])
    out, err = capsys.readouterr()
    return code, out + err, Report.from_json((repo / ".firsttry/bench_proof.json").read_text())


def worktrees(repo: Path, git: Git) -> int:
    return git(repo, "worktree", "list").count("\n") + 1


def test_a_slower_head_is_a_regression_and_the_worktree_is_gone(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], naps: Naps
) -> None:
    repo = nap_repo(tmp_path / "r", run_git, 0.01, 0.25)
    # the base tree's configuration differs: the current tree's defines the target for both
    (repo / "ftbench.toml").write_text(CONFIG.format(py=sys.executable) + "# changed\n")
    run_git(repo, "commit", "-q", "-am", "config")
    code, _, report = run(repo, capsys, *FEW, "--against", "HEAD~2", "--metric", "wall")
    assert code == 4, report.regression
    assert report.against is not None and report.regression is not None
    assert report.against.commit == run_git(repo, "rev-parse", "HEAD~2")
    assert report.regression.verdict == "regression" and report.regression.metric == "wall"
    assert "A/B" in report.regression.method
    warm = report.regression.phases["warm"]
    assert warm.pct_change is not None and warm.pct_change > 50
    assert report.against.runs.warm is not None
    assert len(report.against.runs.warm.samples) == warm.current.n >= 4
    assert report.against.stopped["warm"].startswith(("clear after", "cap of"))
    assert worktrees(repo, run_git) == 1


def test_unchanged_code_is_not_a_regression(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], naps: Naps
) -> None:
    repo = nap_repo(tmp_path / "r", run_git, 0.02, 0.02)
    code, out, report = run(repo, capsys, *FEW, "--against", "HEAD~1", "--metric", "cpu")
    assert code == 0, out
    assert report.regression is not None and report.regression.verdict == "no change"
    assert report.regression.threshold_source == "default"
    assert report.regression.threshold_pct == 5.0


def test_missing_ref_and_auto_without_base_are_setup_errors(
    tmp_path: Path,
    run_git: Git,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = nap_repo(tmp_path / "r", run_git, 0.0, 0.0)
    code = cli.main(["run", "--repo", str(repo), *FEW, "--against", "nosuchref"])
    err = capsys.readouterr().err
    assert code == 5 and "git fetch" in err and "Traceback" not in err
    code = cli.main(["run", "--repo", str(repo), *FEW, "--against", "auto"])
    assert code == 5 and "--baseline-branch" in capsys.readouterr().err
    monkeypatch.setenv("GITHUB_BASE_REF", "develop")
    code = cli.main(["run", "--repo", str(repo), *FEW, "--against", "auto"])
    err = capsys.readouterr().err
    assert code == 5 and "git fetch origin develop" in err
    assert worktrees(repo, run_git) == 1


def test_auto_is_the_merge_base_with_the_base_branch(tmp_path: Path, run_git: Git) -> None:
    repo = nap_repo(tmp_path / "r", run_git, 0.0, 0.0)
    base = run_git(repo, "rev-parse", "HEAD~1")
    run_git(repo, "branch", "develop", base)
    run_git(repo, "checkout", "-q", "-b", "feature")
    (repo / "x").write_text("x")
    run_git(repo, "add", "x")
    run_git(repo, "commit", "-q", "-m", "feature")
    found = worktree.resolve_ref(
        repo, "auto", environ={"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "develop"}
    )
    assert found.commit == base and "CI_MERGE_REQUEST_TARGET_BRANCH_NAME" in found.how


def test_checkout_is_removed_when_the_block_fails(tmp_path: Path, run_git: Git) -> None:
    repo = nap_repo(tmp_path / "r", run_git, 0.0, 0.0)
    with pytest.raises(KeyboardInterrupt), worktree.checkout(repo, "HEAD~1") as tree:
        assert (tree / "ftbench.toml").is_file()
        raise KeyboardInterrupt
    assert not tree.exists() and worktrees(repo, run_git) == 1


def test_setup_runs_untimed_in_both_trees_and_a_failing_one_is_a_setup_error(
    tmp_path: Path,
    run_git: Git,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = nap_repo(tmp_path / "r", run_git, 0.0, 0.0)
    marker = tmp_path / "setups"
    config = (repo / "ftbench.toml").read_text()
    # the setup command gets the commands' environment: not ftbench's own S3 credentials
    monkeypatch.setenv("S3_SECRET_ACCESS_KEY", "canary-secret-value")
    setup = f'setup = "echo x${{S3_SECRET_ACCESS_KEY:-}} >> {marker}"\n'
    (repo / "ftbench.toml").write_text(config.replace("[tiers.lite]\n", "[tiers.lite]\n" + setup))
    code, out, report = run(repo, capsys, *FEW, "--against", "HEAD~1")
    assert code == 0, out
    assert marker.read_text() == "x\nx\n" and report.against and report.against.setup
    (repo / "ftbench.toml").write_text(
        config.replace("[tiers.lite]\n", '[tiers.lite]\nsetup = "exit 3"\n')
    )
    code = cli.main(["run", "--repo", str(repo), *FEW, "--against", "HEAD~1"])
    assert code == 5 and "setup command exited with code 3" in capsys.readouterr().err


def test_calibrate_stores_thresholds_that_later_runs_use(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], naps: Naps
) -> None:
    repo = nap_repo(tmp_path / "r", run_git, 0.01, 0.01)
    calibrate = ["--rounds", "5", "--mode", "fast", "--skip-cold", "--metric", "wall"]
    code = cli.main(["calibrate", "--repo", str(repo), *calibrate])
    out = capsys.readouterr().out
    assert code == 0 and "false alarms: " in out and "measured: --regress-pct" in out
    stored = list((repo / ".firsttry/archive/.calibration").rglob("*.json"))
    assert len(stored) == 1
    data = json.loads(stored[0].read_text())
    assert data["rounds"] == 5 and data["against_pct"] >= 1
    stored[0].write_text(json.dumps({**data, "against_pct": 8.0, "archive_pct": 13.0}))
    # the A/B threshold for --against, the archive one for a plain run
    code, out, report = run(repo, capsys, "--mode", "fast", "--skip-cold", "--against", "HEAD~1")
    assert report.regression is not None and report.regression.threshold_pct == 8.0
    assert (report.regression.threshold_source or "").startswith("calibration of")
    plain = ["--mode", "fast", "--skip-cold"]  # the calibration is per mode
    code, out, report = run(repo, capsys, *plain)
    assert report.regression is not None and report.regression.threshold_pct == 13.0
    code, out, report = run(repo, capsys, *plain, "--regress-pct", "7")
    assert report.regression is not None and report.regression.threshold_source == "--regress-pct"
    stored[0].write_text("{not json")
    code, out, report = run(repo, capsys, *plain)
    assert report.regression is not None and report.regression.threshold_source == "default"
    assert any("calibration" in n and "ignored" in n for n in report.regression.notes)


def test_recommendation_grows_with_the_noise() -> None:
    quiet = [calibration.Round("no change", c, 2.0, 1.0 + c / 100, "cpu") for c in (1, -1, 0.5)]
    loud = [calibration.Round("no change", c, 9.0, 1.0 + c / 100, "cpu") for c in (8, -9, 5)]
    low, high = calibration.recommend(quiet), calibration.recommend(loud, force=True)
    assert (low.against_pct, low.archive_pct) < (high.against_pct, high.archive_pct)
    assert min(low.against_pct, low.archive_pct) >= calibration.MIN_THRESHOLD_PCT


def with_speed(report: Report, ref: float, pressure: float | None = 3.0) -> Report:
    warm = report.runs.warm
    assert warm is not None
    warm = dataclasses.replace(warm, speed_ref_ms=ref, cpu_pressure_pct=pressure)
    return dataclasses.replace(report, runs=dataclasses.replace(report.runs, warm=warm))


def steady_baselines(pressure: float = 3.0) -> list[KeyedReport]:
    return [
        keyed(
            f"k{i}",
            with_speed(make_report(noisy(1.0, 10, seed=i), None, timestamp=ts(i)), 3, pressure),
        )
        for i in range(6)
    ]


def test_only_a_machine_busier_than_during_the_baselines_makes_a_change_inconclusive() -> None:
    options = JudgeOptions(metric="wall")
    slow = with_speed(make_report(noisy(1.6, 10, seed=40), None, timestamp=ts(99)), 3)
    assert judge(slow, steady_baselines(), options).verdict == "regression"
    # busy, but no busier than during the baselines: the machine explains nothing
    assert judge(slow, steady_baselines(80.0), options).verdict == "regression"
    busy = judge(with_speed(slow, 3, pressure=85.0), steady_baselines(), options)
    assert busy.verdict == "inconclusive" and busy.exit_code == 0
    assert busy.phases["warm"].reason == (
        "machine busier than during the baselines (CPU pressure 85% against at most 3%): "
        "regression not trusted"
    )
    assert busy.phases["warm"].machine == "CPU pressure 85% against at most 3%"
    # faster on a busier machine: the machine does not explain it
    fast = with_speed(make_report(noisy(0.6, 10, seed=42), None, timestamp=ts(99)), 3, 85.0)
    assert judge(fast, steady_baselines(), options).verdict == "improvement"
    # no readings on the baselines' side (reports of 0.2): nothing is blamed
    unread = with_speed(slow, 3, pressure=85.0)
    old = [keyed(b.key, with_speed(b.report, 3, pressure=None)) for b in steady_baselines()]
    assert judge(unread, old, options).verdict == "regression"


def test_a_quiet_machine_is_never_busy() -> None:
    # readings like the baselines' (a little noise in both): no change is blamed on the machine
    options = JudgeOptions(metric="wall")
    for seed, (ref, pressure) in enumerate([(3.1, 4.0), (2.9, 0.0), (3.3, 12.0), (3.0, 20.0)]):
        slow = with_speed(make_report(noisy(1.6, 10, seed=seed), None, timestamp=ts(99)), ref)
        slow = with_speed(slow, ref, pressure)
        verdict = judge(slow, steady_baselines(), options)
        assert verdict.verdict == "regression" and verdict.phases["warm"].machine is None


def test_cpu_is_judged_relative_to_the_machine_speed() -> None:
    # the machine ran at half speed during the current run: CPU time doubled, and so did the
    # reference loop's; relative to it nothing changed
    slow_machine = with_speed(make_report(noisy(2.0, 10, seed=41), None, timestamp=ts(99)), 6)
    verdict = judge(slow_machine, steady_baselines(), JudgeOptions(metric="cpu"))
    assert verdict.verdict == "no change", verdict.summary
    assert any("relative to the machine's speed" in n for n in verdict.notes)
    # wall time is not relative to anything, but the slower machine explains its change
    walled = judge(slow_machine, steady_baselines(), JudgeOptions(metric="wall"))
    assert walled.verdict == "inconclusive"
    assert "reference loop 6.00 ms against at most 3.00 ms" in walled.phases["warm"].reason


def test_resolve_ref_outside_git_is_a_setup_error(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="needs a git repository"):
        worktree.resolve_ref(tmp_path, "HEAD")


def test_sigterm_during_pairs_keeps_the_report_and_removes_the_worktree(
    tmp_path: Path, run_git: Git
) -> None:
    repo = nap_repo(tmp_path / "r", run_git, 0.2, 0.2)
    args = ["--skip-cold", "--runs", "20", "--warmup", "0", "--against", "HEAD~1"]
    proc = ftbench(repo, "run", "--repo", str(repo), *args)
    report_file = repo / ".firsttry" / "bench_artifacts"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(report_file.rglob("warm-03-*.log")):
        time.sleep(0.1)  # a few pairs measured
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    report = Report.from_json((repo / ".firsttry/bench_proof.json").read_text())
    assert report.against is not None and report.against.runs.warm is not None
    assert report.against.runs.warm.samples  # what was measured is kept
    assert worktrees(repo, run_git) == 1
    archived = list((repo / ".firsttry/archive").rglob("*.json"))
    assert len([p for p in archived if ".calibration" not in p.parts]) == 1
