"""The pre-commit hook (.pre-commit-hooks.yaml), as docs/ci.md's recipe uses it, copied
verbatim into a generated foreign repository (tests/foreign.py) with its own .venv, run by
pre-commit on `git push`: installed into pre-commit's own virtualenv (language: python), which
ftbench never takes for the project's; the verdict printed on a pass; exit 4 fails the push."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import foreign
from ci.kit import git, recipe, runner_env, tool

# four runs of the recipe, each installing the project: minutes, bounded here
pytestmark = [pytest.mark.ci_runners, pytest.mark.timeout(1800)]


def _push(sample: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", "origin", "HEAD"],
        cwd=sample,
        capture_output=True,
        text=True,
        env={**env, **foreign.GIT_ENV},
        timeout=900,
    )


def test_recipe_in_a_foreign_repository(sample: Path, ftbench_repo: Path, tmp_path: Path) -> None:
    text = recipe("pre-commit")
    # the lines a user changes: where ftbench comes from
    text, n = re.subn(r"repo: \S+", f"repo: {ftbench_repo}", text)
    text, m = re.subn(r"rev: \S+", f"rev: {git(ftbench_repo, 'rev-parse', 'HEAD')}", text)
    assert n == m == 1
    (sample / ".pre-commit-config.yaml").write_text(text)
    git(sample, "add", "-A")
    git(sample, "commit", "-q", "-m", "hook")
    foreign.install(sample, "hatchling", "pytest")  # the developer's own environment
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    git(sample, "remote", "set-url", "origin", str(origin))
    env = runner_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    env["PATH"] = os.pathsep.join([str(Path(tool("pre-commit")).parent), env["PATH"]])
    installed = subprocess.run(
        [tool("pre-commit"), "install"], cwd=sample, capture_output=True, text=True, env=env
    )
    assert "pre-push" in installed.stdout, installed.stdout + installed.stderr

    # a commit does not benchmark; the first push: no baseline, printed on the pass
    git(sample, "commit", "-q", "--allow-empty", "-m", "nothing")
    pushed = _push(sample, env)
    out = pushed.stdout + pushed.stderr
    assert pushed.returncode == 0, out
    assert "ftbench benchmark" in out and "Passed" in out
    assert "No baseline" in out and "checks tier (fast mode)" in out  # the verdict, shown
    assert "cannot import pytest" not in out  # the project's .venv, not the hook's env

    # an unchanged push: passes, the verdict shown
    git(sample, "commit", "-q", "--allow-empty", "-m", "nothing either")
    pushed = _push(sample, env)
    out = pushed.stdout + pushed.stderr
    assert pushed.returncode == 0, out
    assert "Passed" in out and re.search(r"ftbench: (No change|Faster|Inconclusive)", out), out

    # +50% in the library (installed editable): exit 4, the push is refused
    foreign.slow_library(sample)
    pushed = _push(sample, env)
    out = pushed.stdout + pushed.stderr
    assert pushed.returncode != 0, out
    assert "Failed" in out and "exit code: 4" in out and "ftbench: Regression" in out
    assert "<details>" not in out  # the terminal gets plain text

    # a test that waits longer, the library as it was: exit 4 too. Against a fresh archive:
    # the refused push's run is archived, and a baseline holding it is as noisy as it was
    # slow (the judge's business, not the hook's)
    git(sample, "reset", "-q", "--hard", "HEAD~1")
    shutil.rmtree(sample / ".firsttry" / "archive")
    git(sample, "commit", "-q", "--allow-empty", "-m", "a baseline again")
    assert _push(sample, env).returncode == 0
    foreign.slow_test(sample, 0.3)
    pushed = _push(sample, env)
    out = pushed.stdout + pushed.stderr
    assert pushed.returncode != 0 and "exit code: 4" in out, out
