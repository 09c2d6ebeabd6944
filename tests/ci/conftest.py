"""Fixtures of the CI-runner tests: ftbench's working tree as a git repository (what a
user's workflow would fetch) and the generated foreign repository they benchmark.

Tests marked ``ci_runners`` run only when selected (``-m ci_runners``; ``.ci/run`` does): they
take minutes and need the tools of the dev set-up (act, pre-commit, hadolint from pip,
gitlab-ci-local from npm).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci.kit import ROOT, git, make_foreign


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "ci_runners" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="CI runners: run with -m ci_runners (.ci/run does)")
    for item in items:
        if "ci_runners" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def ftbench_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ftbench's working tree (tracked and untracked, not ignored files), committed in a new
    git repository: what a user's CI fetches."""
    dest = tmp_path_factory.mktemp("ftbench-src") / "ftbench"
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "ftbench under test")
    return dest


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[Path]:
    """A generated foreign repository (tests/foreign.py) after ``ft-bench init``."""
    yield make_foreign(tmp_path / "samplelib")
