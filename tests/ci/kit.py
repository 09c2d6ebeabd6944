"""Helpers of the CI-runner tests: ftbench's root, git, the docs' recipes, the tools, the
generated foreign repository they benchmark."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import foreign

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCS = ROOT / "docs" / "ci.md"
#: the foreign library's work (2 rounds of it, 3 when slowed down: +50%) and its waiting test
WORK_N, WAIT_S, SLOW_WAIT_S = 3_000_000, 0.05, 0.3
GIT_ENV = {
    "GIT_AUTHOR_NAME": "ci",
    "GIT_AUTHOR_EMAIL": "ci@example.invalid",
    "GIT_COMMITTER_NAME": "ci",
    "GIT_COMMITTER_EMAIL": "ci@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout.strip()


def recipe(name: str) -> str:
    """The fenced block after ``<!-- recipe: NAME -->`` in docs/ci.md."""
    found = re.search(rf"<!-- recipe: {name} -->\n```\w*\n(.*?)```", DOCS.read_text(), re.S)
    assert found, f"docs/ci.md has no recipe {name!r}"
    return found.group(1)


def tool(name: str) -> str:
    """A tool of the dev set-up: next to this Python, or in tests/ci/node_modules."""
    for path in (BIN / name, ROOT / "tests" / "ci" / "node_modules" / ".bin" / name):
        if path.exists():
            return str(path)
    pytest.fail(f"{name} is not installed: run .ci/run (or pip install -e '.[dev]'; npm ci)")


def runner_env(**extra: str) -> dict[str, str]:
    """The environment a CI runner test starts its runner with: no CI variables of the
    machine, no active virtual environment, no ruff on PATH (a foreign repository's runner
    has none), bytecode written as anywhere else."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "CI", "GITLAB", "FTBENCH_"))
        and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    }
    path = env.get("PATH", os.defpath).split(os.pathsep)
    env["PATH"] = os.pathsep.join(
        p for p in path if p and not os.path.exists(os.path.join(p, "ruff"))
    )
    env.update(extra)
    return env


def make_foreign(path: Path) -> Path:
    """A repository that is not ftbench's (tests/foreign.py: a library with a src layout and
    its own tests, nothing installed, no ruff), after the documented first step: ``ft-bench
    init`` wrote its tier (pytest, the default tier) into pyproject.toml, committed."""
    foreign.write(path, "hatchling", n=WORK_N, wait=WAIT_S)
    # the archive's repository id comes from the remote: the same in every CI workspace
    git(path, "remote", "add", "origin", "https://example.invalid/o/samplelib.git")
    # the user's environment, where pytest is installed (this one); the repository's own
    # .venv is made by each recipe's install step
    env = runner_env(VIRTUAL_ENV=str(BIN.parent))
    proc = subprocess.run(
        [str(BIN / "ft-bench"), "init", "--repo", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pytest: {python} -m pytest -q" in proc.stdout, proc.stdout
    git(path, "commit", "-q", "-am", "ftbench init")
    return path


def pull_request(repo: Path, branch: str, change: str) -> str:
    """A branch off main with one change (``readme``, ``library``: +50% work, ``test``: a
    test waits longer), checked out; the merge-base."""
    git(repo, "checkout", "-q", "main")
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", branch)
    if change == "readme":
        (repo / "README.md").write_text("# samplelib\n\nA sample library.\n")
        git(repo, "commit", "-q", "-am", "README: a sentence")
    elif change == "library":
        foreign.slow_library(repo)
    else:
        foreign.slow_test(repo, SLOW_WAIT_S)
    return base
