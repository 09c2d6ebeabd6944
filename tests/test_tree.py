"""The measured tree never changes (measure/tree.py): a command that edits a tracked file stops
the run with one line naming the file and the fix; ``writes = "restore"`` puts the files back
after every sample; whatever was measured is still written."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ftbench.cli import app as cli
from ftbench.measure.config import Step, Target
from ftbench.measure.runner import Runner, RunSettings
from ftbench.measure.tree import TreeGuard

EDIT = "printf 'more\\n' >> README.md"  # a tracked file, changed by every run
SETTINGS = RunSettings(mode="custom", cold_runs=2, warm_runs=3, warmup=1)


def tier(cmd: str, *, writes: str = "", steps: str = "") -> str:
    extra = f'writes = "{writes}"\n' if writes else ""
    return (
        f'[tiers.t]\n{extra}\n[[tiers.t.steps]]\nname = "edit"\ncmd = "{cmd}"\nshell = true\n'
        + steps
    )


def invoke(capsys: pytest.CaptureFixture[str], repo: Path, *args: str) -> tuple[int, str, str]:
    start = ["run", "--repo", str(repo), "--tier", "t", "--baseline", "none"]
    code = cli.main([*start, "--progress", "never", "--cold-runs", "2", "--runs", "3", *args])
    out, err = capsys.readouterr()
    return code, out, err


def report(repo: Path) -> dict[str, object]:
    value: dict[str, object] = json.loads((repo / ".firsttry" / "bench_proof.json").read_text())
    return value


def test_a_step_that_edits_a_tracked_file_stops_the_run(
    repo_factory: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    validate_report: Callable[[object], dict[str, object]],
) -> None:
    repo = repo_factory(tmp_path / "r", tier(EDIT))
    code, out, err = invoke(capsys, repo)
    assert code == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "step 'edit' in cold sample 1 changed tracked files: README.md" in lines[0]
    assert 'writes = "restore"' in lines[0] and "check-only" in lines[0]
    assert "changed tracked files" not in out  # printed once: on stderr
    # what was measured is written: the first sample, and the change it made
    written = validate_report(repo / ".firsttry" / "bench_proof.json")
    assert written["tree"] == {
        "checked": True,
        "writes": "refuse",
        "checks": 2,
        "check_s": written["tree"]["check_s"],  # type: ignore[index]
        "restores": 0,
        "changed": ["README.md"],
    }
    assert len(written["runs"]["cold"]["samples"]) == 1  # type: ignore[index]
    # ftbench left the file as the command wrote it
    assert (repo / "README.md").read_text().endswith("more\n")


def test_an_edit_of_an_already_changed_file_is_seen(
    repo_factory: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repo_factory(tmp_path / "r", tier(EDIT))
    (repo / "README.md").write_text("the user's own uncommitted change\n")
    code, _, err = invoke(capsys, repo, "--skip-cold")
    assert code == 3
    # a batched warm phase: checked after its batch (the warm-up run is its own batch)
    assert "step 'edit' in warm-up runs 1-1 changed tracked files: README.md" in err


def test_restore_puts_the_files_back_after_every_sample(
    repo_factory: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = repo_factory(tmp_path / "r", tier(EDIT, writes="restore"))
    mine = "the user's own uncommitted change\n"
    (repo / "README.md").write_text(mine)
    code, out, err = invoke(capsys, repo)
    assert code == 0, err
    assert (repo / "README.md").read_text() == mine  # the user's change kept, exactly
    tree = report(repo)["tree"]
    assert tree["writes"] == "restore" and tree["restores"] == 6  # type: ignore[index]
    assert "put back after 6 samples" in out
    md = (repo / ".firsttry" / "bench_proof.md").read_text()
    assert "put back after 6 samples" in md


def test_a_clean_command_passes_and_its_checks_are_counted(
    repo_factory: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repo_factory(tmp_path / "r", tier("true"))
    code, _, err = invoke(capsys, repo)
    assert code == 0, err
    tree = report(repo)["tree"]
    # the start, 2 cold samples, the warm-up's batch and the warm batch
    assert tree["checks"] == 5 and tree["changed"] == []  # type: ignore[index]


def test_the_step_of_several_that_changed_the_tree_is_named(
    repo_factory: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = '[[tiers.t.steps]]\nname = "lint"\ncmd = "true"\n'
    config = tier("true", steps=second).replace('name = "edit"', 'name = "first"')
    config = config.replace('name = "lint"\ncmd = "true"', f'name = "lint"\ncmd = "{EDIT}"')
    config += "shell = true\n"
    repo = repo_factory(tmp_path / "r", config)
    code, _, err = invoke(capsys, repo)
    assert code == 3
    assert "step 'lint' in cold sample 1 changed tracked files: README.md" in err


def test_ftbench_output_and_untracked_files_are_not_the_measured_tree(
    repo_factory: Callable[..., Path], tmp_path: Path
) -> None:
    repo = repo_factory(tmp_path / "r", None)
    guard = TreeGuard(repo)
    guard.start()
    (repo / "new.txt").write_text("untracked")
    assert guard.check("x") is None
    (repo / "README.md").unlink()
    error = guard.check("step 'rm'")
    assert error is not None and "README.md" in str(error)


def test_a_new_commit_is_a_change(
    repo_factory: Callable[..., Path], tmp_path: Path, run_git: Callable[..., str]
) -> None:
    repo = repo_factory(tmp_path / "r", None)
    guard = TreeGuard(repo, "restore")
    guard.start()
    run_git(repo, "commit", "-q", "--allow-empty", "-m", "made by the command")
    error = guard.check("step 'c'")
    assert error is not None and "HEAD" in str(error) and "could not be put back" in str(error)


def test_outside_git_nothing_is_checked(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    step = Step("edit", f"printf y >> {tmp_path / 'f'}", shell=True)
    target = Target("tier", "t", (step,), "test")
    result = Runner(target, SETTINGS, tmp_path, tmp_path / ".firsttry" / "a").run()
    assert result.error is None
    assert result.tree is not None and not result.tree.checked


@pytest.mark.skipif(sys.platform != "linux", reason="the fork server")
def test_restore_leaves_no_ref_or_stash(
    repo_factory: Callable[..., Path], tmp_path: Path, run_git: Callable[..., str]
) -> None:
    repo = repo_factory(tmp_path / "r", None)
    (repo / "README.md").write_text("dirty\n")
    before = run_git(repo, "for-each-ref"), run_git(repo, "stash", "list")
    step = Step("edit", EDIT, shell=True)
    target = Target("tier", "t", (step,), "test", writes="restore")
    result = Runner(target, SETTINGS, repo, repo / ".firsttry" / "a").run()
    assert result.error is None and result.tree is not None and result.tree.restores == 6
    assert (run_git(repo, "for-each-ref"), run_git(repo, "stash", "list")) == before
    assert (repo / "README.md").read_text() == "dirty\n"
    assert os.path.getsize(repo / "README.md") == 6


def test_builtin_firsttry_tiers_never_change_the_tree() -> None:
    """FirstTry 0.1.9 autofixes at every level and has no check-only option: its tiers put
    the files back after every sample; a FirstTry whose help shows one passes it instead."""
    from ftbench.measure import tools

    out = tools.Builtins()
    tools._firsttry_tiers(tools.FirstTry("/bin/firsttry", "level", ("1", "2", "3", "4")), out)
    assert {t.writes for t in out.tiers.values()} == {"restore"}
    assert out.tiers["lite"].steps[0].argv("lite", "fast") == ["firsttry", "run", "--level", "1"]
    assert "put back after every sample" in out.notes[-1]
    checked = tools.Builtins()
    ft = tools.FirstTry("/bin/firsttry", "level", ("1", "2"), check_only="--no-fix")
    tools._firsttry_tiers(ft, checked)
    lite = checked.tiers["lite"]
    assert lite.writes == "refuse"
    assert lite.steps[0].argv("lite", "fast") == ["firsttry", "run", "--level", "1", "--no-fix"]


def test_check_only_option_read_from_firsttry_help(tmp_path: Path) -> None:
    from ftbench.measure import tools

    script = tmp_path / "firsttry"
    script.write_text("#!/bin/sh\necho 'usage: firsttry run [-h] [--level {1,2,3,4}] [--no-fix]'\n")
    script.chmod(0o755)
    found = tools.detect_firsttry(str(tmp_path))
    assert (
        found is not None
        and found.check_only == "--no-fix"
        and found.levels == ("1", "2", "3", "4")
    )


def test_restore_of_files_that_were_clean(
    repo_factory: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As FirstTry 0.1.9 on more-itertools: clean tracked files fixed by every sample."""
    repo = repo_factory(tmp_path / "r", tier(EDIT, writes="restore"))
    code, _, err = invoke(capsys, repo)
    assert code == 0, err
    assert (repo / "README.md").read_text() == "# test repository\n"
    assert report(repo)["tree"]["restores"] == 6  # type: ignore[index]


def test_a_failing_autofixer_is_stopped_for_its_change_first(
    repo_factory: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ruff check --fix` fixes some findings and exits 1 for the others: the changed files are
    what the user must hear about first (then, once restored, the -i hint)."""
    repo = repo_factory(tmp_path / "r", tier(EDIT + "; exit 1"))
    code, _, err = invoke(capsys, repo)
    assert code == 3 and "changed tracked files: README.md" in err and "-i" not in err
    code, _, err = invoke(capsys, repo, "--skip-cold")  # batched: checked after the failure
    assert code == 3 and "step 'edit' in warm-up runs changed tracked files" in err
