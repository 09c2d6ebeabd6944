"""``ft-bench bisect`` and ``run --against REF --bisect`` end to end, on generated git
repositories: real commits and worktrees; the commands' timings come from the scripted
``levels`` executor (``fakes.Levels``), except where processes are the subject (a deadline
in real time, SIGTERM).

The workload reads ``level.txt`` (``MiB nap exit``): it holds ``MiB`` of memory, sleeps
``nap`` seconds and exits ``exit``. Most tests bisect peak memory (``--metric rss``): it is the
same from sample to sample whatever the machine does, so the steps are quick and the answer is
the search's, not the noise's. Tests assert what was found, never how long it took.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from fakes import Levels
from ftbench import cli
from ftbench.report.model import Report
from procs import ftbench

Git = Callable[..., str]
CONFIG = '[tiers.lite]\n[[tiers.lite.steps]]\nname = "work"\ncmd = ["{py}", "work.py"]\n'
WORK = """import os, sys, time
mib, nap, code = open("level.txt").read().split()
if os.path.exists("a.flag") and os.path.exists("b.flag"):  # two changes, slow together
    mib = 48
data = bytearray(int(mib) << 20)
data[:: 4096] = b"\\1" * len(range(0, len(data), 4096))
time.sleep(float(nap))
sys.exit(int(code))
"""
FAST = ["--skip-cold", "--runs", "8", "--warmup", "0", "--metric", "rss", "--progress", "never"]
BASE_MIB, SLOW_MIB = 4, 48


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("S3_", "AWS_", "FTBENCH_", "GITHUB_", "CI_")):
            monkeypatch.delenv(name, raising=False)


def level(mib: int, nap: float = 0.0, code: int = 0) -> str:
    return f"{mib} {nap} {code}\n"


def commit(repo: Path, git: Git, subject: str, text: str | None = None) -> str:
    """A commit changing ``level.txt`` to ``text``, or an unrelated file."""
    if text is None:  # a file of its own: branches merge without conflicts
        (repo / f"note-{uuid.uuid4().hex}").write_text(subject)
    else:
        (repo / "level.txt").write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", subject)
    return git(repo, "rev-parse", "HEAD")


def make_history(
    path: Path,
    git: Git,
    count: int,
    slow_at: int | None,
    *,
    failing: Iterable[int] = (),
    base: str = level(BASE_MIB),
    slow: str = level(SLOW_MIB),
) -> list[str]:
    """A repository whose commit 0 (GOOD) is followed by ``count`` commits; commit
    ``slow_at`` makes it slower; the ``failing`` ones exit 1. The commit ids, oldest first."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text(".firsttry/\n")
    (path / "ftbench.toml").write_text(CONFIG.format(py=sys.executable))
    (path / "work.py").write_text(WORK)
    shas = [commit(path, git, "good", base)]
    failing = set(failing)
    current = base
    for i in range(1, count + 1):
        if i == slow_at:
            current = slow
        mib, nap, _ = current.split()
        text = f"{mib} {nap} {1 if i in failing else 0}\n"
        previous = (path / "level.txt").read_text()
        shas.append(commit(path, git, f"commit {i}", text if text != previous else None))
    return shas


