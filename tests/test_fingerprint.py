"""ftbench.measure.fingerprint: one fingerprint for two clones of a commit; never mtimes."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from ftbench.measure import fingerprint

Git = Callable[..., str]


def _populate(git: Git, repo: Path) -> None:
    (repo / "src").mkdir()
    (repo / "src" / "a.py").write_text("print('a')\n")
    (repo / "src" / "b.py").write_text("print('b')\n")
    (repo / "data.json").write_text("{}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "files")


def _clone(source: Path, dest: Path) -> Path:
    subprocess.run(
        ["git", "clone", "-q", "--no-local", str(source), str(dest)],
        check=True,
        capture_output=True,
    )
    return dest


def test_two_clones_of_a_commit_share_the_fingerprint(
    run_git: Git, tmp_repo: Path, tmp_path: Path
) -> None:
    _populate(run_git, tmp_repo)
    one = _clone(tmp_repo, tmp_path / "one")
    two = _clone(tmp_repo, tmp_path / "two")
    os.utime(two / "src" / "a.py", (1_000_000, 1_000_000))  # different mtimes: irrelevant
    a, b = fingerprint.snapshot(one), fingerprint.snapshot(two)
    assert a["fingerprint_method"] == b["fingerprint_method"] == "git-tree"
    assert a["fingerprint"] == b["fingerprint"] == run_git(tmp_repo, "rev-parse", "HEAD^{tree}")
    assert a["files"] == b["files"] == 6  # .gitignore, README.md, ftbench.toml, 3 files
    assert a["bytes"] == b["bytes"] > 0
    assert dict(map(tuple, a["top_extensions"]))[".py"] == 2
    assert a["name"] == "one"


def test_a_modification_changes_the_fingerprint(
    run_git: Git, tmp_repo: Path, tmp_path: Path
) -> None:
    _populate(run_git, tmp_repo)
    clean = fingerprint.snapshot(tmp_repo)
    (tmp_repo / "src" / "a.py").write_text("print('changed')\n")
    dirty = fingerprint.snapshot(tmp_repo)
    assert dirty["fingerprint_method"] == "git-tree+changes"
    assert dirty["fingerprint"] != clean["fingerprint"]
    (tmp_repo / "src" / "a.py").write_text("print('changed again')\n")
    assert fingerprint.snapshot(tmp_repo)["fingerprint"] != dirty["fingerprint"]
    # the same change in a second clone gives the same dirty fingerprint
    other = _clone(tmp_repo, tmp_path / "other")
    (other / "src" / "a.py").write_text("print('changed again')\n")
    assert (
        fingerprint.snapshot(other)["fingerprint"] == fingerprint.snapshot(tmp_repo)["fingerprint"]
    )


def test_untracked_and_deleted_files_change_the_fingerprint(run_git: Git, tmp_repo: Path) -> None:
    _populate(run_git, tmp_repo)
    clean = fingerprint.snapshot(tmp_repo)["fingerprint"]
    (tmp_repo / "new.txt").write_text("new\n")
    untracked = fingerprint.snapshot(tmp_repo)["fingerprint"]
    assert untracked != clean
    (tmp_repo / "new.txt").unlink()
    (tmp_repo / "data.json").unlink()
    deleted = fingerprint.snapshot(tmp_repo)["fingerprint"]
    assert deleted not in (clean, untracked)


def test_ftbench_output_does_not_make_the_checkout_dirty(run_git: Git, tmp_repo: Path) -> None:
    (tmp_repo / ".gitignore").write_text("")
    run_git(tmp_repo, "commit", "-q", "-am", "no ignores")
    before = fingerprint.snapshot(tmp_repo)
    (tmp_repo / ".firsttry" / "bench_artifacts").mkdir(parents=True)
    (tmp_repo / ".firsttry" / "bench_proof.json").write_text("{}")
    after = fingerprint.snapshot(tmp_repo)
    assert after["fingerprint_method"] == "git-tree"
    assert after["fingerprint"] == before["fingerprint"]


def test_non_git_copy_uses_content_and_ignores_mtimes(
    run_git: Git, tmp_repo: Path, tmp_path: Path
) -> None:
    _populate(run_git, tmp_repo)
    copy = tmp_path / "copy"
    shutil.copytree(tmp_repo, copy, ignore=shutil.ignore_patterns(".git"))
    first = fingerprint.snapshot(copy)
    assert first["fingerprint_method"] == "content-sha256"
    assert len(first["fingerprint"]) == 64
    (copy / "src" / "a.py").touch()
    os.utime(copy / "data.json", (2_000_000, 2_000_000))
    assert fingerprint.snapshot(copy)["fingerprint"] == first["fingerprint"]
    # a second copy elsewhere, same content: same fingerprint
    second = tmp_path / "second"
    shutil.copytree(copy, second)
    assert fingerprint.snapshot(second)["fingerprint"] == first["fingerprint"]
    # content changes it; so does a rename
    (copy / "src" / "a.py").write_text("print('A')\n")
    changed = fingerprint.snapshot(copy)["fingerprint"]
    assert changed != first["fingerprint"]
    (copy / "src" / "a.py").rename(copy / "src" / "c.py")
    assert fingerprint.snapshot(copy)["fingerprint"] != changed


def test_non_git_copy_skips_tool_directories(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "m.py").write_text("x = 1\n")
    base = fingerprint.snapshot(root)
    for skipped in (
        ".venv",
        "__pycache__",
        ".mypy_cache",
        "node_modules",
        ".firsttry",
        "pkg/__pycache__",
        "x.egg-info",
    ):
        (root / skipped).mkdir(parents=True, exist_ok=True)
        (root / skipped / "junk").write_text("junk")
    again = fingerprint.snapshot(root)
    assert again["fingerprint"] == base["fingerprint"]
    assert again["files"] == base["files"] == 1
