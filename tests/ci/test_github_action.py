"""The GitHub Action (action.yml), run by act on the host, with docs/ci.md's workflow copied
verbatim into a generated foreign repository (tests/foreign.py: src layout, its own tests,
installed editable by the recipe's `install`, no ruff). actions/cache and
actions/upload-artifact are stand-ins (tests/ci/stubs, act --local-repository): act cannot
fetch remote actions here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ci.kit import ROOT, git, pull_request, recipe, runner_env, tool

# four runs of the recipe, each installing the project: minutes, bounded here
pytestmark = [pytest.mark.ci_runners, pytest.mark.timeout(1800)]
STUBS = ROOT / "tests" / "ci" / "stubs"


def _workflow(sample: Path, ftbench: Path) -> None:
    text = recipe("github")
    # the one line a user changes: where the Action comes from
    text, n = re.subn(r"uses: <owner>/ftbench@<tag>", "uses: ./.ftbench-action", text)
    assert n == 1
    (sample / ".github" / "workflows").mkdir(parents=True)
    (sample / ".github" / "workflows" / "ftbench.yml").write_text(text)
    shutil.copytree(ftbench, sample / ".ftbench-action", ignore=shutil.ignore_patterns(".git"))
    git(sample, "add", "-A")
    git(sample, "commit", "-q", "-m", "benchmark workflow")


def _act(sample: Path, store: Path, event: str, payload: dict[str, Any]) -> tuple[int, str]:
    event_file = store / f"{event}.json"
    event_file.write_text(json.dumps(payload))
    proc = subprocess.run(
        [
            tool("act"),
            event,
            "-P",
            "ubuntu-latest=-self-hosted",
            "-e",
            str(event_file),
            "--local-repository",
            f"actions/cache@v4={STUBS / 'cache'}",
            "--local-repository",
            f"actions/upload-artifact@v4={STUBS / 'upload-artifact'}",
            "--env",
            f"FTBENCH_STUB_DIR={STUBS}",
            "--env",
            f"FTBENCH_STUB_STORE={store}",
        ],
        cwd=sample,
        capture_output=True,
        text=True,
        timeout=1200,
        env=runner_env(),
    )
    (store / f"act-{event}-{len(list(store.glob('act-*')))}.log").write_text(
        proc.stdout + proc.stderr
    )
    return proc.returncode, proc.stdout + proc.stderr


def _pr(branch: str) -> dict[str, Any]:
    return {
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {"ref": "main", "repo": {"full_name": "o/samplelib"}},
            "head": {"ref": branch, "repo": {"full_name": "o/samplelib"}},
        },
        "repository": {"default_branch": "main"},
    }


def _report(log: str) -> str:
    """The job summary act prints: the Markdown of bench_proof.md."""
    return log[log.find("Summary - ##") :]


def test_recipe_in_a_foreign_repository(sample: Path, ftbench_repo: Path, tmp_path: Path) -> None:
    _workflow(sample, ftbench_repo)
    store = tmp_path / "store"
    store.mkdir()

    # 1. a push to main: the install step made .venv, the default tier ran, no baseline
    push = {"ref": "refs/heads/main", "repository": {"default_branch": "main"}}
    code, log = _act(sample, store, "push", push)
    assert code == 0, log[-4000:]
    assert "+ pip install -e . pytest" in log
    assert "checks tier" in log  # init's tier, the repository's default
    assert "No baseline" in log and "cache stub: saved" in log
    assert "cannot import pytest" not in log

    # 2. an unchanged pull request (a README sentence): passes
    pull_request(sample, "docs", "readme")
    code, log = _act(sample, store, "pull_request", _pr("docs"))
    assert code == 0, log[-4000:]
    assert "editable install of samplelib: the base side imports its own tree" in log
    assert "🔴 Regression" not in log

    # 3. +50% in the library (installed editable): a regression, exit 4, the job fails
    pull_request(sample, "slow-lib", "library")
    code, log = _act(sample, store, "pull_request", _pr("slow-lib"))
    assert code != 0, log[-4000:]
    assert "exit 4: performance regression (fail-on: regression,command-failed,error)" in log
    summary = _report(log)
    assert "🔴 Regression" in summary
    assert "ftbench comment: skipped: no GITHUB_TOKEN" in log  # act has no token
    # what to do next: reproduce it, or accept it
    assert "ft-bench run --tier checks --against" in summary
    assert "Ftbench-Accept: checks" in summary
    assert str(tmp_path) not in summary and "/home/" not in summary  # no local paths

    # 4. a test that waits longer: a regression too
    pull_request(sample, "slow-test", "test")
    code, log = _act(sample, store, "pull_request", _pr("slow-test"))
    assert code != 0, log[-4000:]
    assert "exit 4: performance regression" in log
