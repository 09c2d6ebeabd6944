"""The GitLab template (ci/gitlab/ftbench.gitlab-ci.yml), included by docs/ci.md's recipe copied
verbatim into a generated foreign repository (tests/foreign.py), run by gitlab-ci-local with
the shell executor: the install variable makes the project's .venv, the dotenv report reaches
the later job even when the benchmark job fails, merge requests are judged A/B against their
merge-base."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ci.kit import ROOT, git, pull_request, recipe, runner_env, tool

# four runs of the recipe, each installing the project: minutes, bounded here
pytestmark = [pytest.mark.ci_runners, pytest.mark.timeout(1800)]
TEMPLATE = ROOT / "ci" / "gitlab" / "ftbench.gitlab-ci.yml"


def _pipeline(sample: Path, *variables: str) -> tuple[int, str]:
    args = [tool("gitlab-ci-local"), "--force-shell-executor", "--shell-isolation"]
    for variable in variables:
        args += ["--variable", variable]
    proc = subprocess.run(
        args, cwd=sample, capture_output=True, text=True, timeout=1200, env=runner_env()
    )
    return proc.returncode, proc.stdout + proc.stderr


def _later_job(log: str) -> dict[str, str]:
    found = re.search(r"report\s+> verdict=(.*?) warm=(\S*)", log)
    assert found, log[-3000:]
    return dict(zip(("verdict", "warm"), found.groups(), strict=True))


def _merge_request(sample: Path, spec: str, branch: str, change: str) -> tuple[int, str]:
    base = pull_request(sample, branch, change)
    return _pipeline(
        sample,
        spec,
        "CI_PIPELINE_SOURCE=merge_request_event",
        "CI_MERGE_REQUEST_IID=3",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main",
        f"CI_MERGE_REQUEST_DIFF_BASE_SHA={base}",
    )


def test_recipe_in_a_foreign_repository(sample: Path, ftbench_repo: Path) -> None:
    text = recipe("gitlab")
    # the one line a user changes: where the template comes from
    text, n = re.subn(r"- remote: \S+", "- local: ftbench.gitlab-ci.yml", text)
    assert n == 1
    (sample / ".gitlab-ci.yml").write_text(text)
    shutil.copy(TEMPLATE, sample / "ftbench.gitlab-ci.yml")
    git(sample, "add", "-A")
    git(sample, "commit", "-q", "-m", "ci")
    spec = f"FTBENCH_PIP_SPEC={ftbench_repo}"

    # 1. a branch pipeline: .venv made by FTBENCH_INSTALL, the default tier, no baseline; the
    # dotenv variables reach the later job
    code, log = _pipeline(sample, spec)
    assert code == 0, log[-4000:]
    assert "+ pip install -e . pytest   (in .venv)" in log
    first = _later_job(log)
    assert first["verdict"] == "no baseline" and float(first["warm"]) > 0
    assert "checks tier" in log and "cache created" in log

    # 2. an unchanged merge request: passes
    code, log = _merge_request(sample, spec, "docs", "readme")
    assert code == 0, log[-4000:]
    assert _later_job(log)["verdict"] != "regression"

    # 3. +50% in the library (installed editable): exit 4, the job fails, and the report job
    # still runs with the verdict (when: always, no needs)
    code, log = _merge_request(sample, spec, "slow-lib", "library")
    assert code != 0, log[-4000:]
    assert "ft-bench: exit 4" in log and "failing the job on exit 4" in log
    assert _later_job(log)["verdict"] == "regression"
    assert "ftbench comment: skipped: no FTBENCH_GITLAB_TOKEN" in log

    # 4. a test that waits longer: exit 4 too
    code, log = _merge_request(sample, spec, "slow-test", "test")
    assert code != 0, log[-4000:]
    assert "ft-bench: exit 4" in log
    assert _later_job(log)["verdict"] == "regression"
