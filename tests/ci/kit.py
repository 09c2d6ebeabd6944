"""Helpers of the CI-runner tests: ftbench's root, git, the docs' recipes, the tools, the
sample repository they benchmark."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCS = ROOT / "docs" / "ci.md"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "ci",
    "GIT_AUTHOR_EMAIL": "ci@example.invalid",
    "GIT_COMMITTER_NAME": "ci",
    "GIT_COMMITTER_EMAIL": "ci@example.invalid",
}
#: CPU work whose size is read from size.txt: the sample repository's benchmarked command
WORK_PY = "n = int(open('size.txt').read())\nprint(sum(i * i for i in range(n)))\n"
FAST_SIZE, SLOW_SIZE = 30_000, 1_500_000


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


def make_sample(path: Path, size: int = FAST_SIZE) -> Path:
    """A repository that is not ftbench's: one tier, one CPU-bound step sized by size.txt."""
    path.mkdir(parents=True)
    (path / "work.py").write_text(WORK_PY)
    (path / "size.txt").write_text(f"{size}\n")
    (path / "ftbench.toml").write_text(
        '[tiers.lite]\ndescription = "sample work"\n'
        '[[tiers.lite.steps]]\nname = "work"\ncmd = ["python3", "work.py"]\n'
    )
    (path / ".gitignore").write_text(".firsttry/\n")
    git(path, "init", "-q", "-b", "main")
    # the archive's repository id comes from the remote: the same in every CI workspace
    git(path, "remote", "add", "origin", "https://example.invalid/o/sample.git")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "sample")
    return path
