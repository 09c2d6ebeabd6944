"""The pre-commit hook (.pre-commit-hooks.yaml), as docs/ci.md's recipe uses it, run by
pre-commit: installed into pre-commit's own virtualenv (language: python), manual stage."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from ci.kit import git, recipe, tool

pytestmark = pytest.mark.ci_runners


def _run(sample: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI", "GITLAB"))}
    env["PRE_COMMIT_HOME"] = str(home)
    return subprocess.run(
        [tool("pre-commit"), *args],
        cwd=sample,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


def test_hook_runs_in_the_manual_stage_and_fails_on_a_failing_command(
    sample: Path, ftbench_repo: Path, tmp_path: Path
) -> None:
    text = recipe("pre-commit")
    text, n = re.subn(r"repo: \S+", f"repo: {ftbench_repo}", text)
    text, m = re.subn(r"rev: \S+", f"rev: {git(ftbench_repo, 'rev-parse', 'HEAD')}", text)
    assert n == m == 1
    (sample / ".pre-commit-config.yaml").write_text(text)
    git(sample, "add", "-A")
    git(sample, "commit", "-q", "-m", "hook")
    home = tmp_path / "pre-commit-home"

    # not in the commit stage: a plain run does not benchmark
    plain = _run(sample, home, "run", "--all-files")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "ftbench benchmark" not in plain.stdout

    for run in range(2):
        done = _run(sample, home, "run", "--hook-stage", "manual", "ftbench", "--all-files")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ftbench benchmark" in done.stdout and "Passed" in done.stdout
        report = json.loads((sample / ".firsttry" / "bench_proof.json").read_text())
        # the local archive is the baseline of the second run
        assert (report["regression"]["verdict"] == "no baseline") == (run == 0), report[
            "regression"
        ]

    # a failing benchmarked command fails the hook (exit 3), with the plain-text summary
    (sample / "work.py").write_text("raise SystemExit(1)\n")
    git(sample, "commit", "-q", "-am", "broken")
    slow = _run(sample, home, "run", "--hook-stage", "manual", "ftbench", "--all-files")
    assert slow.returncode == 1, slow.stdout + slow.stderr
    assert "Failed" in slow.stdout and "exit code: 3" in slow.stdout
    assert "ftbench: Failed" in slow.stdout
    assert "<details>" not in slow.stdout  # the terminal gets plain text
