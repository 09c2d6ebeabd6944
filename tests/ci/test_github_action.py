"""The GitHub Action (action.yml), run by act on the host against a sample repository, with
docs/ci.md's workflow. actions/cache and actions/upload-artifact are stand-ins (tests/ci/stubs,
act --local-repository): act cannot fetch remote actions here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ci.kit import ROOT, SLOW_SIZE, git, recipe, tool

pytestmark = pytest.mark.ci_runners
STUBS = ROOT / "tests" / "ci" / "stubs"


def _workflow(sample: Path, ftbench: Path) -> None:
    text = recipe("github")
    text, n = re.subn(r"uses: <owner>/ftbench@<tag>", "uses: ./.ftbench-action", text)
    assert n == 1
    text = text.replace("tier: lite", "tier: lite\n          args: --mode normal")
    (sample / ".github" / "workflows").mkdir(parents=True)
    (sample / ".github" / "workflows" / "bench.yml").write_text(text)
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
        timeout=900,
        env={k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI"))},
    )
    (store / f"act-{event}.log").write_text(proc.stdout + proc.stderr)
    return proc.returncode, proc.stdout + proc.stderr


def _outputs(log: str) -> dict[str, str]:
    found = re.search(r"verdict=(.*?) warm=(\S*) exit=(\S*) archived=(\S*)", log)
    assert found, log[-3000:]
    return dict(zip(("verdict", "warm", "exit", "archived"), found.groups(), strict=True))


def test_action_gates_a_regression_with_the_cached_archive(
    sample: Path, ftbench_repo: Path, tmp_path: Path
) -> None:
    _workflow(sample, ftbench_repo)
    store = tmp_path / "store"
    store.mkdir()
    push = {"ref": "refs/heads/main", "repository": {"default_branch": "main"}}

    # 1. first push to main: no baseline, loud, exit 0; the archive goes to the cache
    code, log = _act(sample, store, "push", push)
    assert code == 0, log[-4000:]
    out = _outputs(log)
    assert out["verdict"] == "no baseline" and out["exit"] == "0"
    assert float(out["warm"]) > 0 and out["archived"].endswith(".json")
    assert "Nothing was gated in CI" in log  # the job summary says so
    assert "::warning" in log or "no baseline in CI" in log
    assert "cache stub: saved" in log
    assert (store / "artifacts" / "ftbench-report" / "bench_proof.json").is_file()

    # 2. second push: the archive restored from the cache is the baseline (no S3). Same code,
    # but on a shared machine the verdict may be anything: only the baseline is checked here
    code, log = _act(sample, store, "push", push)
    assert "cache stub: restore ftbench-archive-Linux-main-" in log
    out = _outputs(log)
    assert out["verdict"] not in ("no baseline", "not judged"), log[-4000:]
    assert (code == 0) == (out["exit"] == "0")

    # 3. a pull request that makes the work 50x bigger: regression, exit 4, the job fails
    git(sample, "checkout", "-q", "-b", "slow")
    (sample / "size.txt").write_text(f"{SLOW_SIZE}\n")
    git(sample, "commit", "-q", "-am", "slower")
    pr = {
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {"ref": "main", "repo": {"full_name": "o/sample"}},
            "head": {"ref": "slow", "repo": {"full_name": "o/sample"}},
        },
        "repository": {"default_branch": "main"},
    }
    code, log = _act(sample, store, "pull_request", pr)
    assert code != 0, log[-4000:]
    out = _outputs(log)
    assert out["verdict"] == "regression" and out["exit"] == "4"
    assert "🔴 Regression" in log  # the job summary, verdict first
    assert "| 🔴 regression |" in log  # the honest status column
    assert "exit 4: performance regression (fail-on: regression,command-failed,error)" in log
    assert "ftbench comment: skipped: no GITHUB_TOKEN" in log  # act has no token
