"""ci/github/action.sh, the steps of action.yml, run directly (act runs them in
test_github_action.py): outputs and summary when ftbench stops before writing a report, the
merge-base, the cache keys, and the gate's exit codes per ``fail-on``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import foreign
from ci.kit import ROOT, git
from hostile import github_html, tags

SCRIPT = ROOT / "ci" / "github" / "action.sh"


def _step(step: str, cwd: Path, tmp_path: Path, **env: str) -> tuple[int, str, dict[str, str]]:
    output = tmp_path / "output"
    output.write_text("")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI"))}
    proc = subprocess.run(
        ["bash", str(SCRIPT), step],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={
            **clean,
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "RUNNER_TEMP": str(tmp_path),
            "GITHUB_ACTION_PATH": str(ROOT),
            **env,
        },
        timeout=120,
    )
    values = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return proc.returncode, proc.stdout + proc.stderr, values


@pytest.mark.parametrize(
    ("rc", "fail_on", "fails"),
    [
        ("0", "regression,command-failed,error", False),
        ("4", "regression,command-failed,error", True),
        ("4", "command-failed,error", False),
        ("3", "regression", False),
        ("3", "command-failed", True),
        ("5", "regression,command-failed", False),
        ("5", "error", True),
        ("2", "error", True),
        ("4", "never", False),
        ("4", "3,4", True),
        ("130", "error", True),
    ],
)
def test_gate_fails_exactly_on_the_asked_exit_codes(
    rc: str, fail_on: str, fails: bool, tmp_path: Path
) -> None:
    code, out, _ = _step("gate", tmp_path, tmp_path, FTBENCH_RC=rc, FTBENCH_FAIL_ON=fail_on)
    assert (code != 0) == fails, out
    if rc != "0":
        assert ("::error" in out) == fails and ("::notice" in out) != fails


def test_gate_refuses_unknown_words_and_a_missing_run(tmp_path: Path) -> None:
    code, out, _ = _step("gate", tmp_path, tmp_path, FTBENCH_RC="4", FTBENCH_FAIL_ON="oops")
    assert code == 2 and "unknown word 'oops'" in out
    code, out, _ = _step("gate", tmp_path, tmp_path, FTBENCH_FAIL_ON="error")
    assert code == 1 and "did not run" in out


def test_run_without_a_report_says_why_and_keeps_going(tmp_path: Path) -> None:
    sample = foreign.write(tmp_path / "sample")
    code, out, values = _step(
        "run",
        sample,
        tmp_path,
        FTBENCH_BIN=str(Path(sys.executable).parent / "ft-bench"),
        FTBENCH_TIER="no-such-tier",
        FTBENCH_AGAINST="none",
    )
    assert code == 0, out  # the gate step decides
    assert values["exit-code"] == "5" and values["verdict"] == "not judged"
    assert "report" not in values
    summary = (tmp_path / "summary.md").read_text()
    assert "ftbench stopped before writing a report (exit 5: setup error)" in summary
    assert "no-such-tier" in summary
    assert Path(values["comment"]).read_text() == summary


def test_install_runs_in_the_repository_venv_kept_out_of_git_status(tmp_path: Path) -> None:
    sample = foreign.write(tmp_path / "sample")
    (sample / ".gitignore").write_text(".firsttry/\n")  # a project that does not ignore .venv
    git(sample, "commit", "-q", "-am", "no .venv in .gitignore")
    code, out, _ = _step(
        "project",
        sample,
        tmp_path,
        FTBENCH_PYTHON=sys.executable,
        FTBENCH_INSTALL='test "$VIRTUAL_ENV" = "$PWD/.venv" && command -v pip > where.txt',
    )
    assert code == 0, out
    assert (sample / "where.txt").read_text().strip() == str(sample / ".venv" / "bin" / "pip")
    assert ".venv" not in git(sample, "status", "--porcelain")
    code, out, _ = _step("project", sample, tmp_path, FTBENCH_INSTALL="exit 3")
    assert code == 5 and "the install command failed (input: install)" in out


def test_cache_keys_base_branch_first_on_a_pull_request(tmp_path: Path) -> None:
    pr = {"GITHUB_HEAD_REF": "feature", "GITHUB_BASE_REF": "main", "GITHUB_RUN_ID": "12"}
    code, out, values = _step("keys", tmp_path, tmp_path, **pr, GITHUB_RUN_ATTEMPT="2")
    assert code == 0, out
    assert values["cache-key"] == "ftbench-archive-Linux-feature-12-2"
    text = (tmp_path / "output").read_text()
    assert (
        "restore-keys<<FTBENCH_EOF\nftbench-archive-Linux-main-\nftbench-archive-Linux-feature-\n"
        in text
    )
    assert values["archive-dir"] == f"{tmp_path}/.firsttry/archive"
    push = {"GITHUB_REF_NAME": "dev", "FTBENCH_DEFAULT_BRANCH": "trunk"}
    _, _, values = _step("keys", tmp_path, tmp_path, **push)
    text = (tmp_path / "output").read_text()
    assert "ftbench-archive-Linux-dev-\nftbench-archive-Linux-trunk-\n" in text
    for off in ({"FTBENCH_CACHE": "false"}, {"FTBENCH_UPLOAD_S3": "true"}):
        _, _, values = _step("keys", tmp_path, tmp_path, **pr, **off)
        assert values["cache-key"] == ""  # no actions/cache step


def _pull_request(tmp_path: Path, helps: str) -> tuple[Path, str, Path]:
    """A foreign repository on a feature branch one commit past its base, and a fake
    ``ft-bench`` whose ``run --help`` shows ``helps`` and that prints its arguments."""
    sample = foreign.write(tmp_path / "sample")
    base = git(sample, "rev-parse", "HEAD")
    git(sample, "checkout", "-q", "-b", "feature")
    (sample / "README.md").write_text("# changed\n")
    git(sample, "commit", "-q", "-am", "change")
    fake = tmp_path / "ft-bench"
    fake.write_text(
        f'#!/bin/sh\n[ "$2" = --help ] && {{ echo "  {helps}"; exit 0; }}\necho "ARGS: $*"\n'
    )
    fake.chmod(0o755)
    return sample, base, fake


def test_merge_base_of_a_pull_request_is_passed_as_against(tmp_path: Path) -> None:
    sample, base, fake = _pull_request(tmp_path, "--against REF")
    code, out, _ = _step(
        "run",
        sample,
        tmp_path,
        FTBENCH_BIN=str(fake),
        FTBENCH_PY=sys.executable,
        GITHUB_BASE_REF="main",
        FTBENCH_ARGS="--mode 'fast' --fail-on warm",
    )
    assert code == 0, out
    assert f"ARGS: run --progress never --against {base} --mode fast --fail-on warm" in out


@pytest.mark.parametrize(
    ("helps", "env", "expected"),
    [
        ("--against REF --bisect", {"FTBENCH_BISECT": "true"}, "--against {base} --bisect\n"),
        (
            "--against REF --bisect",
            {"FTBENCH_BISECT": "true", "FTBENCH_BISECT_BUDGET_MIN": "12"},
            "--against {base} --bisect --bisect-budget-min 12\n",
        ),
        ("--against REF --bisect", {"FTBENCH_BISECT": "false"}, "--against {base}\n"),
        ("--against REF", {"FTBENCH_BISECT": "true"}, "--against {base}\n"),
    ],
)
def test_bisect_is_passed_with_against_when_this_ftbench_has_it(
    tmp_path: Path, helps: str, env: dict[str, str], expected: str
) -> None:
    sample, base, fake = _pull_request(tmp_path, helps)
    code, out, _ = _step(
        "run", sample, tmp_path, FTBENCH_BIN=str(fake), GITHUB_BASE_REF="main", **env
    )
    assert code == 0, out
    assert "ARGS: run --progress never " + expected.format(base=base) in out + "\n"
    if "--bisect" not in helps:
        assert "has no --bisect" in out


def test_error_lines_quoting_names_stay_in_their_code_block(tmp_path: Path) -> None:
    """ftbench stopped before writing a report and its error line quotes a step name with a
    code fence, a tag and a mention: the summary and the comment keep them in one code block
    (a longer fence), so nothing in them is markup."""
    fake = tmp_path / "ft-bench"
    fake.write_text(
        "#!/bin/sh\ncat >&2 <<'EOF'\n"
        "ft-bench: error: step 'x\n```\n## Hi <img src=x onerror=alert(1)> @octocat' failed\n"
        "EOF\nexit 5\n"
    )
    fake.chmod(0o755)
    code, out, values = _step("run", tmp_path, tmp_path, FTBENCH_BIN=str(fake))
    assert code == 0 and values["exit-code"] == "5", out
    summary = (tmp_path / "summary.md").read_text()
    assert "\n````text\n" in summary and summary.endswith("\n````\n")
    rendered = github_html(summary)
    assert tags(rendered) == ["h2", "/h2", "pre", "code", "/code", "/pre"]
    assert "## Hi &lt;img src=x onerror=alert(1)&gt; @octocat" in rendered
