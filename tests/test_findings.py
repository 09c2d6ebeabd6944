"""Issue 21, items 2 and 3: a linter with findings. The first failure is explained once, with
its log and the fix (``-i``, ``ok_exit_codes``); under ``-i`` the Markdown and the terminal say
which exit codes were ignored, in how many samples."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ftbench.cli import app as cli

LINT = '[tiers.t]\n[[tiers.t.steps]]\nname = "lint"\ncmd = "sh -c \'echo finding; exit 1\'"\n'
ARGS = ["--tier", "t", "--baseline", "none", "--progress", "never", "--mode", "fast"]


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_first_failure_is_explained_once_with_the_fix(
    repo_factory: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repo_factory(tmp_path / "r", LINT)
    code, out, err = invoke(capsys, "run", "--repo", str(repo), *ARGS)
    assert code == 3
    (line,) = err.strip().splitlines()
    assert line.startswith("ft-bench: error: step 'lint' exited with code 1 in cold sample 1")
    assert "(log: .firsttry/bench_artifacts/run-" in line and "cold-01-lint.log)" in line
    assert "run with -i (--ignore-failure)" in line and "ok_exit_codes = [0, 1]" in line
    assert "exited with code" not in out  # the summary does not say it a second time


def test_calibrate_says_it_in_its_own_words(
    repo_factory: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repo_factory(tmp_path / "r", LINT)
    code, _, err = invoke(
        capsys, "calibrate", "--repo", str(repo), "--tier", "t", "--rounds", "5", "--mode", "fast"
    )
    assert code == 3
    (line,) = err.strip().splitlines()
    assert "calibration round 1 of 5 (this tree against itself): step 'lint'" in line
    assert "base side" not in line and "run with -i" in line


def test_ignored_exit_codes_are_shown(
    repo_factory: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repo_factory(tmp_path / "r", LINT)
    code, out, err = invoke(capsys, "run", "--repo", str(repo), *ARGS, "-i")
    assert code == 0, err
    # fast mode: 3 cold and 5 warm samples (the warm-up is not counted)
    assert "  lint: exit 1 in 8 of 8 samples, ignored (-i)" in out
    md = (repo / ".firsttry" / "bench_proof.md").read_text()
    assert "- ⚠️ lint: exit 1 in 8 of 8 samples, ignored (-i)" in md
    assert "| ok (exit 1 ignored) |" in md  # the phase table's commands column
    assert "| ok |" not in md


def test_accepted_exit_codes_are_shown_as_such(
    repo_factory: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repo_factory(tmp_path / "r", LINT + "ok_exit_codes = [0, 1]\n")
    code, out, _ = invoke(capsys, "run", "--repo", str(repo), *ARGS, "--skip-cold")
    assert code == 0
    assert "lint: exit 1 in 5 of 5 samples, accepted (ok_exit_codes)" in out