def bisect(
    repo: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    code = cli.main(["bisect", "--repo", str(repo), *FAST, "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def worktrees(repo: Path, git: Git) -> int:
    return git(repo, "worktree", "list").count("\n") + 1


def ab_runs(found: dict[str, Any]) -> int:
    """A/B runs measured: every step that measured pairs."""
    return sum(1 for s in found["steps"] if s["pairs"] > 0)


@pytest.mark.parametrize(("count", "slow_at"), [(7, 5), (15, 4), (31, 23)])
def test_one_slow_commit_is_named_and_the_worktrees_are_gone(
    tmp_path: Path,
    run_git: Git,
    capsys: pytest.CaptureFixture[str],
    count: int,
    slow_at: int,
    levels: Levels,
) -> None:
    shas = make_history(tmp_path / "r", run_git, count, slow_at)
    code, found = bisect(tmp_path / "r", capsys, shas[0], shas[-1])
    assert code == 0
    assert found["status"] == "found", found["summary"]
    assert found["culprit"] == shas[slow_at] and found["range"] is None
    assert found["culprit_subject"] == f"commit {slow_at}"
    assert found["phase"] == "warm" and found["metric"] == "rss"
    assert found["summary"].startswith(f"the slowdown came with {shas[slow_at][:12]}")
    kinds = [s["kind"] for s in found["steps"]]
    assert kinds[0] == "confirm" and kinds[-1] == "culprit" and set(kinds[1:-1]) == {"step"}
    assert found["steps"][-1]["decision"] == "confirmed"
    assert found["steps"][-1]["reference"] == shas[slow_at - 1]
    assert ab_runs(found) <= math.ceil(math.log2(count)) + 2
    for step in found["steps"][1:-1]:  # each step was decided the right way
        like = "like bad" if shas.index(step["commit"]) >= slow_at else "like good"
        assert step["decision"] == like
    assert found["used_s"] <= found["budget_s"] and found["samples"] > 0
    assert worktrees(tmp_path / "r", run_git) == 1


def test_a_merge_culprit_is_bisected_into_its_branch(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], levels: Levels
) -> None:
    repo = tmp_path / "r"
    shas = make_history(repo, run_git, 3, None)
    run_git(repo, "checkout", "-q", "-b", "feature", shas[1])
    branch = [
        commit(repo, run_git, "feature 1", None),
        commit(repo, run_git, "feature 2: bigger buffers", level(SLOW_MIB)),
        commit(repo, run_git, "feature 3", None),
    ]
    run_git(repo, "checkout", "-q", "main")
    run_git(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    merge = run_git(repo, "rev-parse", "HEAD")
    after = [commit(repo, run_git, f"after {i}", None) for i in range(2)]
    code, found = bisect(repo, capsys, shas[0], after[-1])
    assert code == 0 and found["status"] == "found", found["summary"]
    assert found["culprit"] == branch[1]
    paths = {s["commit"]: s["path"] for s in found["steps"]}
    assert paths[branch[1]] == f"merged by {merge[:12]}"
    assert any(f"merge {merge[:12]}" in note for note in found["notes"])
    assert worktrees(repo, run_git) == 1


def test_a_merge_whose_branches_are_slow_only_together_is_the_culprit(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], levels: Levels
) -> None:
    repo = tmp_path / "r"
    shas = make_history(repo, run_git, 2, None)
    run_git(repo, "checkout", "-q", "-b", "feature")
    (repo / "b.flag").write_text("")
    commit(repo, run_git, "feature: b", None)
    commit(repo, run_git, "feature: more", None)
    run_git(repo, "checkout", "-q", "main")
    (repo / "a.flag").write_text("")
    commit(repo, run_git, "main: a", None)
    run_git(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    merge = run_git(repo, "rev-parse", "HEAD")
    last = commit(repo, run_git, "after", None)
    code, found = bisect(repo, capsys, shas[0], last)
    assert code == 0 and found["status"] == "found", found["summary"]
    assert found["culprit"] == merge
    assert any("the merge itself" in note for note in found["notes"])


def test_subjects_are_read_as_written(tmp_path: Path, run_git: Git) -> None:
    from ftbench.measure import history

    repo = tmp_path / "r"
    shas = make_history(repo, run_git, 1, None)
    subject = "x\x01\x1e\x1f y ☃ 'q' \"d\" $(rm -rf /) <b>|</b> \u202e"
    last = commit(repo, run_git, subject, None)
    path = history.first_parent_path(repo, last, [shas[0]])
    assert [c.sha for c in path] == [shas[1], last]
    assert path[-1].subject == subject and path[-1].parents == (shas[1],)


def test_failing_commits_are_skipped_and_the_answer_is_the_range(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], levels: Levels
) -> None:
    # commits 3 and 4 fail; 4 is the slow one: hidden by the skips
    shas = make_history(tmp_path / "r", run_git, 7, 4, failing=(3, 4))
    code, found = bisect(tmp_path / "r", capsys, shas[0], shas[-1])
    assert code == 0
    assert found["status"] == "range" and found["culprit"] is None
    first, last = found["range"]
    assert shas.index(first) <= 4 <= shas.index(last)
    assert first == shas[3] and found["range_commits"] == shas.index(last) - 3 + 1
    assert set(found["skipped"]) == {shas[3], shas[4]}
    skipped = [s for s in found["steps"] if s["decision"] == "skipped"]
    assert {s["commit"] for s in skipped} == {shas[3], shas[4]}
    assert all("exited with code 1" in s["reason"] for s in skipped)
    assert "skipped" in found["summary"] and f"between {shas[3][:12]}" in found["summary"]
    assert worktrees(tmp_path / "r", run_git) == 1


def test_a_budget_too_small_answers_the_range_never_a_guess(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str]
) -> None:
    shas = make_history(tmp_path / "r", run_git, 15, 6)
    # the budget runs out during BAD against GOOD (at least one look is measured): no step
    code, found = bisect(
        tmp_path / "r", capsys, shas[0], shas[-1], "--runs", "12", "--budget-min", "0.001"
    )
    assert code == 0
    assert found["status"] == "range" and found["culprit"] is None
    assert found["range"] == [shas[1], shas[-1]] and found["range_commits"] == 15
    assert "the budget ran out" in found["summary"]
    assert [s["kind"] for s in found["steps"]] == ["confirm"]


def test_no_slowdown_between_good_and_bad_says_so(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], levels: Levels
) -> None:
    shas = make_history(tmp_path / "r", run_git, 5, None)
    code = cli.main(["bisect", "--repo", str(tmp_path / "r"), *FAST, shas[0], shas[-1]])
    out = capsys.readouterr().out
    assert code == 0
    assert f"no slowdown: BAD {shas[-1][:12]} is not slower than GOOD {shas[0][:12]}" in out
    code, found = bisect(tmp_path / "r", capsys, shas[0], shas[-1])
    assert code == 0 and found["status"] == "no slowdown" and found["culprit"] is None
    assert [s["decision"] for s in found["steps"]] == ["not slower"]


