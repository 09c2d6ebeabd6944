"""The A/B base worktree (issue 16, item 9): never leaked, even after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ftbench import cli
from ftbench.measure import worktree

Git = Callable[..., str]
FEW = ["--skip-cold", "--runs", "3", "--warmup", "0", "--baseline", "none"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("S3_", "AWS_", "FTBENCH_", "GITHUB_", "CI_")):
            monkeypatch.delenv(name, raising=False)


def registered(repo: Path, git: Git) -> list[Path]:
    """The linked worktrees git knows of (the main one left out)."""
    listed = git(repo, "worktree", "list", "--porcelain").splitlines()
    trees = [Path(line.split(" ", 1)[1]) for line in listed if line.startswith("worktree ")]
    return trees[1:]


def ftbench_tree(repo: Path, git: Git, where: Path, reason: str | None) -> Path:
    """An ftbench-style worktree at ``where/ftbench-ab-*/base``, locked with ``reason``."""
    tree = where / f"{worktree.PREFIX}{len(list(where.glob('*')))}" / "base"
    git(repo, "worktree", "add", "--detach", str(tree), "HEAD")
    if reason is not None:
        git(repo, "worktree", "lock", "--reason", reason, str(tree))
    return tree


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


# --- item 9: stale worktrees ---------------------------------------------------------------


def test_only_worktrees_whose_owner_is_gone_are_removed(
    tmp_repo: Path, tmp_path: Path, run_git: Git
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    host = os.uname().nodename
    live = ftbench_tree(tmp_repo, run_git, temp, worktree.owner())
    dead = ftbench_tree(tmp_repo, run_git, temp, worktree.owner(dead_pid()))
    elsewhere = ftbench_tree(
        tmp_repo, run_git, temp, f"ftbench pid {dead_pid()} on x{host} started 1"
    )
    foreign = ftbench_tree(tmp_repo, run_git, temp, "kept by hand")
    fresh = ftbench_tree(tmp_repo, run_git, temp, None)  # between add and lock, or 0.3's
    old = ftbench_tree(tmp_repo, run_git, temp, None)
    an_hour_ago = time.time() - 3600
    os.utime(old.parent, (an_hour_ago, an_hour_ago))
    other = tmp_path / "mine" / "base"  # a worktree that is not ftbench's
    run_git(tmp_repo, "worktree", "add", "--detach", str(other), "HEAD")
    os.utime(other.parent, (an_hour_ago, an_hour_ago))

    assert sorted(worktree.remove_stale(tmp_repo)) == sorted([dead, old])
    kept = [live, elsewhere, foreign, fresh, other]
    assert sorted(registered(tmp_repo, run_git)) == sorted(kept)
    assert all(t.is_dir() for t in kept)
    assert not dead.parent.exists() and not old.parent.exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="start times from /proc")
def test_a_pid_used_again_by_another_process_is_not_the_owner(
    tmp_repo: Path, tmp_path: Path, run_git: Git
) -> None:
    reason = f"ftbench pid {os.getpid()} on {os.uname().nodename} started 1"
    tree = ftbench_tree(tmp_repo, run_git, tmp_path, reason)
    assert worktree.remove_stale(tmp_repo) == [tree]
    assert registered(tmp_repo, run_git) == [] and not tree.exists()


def test_a_stale_worktree_whose_folder_is_gone_is_unregistered(
    tmp_repo: Path, tmp_path: Path, run_git: Git
) -> None:
    tree = ftbench_tree(tmp_repo, run_git, tmp_path, worktree.owner(dead_pid()))
    subprocess.run(["rm", "-rf", str(tree.parent)], check=True)  # the temp folder was cleaned
    run_git(tmp_repo, "worktree", "prune")
    assert registered(tmp_repo, run_git) == [tree]  # locked: git keeps it
    worktree.remove_stale(tmp_repo)
    assert registered(tmp_repo, run_git) == []


def nap_repo(path: Path, git: Git) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text(".firsttry/\n")
    (path / "ftbench.toml").write_text(
        f'[tiers.lite]\n[[tiers.lite.steps]]\nname = "nap"\ncmd = ["{sys.executable}", "nap.py"]\n'
    )
    (path / "nap.py").write_text("import time\ntime.sleep(0.2)\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    git(path, "commit", "-q", "--allow-empty", "-m", "head")
    return path


def test_a_run_killed_with_sigkill_leaks_no_worktree_past_the_next_run(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = nap_repo(tmp_path / "r", run_git)
    args = ["run", "--repo", str(repo), "--skip-cold", "--runs", "20", "--warmup", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftbench", *args, "--against", "HEAD~1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    logs = repo / ".firsttry" / "bench_artifacts"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(logs.rglob("warm-02-*.log")):
        time.sleep(0.05)  # a few pairs measured
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    (leaked,) = registered(repo, run_git)
    assert leaked.is_dir() and leaked.parent.name.startswith(worktree.PREFIX)

    code = cli.main([*args[:3], "--quiet", "--progress", "never", *FEW, "--against", "HEAD~1"])
    assert code in (0, 4), capsys.readouterr().err
    assert registered(repo, run_git) == []
    assert not leaked.exists() and not leaked.parent.exists()
