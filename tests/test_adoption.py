"""Issue 20: the user's interpreter, never ftbench's own; a built-in ``lite`` in any Python
repository; a missing Python module is a setup error before the first sample."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ftbench.cli import app as cli
from ftbench.measure import interpreter, tools
from ftbench.measure.interpreter import only_ftbench


def _exe(path: Path, text: str = "#!/bin/sh\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def _python_repo(root: Path) -> Path:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "tests").mkdir()
    (root / "setup.py").write_text("")
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    return root


# --- the user's interpreter, never ftbench's own ---------------------------------------------


def test_ftbench_own_environment_is_skipped_wherever_it_comes_up(tmp_path: Path) -> None:
    own = _exe(tmp_path / "hook-env" / "bin" / "python").parents[1]  # pre-commit's, the image's
    _exe(own / "bin" / "ft-bench")
    user = _exe(tmp_path / "userbin" / "python3").parent
    path = os.pathsep.join([str(own / "bin"), str(user), "/usr/bin"])
    repo = tmp_path / "repo"
    repo.mkdir()
    # pre-commit: its hook environment active and first on PATH; no .venv: the user's python
    found = interpreter.find(repo, {"VIRTUAL_ENV": str(own), "PATH": path}, own=str(own))
    assert (found.python, found.origin, found.skipped) == (str(user / "python3"), "PATH", str(own))
    assert f"ftbench's own environment {own} skipped" in found.describe()
    command_path = interpreter.command_path(found, {"PATH": path}).split(os.pathsep)
    assert str(own / "bin") not in command_path  # ftbench's own tools are not the project's
    # with the project's .venv: that one
    venv = _exe(repo / ".venv" / "bin" / "python").parents[1]
    found = interpreter.find(repo, {"VIRTUAL_ENV": str(own), "PATH": path}, own=str(own))
    assert (found.python, found.origin) == (str(venv / "bin" / "python"), "project .venv")
    # the image: its venv first on PATH, no VIRTUAL_ENV, no .venv
    bare = tmp_path / "bare"
    bare.mkdir()
    found = interpreter.find(bare, {"PATH": path}, own=str(own))
    assert (found.python, found.skipped) == (str(user / "python3"), str(own))
    # ftbench installed in the project's own .venv: that is the user's environment
    found = interpreter.find(repo, {"VIRTUAL_ENV": str(venv), "PATH": path}, own=str(venv))
    assert (found.python, found.origin, found.skipped) == (
        str(venv / "bin" / "python"),
        "VIRTUAL_ENV",
        None,
    )


def test_an_environment_with_only_ftbench_in_it_is_ftbench_own() -> None:
    core = {
        "ftbench": ["rich>=13", 'boto3>=1.34; extra == "s3"', 'pytest>=8; extra == "dev"'],
        "rich": ["markdown-it-py>=2.2.0", "pygments<3,>=2.13.0"],
        "markdown-it-py": ["mdurl~=0.1"],
        "mdurl": [],
        "pygments": [],
        "pip": [],
        "setuptools": [],
    }
    assert only_ftbench(core)  # pipx's, pre-commit's hook environment, the image's venv
    assert only_ftbench({**core, "boto3": ["botocore"], "botocore": []})  # ftbench[s3]
    assert not only_ftbench({**core, "pytest": []})  # a developer's, or the project's
    assert not only_ftbench({**core, "samplelib": []})
    assert not only_ftbench({"rich": []})  # no ftbench there at all


def test_tiers_says_which_interpreter_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _python_repo(tmp_path / "repo")
    _exe(repo / ".venv" / "bin" / "python", f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    monkeypatch.delenv("VIRTUAL_ENV")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert cli.main(["tiers", "--repo", str(repo)]) == 0
    out = capsys.readouterr().out
    python = repo / ".venv" / "bin" / "python"
    assert (
        f"# interpreter: {python} (from project .venv: no other virtual environment active)" in out
    )


# --- lite in any Python repository ----------------------------------------------------------


def test_lite_without_ruff_byte_compiles_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _python_repo(tmp_path / "repo")
    (repo / ".venv" / "lib").mkdir(parents=True)
    (repo / ".venv" / "lib" / "huge.py").write_text("syntax error here\n")  # never compiled
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no ruff
    monkeypatch.delenv("VIRTUAL_ENV")
    lite = tools.available_tiers(repo)["lite"]
    argv = lite.steps[0].argv("lite", "normal")
    assert argv[1:] == ["-m", "compileall", "-q", "setup.py", "src", "tests"]
    assert lite.steps[0].pycache and "ruff not found" in lite.source
    assert cli.main(["tiers", "--repo", str(repo)]) == 0
    assert "# lite = python -m compileall" in capsys.readouterr().out
    code = cli.main(["run", "--repo", str(repo), "--mode", "fast", "--baseline", "none", "--quiet"])
    assert code == 0, capsys.readouterr()


def test_lite_of_a_repository_of_scripts_leaves_out_environments(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "venv").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("")
    assert tools._sources(repo)[0] == "-x"
    assert tools._sources(repo)[-1] == "."


# --- a missing Python module is a setup error ------------------------------------------------


@pytest.mark.parametrize("program", ["python3", "{python}"])
def test_a_missing_python_module_is_exit_5_before_any_sample(
    program: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _python_repo(tmp_path / "repo")
    (repo / "ftbench.toml").write_text(
        f'[[tiers.m.steps]]\nname = "lint"\ncmd = ["{program}", "-m", "some_linter.cli", "."]\n'
    )
    code = cli.main(["run", "--repo", str(repo), "--tier", "m", "--progress", "never"])
    err = capsys.readouterr().err
    assert code == 5, err
    assert "step 'lint':" in err and "cannot import some_linter.cli; install it:" in err
    assert "-m pip install some-linter" in err
    assert not (repo / ".firsttry" / "bench_proof.json").exists()  # nothing ran


def test_a_module_of_the_repository_or_the_step_env_is_found(tmp_path: Path) -> None:
    repo = _python_repo(tmp_path / "repo")
    (repo / "tool.py").write_text("")
    (repo / "ftbench.toml").write_text(
        '[[tiers.m.steps]]\nname = "local"\ncmd = ["python3", "-m", "tool"]\n'
        '[[tiers.m.steps]]\nname = "src"\ncmd = ["python3", "-m", "pkg"]\n'
        'env = { PYTHONPATH = "src" }\n'
    )
    target = tools.resolve_target(repo, tier="m", cmd=None)
    tools.check_commands(target, "normal", repo)  # no error: found as the steps find them