def test_bad_arguments_are_one_line_and_exit_2_or_5(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str]
) -> None:
    shas = make_history(tmp_path / "r", run_git, 2, None)
    repo = str(tmp_path / "r")
    cases = [
        ([shas[0], shas[0]], 2, "same commit"),
        ([shas[-1], shas[0]], 2, "is an ancestor of GOOD"),
        (["nosuchref", shas[0]], 5, "git fetch"),
        (["--", "-x", shas[0]], 2, "is not a commit"),
    ]
    for args, exit_code, message in cases:
        assert cli.main(["bisect", "--repo", repo, *FAST, *args]) == exit_code
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_run_against_with_bisect_names_the_commit_and_escapes_its_subject(
    tmp_path: Path,
    run_git: Git,
    capsys: pytest.CaptureFixture[str],
    validate_report: Callable[[Any], dict[str, Any]],
    levels: Levels,
) -> None:
    repo = tmp_path / "r"
    shas = make_history(repo, run_git, 4, None)
    hostile = "switch <img src=x> @admin #1 | `x` [a](b)"
    culprit = commit(repo, run_git, hostile, level(SLOW_MIB))
    commit(repo, run_git, "after", None)
    code = cli.main(
        ["run", "--repo", str(repo), *FAST, "--quiet", "--against", shas[0], "--bisect"]
    )
    capsys.readouterr()
    assert code == 4
    value = validate_report(repo / ".firsttry/bench_proof.json")
    assert value["regression"]["bisect"]["culprit"] == culprit
    report = Report.from_json((repo / ".firsttry/bench_proof.json").read_text())
    verdict = report.regression
    assert verdict is not None and verdict.bisect is not None
    assert verdict.bisect.culprit == culprit and verdict.bisect.status == "found"
    assert verdict.bisect.reused  # the run's own A/B was BAD against GOOD
    assert f"the slowdown came with {culprit[:12]} '{hostile}'" in verdict.summary
    markdown = (repo / ".firsttry/bench_proof.md").read_text()
    assert "<img" not in markdown and "@admin" not in markdown and "#1 " not in markdown
    assert "&lt;img src=x&gt;" in markdown or "&lt;img" in markdown
    assert "Bisect" in markdown
    assert worktrees(repo, run_git) == 1


def test_a_slowdown_only_in_uncommitted_changes_is_said_so(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], levels: Levels
) -> None:
    repo = tmp_path / "r"
    shas = make_history(repo, run_git, 3, None)
    (repo / "level.txt").write_text(level(SLOW_MIB))  # not committed
    code = cli.main(
        ["run", "--repo", str(repo), *FAST, "--quiet", "--against", shas[0], "--bisect"]
    )
    capsys.readouterr()
    assert code == 4
    report = Report.from_json((repo / ".firsttry/bench_proof.json").read_text())
    assert report.regression is not None and report.regression.bisect is not None
    found = report.regression.bisect
    assert found.status == "no slowdown" and found.reused is None
    assert found.summary.endswith("the slowdown is in the uncommitted changes")
    assert "uncommitted changes" in found.notes[0]


def test_run_with_bisect_on_one_commit_does_not_bisect(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str], levels: Levels
) -> None:
    repo = tmp_path / "r"
    shas = make_history(repo, run_git, 1, 1)
    code = cli.main(
        ["run", "--repo", str(repo), *FAST, "--quiet", "--against", shas[0], "--bisect"]
    )
    capsys.readouterr()
    assert code == 4
    report = Report.from_json((repo / ".firsttry/bench_proof.json").read_text())
    assert report.regression is not None and report.regression.bisect is None


def test_bisect_without_against_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--bisect"]) == 2
    assert "--bisect needs --against" in capsys.readouterr().err


def test_sigterm_removes_every_worktree(tmp_path: Path, run_git: Git) -> None:
    repo = tmp_path / "r"
    slow = level(SLOW_MIB, 0.2)
    shas = make_history(repo, run_git, 15, 9, base=level(BASE_MIB, 0.2), slow=slow)
    proc = ftbench(repo, "bisect", "--repo", str(repo), *FAST, shas[0], shas[-1])
    deadline = time.monotonic() + 120
    seen: set[str] = set()
    while time.monotonic() < deadline and proc.poll() is None and worktrees(repo, run_git) < 3:
        seen.update(line.split()[0] for line in run_git(repo, "worktree", "list").splitlines())
        time.sleep(0.05)  # BAD's and GOOD's worktrees are there: measuring
    assert proc.poll() is None, proc.communicate()
    seen.update(line.split()[0] for line in run_git(repo, "worktree", "list").splitlines())
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "interrupted by SIGTERM" in err
    assert worktrees(repo, run_git) == 1
    trees = [Path(p) for p in seen if Path(p) != repo]
    assert trees and not any(p.exists() or p.parent.exists() for p in trees)
    assert "bisection stopped" in out
