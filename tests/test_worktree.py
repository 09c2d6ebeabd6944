"""The A/B base worktree (issue 16, items 9 and 10): never leaked, even after SIGKILL; its
submodules checked out from the repository's own copies, never from their URLs."""

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
from ftbench.report.model import Report
from procs import ftbench

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
    proc = ftbench(
        repo, *args, "--against", "HEAD~1", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
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


# --- item 10: submodules ---------------------------------------------------------------------


def add_submodule(repo: Path, source: Path, path: str, git: Git) -> None:
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(source), path)


def library(path: Path, git: Git, inner: Path | None = None) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "mod.py").write_text("print('library here')\n")
    if inner is not None:
        add_submodule(path, inner, "inner", git)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "library")
    return path


def super_repo(tmp_path: Path, git: Git, check: str, *, recursive: bool = True) -> Path:
    """A repository whose step runs ``check`` (Python) over its submodule ``lib`` (which
    has a submodule ``inner``, initialised when ``recursive``); the submodules' URLs are
    gone afterwards."""
    inner = library(tmp_path / "inner-origin", git)
    lib = library(tmp_path / "lib-origin", git, inner=inner)
    repo = tmp_path / "super"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    add_submodule(repo, lib, "lib", git)
    deep = ["--recursive"] if recursive else []
    git(repo, "-c", "protocol.file.allow=always", "submodule", "update", "-q", "--init", *deep)
    (repo / ".gitignore").write_text(".firsttry/\n")
    (repo / "check.py").write_text(check)
    (repo / "ftbench.toml").write_text(
        f'[tiers.lite]\n[[tiers.lite.steps]]\nname = "c"\ncmd = ["{sys.executable}", "check.py"]\n'
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "commit", "-q", "--allow-empty", "-m", "head")
    for origin in (lib, inner):  # unreachable from now on: nothing may be fetched
        subprocess.run(["rm", "-rf", str(origin)], check=True)
    return repo


NEEDS_BOTH = (
    "import pathlib\n"
    "for p in ('lib/mod.py', 'lib/inner/mod.py'):\n"
    "    assert pathlib.Path(p).is_file(), p\n"
)


def run_ab(repo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = cli.main(
        ["run", "--repo", str(repo), "--quiet", "--progress", "never", *FEW, "--against", "HEAD~1"]
    )
    return code, capsys.readouterr().err.splitlines()


def test_the_base_side_has_its_submodules_from_local_copies(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = super_repo(tmp_path, run_git, NEEDS_BOTH)
    code, err = run_ab(repo, capsys)
    assert code in (0, 4), err
    report = Report.from_json((repo / ".firsttry" / "bench_proof.json").read_text())
    assert report.against is not None and report.against.runs.warm is not None
    assert all(s.ok for s in report.against.runs.warm.samples)
    assert registered(repo, run_git) == []


def test_a_submodule_commit_missing_here_is_one_clear_line(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = super_repo(tmp_path, run_git, NEEDS_BOTH)
    missing = "0123456789abcdef0123456789abcdef01234567"
    real = run_git(repo, "rev-parse", "HEAD:lib")
    run_git(repo, "update-index", "--cacheinfo", f"160000,{missing},lib")
    run_git(repo, "commit", "-q", "-m", "base with a commit of lib only upstream has")
    run_git(repo, "update-index", "--cacheinfo", f"160000,{real},lib")
    run_git(repo, "commit", "-q", "-m", "head")
    code, err = run_ab(repo, capsys)
    assert code == 5
    assert err == [
        "ft-bench: error: --against: the base side needs commit 0123456789ab of submodule "
        "'lib', which this clone does not have (git -C lib fetch, or git submodule update "
        "--init --recursive, then run again): ftbench never fetches submodules"
    ]
    assert registered(repo, run_git) == []


def test_a_submodule_never_initialised_here_stays_empty_in_the_base_too(
    tmp_path: Path, run_git: Git, capsys: pytest.CaptureFixture[str]
) -> None:
    check = "import os\nassert os.path.isfile('lib/mod.py') and not os.listdir('lib/inner')\n"
    repo = super_repo(tmp_path, run_git, check, recursive=False)
    code, err = run_ab(repo, capsys)
    assert code in (0, 4), err
