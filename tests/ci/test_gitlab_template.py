"""The GitLab template (ci/gitlab/ftbench.gitlab-ci.yml), included by docs/ci.md's recipe and
run by gitlab-ci-local with the shell executor: the dotenv report reaches a later job, the
cached archive is the baseline of the second pipeline, a merge request is judged against its
target branch."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ci.kit import ROOT, SLOW_SIZE, git, recipe, tool

pytestmark = pytest.mark.ci_runners
TEMPLATE = ROOT / "ci" / "gitlab" / "ftbench.gitlab-ci.yml"


def _pipeline(sample: Path, *variables: str) -> tuple[int, str]:
    args = [tool("gitlab-ci-local"), "--force-shell-executor", "--shell-isolation"]
    for variable in variables:
        args += ["--variable", variable]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI", "GITLAB"))}
    proc = subprocess.run(args, cwd=sample, capture_output=True, text=True, timeout=900, env=env)
    return proc.returncode, proc.stdout + proc.stderr


def _later_job(log: str) -> dict[str, str]:
    found = re.search(r"report\s+> verdict=(.*?) warm=(\S*) archived=(\S*)", log)
    assert found, log[-3000:]
    return dict(zip(("verdict", "warm", "archived"), found.groups(), strict=True))


def test_template_dotenv_cache_baseline_and_merge_request(sample: Path, ftbench_repo: Path) -> None:
    text = recipe("gitlab")
    text, n = re.subn(r"- remote: \S+", "- local: ftbench.gitlab-ci.yml", text)
    assert n == 1
    (sample / ".gitlab-ci.yml").write_text(text)
    shutil.copy(TEMPLATE, sample / "ftbench.gitlab-ci.yml")
    git(sample, "add", "-A")
    git(sample, "commit", "-q", "-m", "ci")
    spec = f"FTBENCH_PIP_SPEC={ftbench_repo}"

    # 1. first branch pipeline: no baseline; the dotenv variables reach the later job
    code, log = _pipeline(sample, spec)
    assert code == 0, log[-4000:]
    first = _later_job(log)
    assert first["verdict"] == "no baseline"
    assert float(first["warm"]) > 0 and first["archived"].endswith(".json")
    assert "no baseline in CI" in log
    assert "cache created" in log

    # 2. second pipeline: the cached archive is the baseline (no S3). Same code, but on a
    # shared machine the verdict may be anything: only the baseline is checked here
    code, log = _pipeline(sample, spec, "FTBENCH_FAIL_ON=never")
    assert code == 0, log[-4000:]
    assert _later_job(log)["verdict"] not in ("no baseline", "not judged")

    # 3. a merge request that makes the work 50x bigger: judged against main, exit 4
    base = git(sample, "rev-parse", "HEAD")
    git(sample, "checkout", "-q", "-b", "slow")
    (sample / "size.txt").write_text(f"{SLOW_SIZE}\n")
    git(sample, "commit", "-q", "-am", "slower")
    code, log = _pipeline(
        sample,
        spec,
        "CI_PIPELINE_SOURCE=merge_request_event",
        "CI_MERGE_REQUEST_IID=3",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main",
        f"CI_MERGE_REQUEST_DIFF_BASE_SHA={base}",
    )
    assert code != 0, log[-4000:]
    assert "ft-bench: exit 4" in log
    assert "failing the job on exit 4" in log
    assert "ftbench comment: skipped: no FTBENCH_GITLAB_TOKEN" in log
    env = (sample / ".firsttry" / "bench_report.env").read_text()
    assert "FT_BENCH_VERDICT=regression" in env
