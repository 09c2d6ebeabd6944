"""Issue 21, item 4: every built-in tool's version is its own (pytest, ruff, mypy, FirstTry),
or unknown; never another program's (``pytest: Python 3.11.7``)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from ftbench.measure import environment, interpreter, tools
from ftbench.measure.config import Step, Target

BIN = str(Path(sys.executable).parent)


def versions(root: Path, target: Target) -> dict[str, str | None]:
    programs = {s.name: s.argv(target.tier, "normal")[0] for s in target.steps}
    return environment.tool_versions(root, programs, target, "normal")


def test_builtin_python_tools_report_their_own_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dev environment's ruff, mypy and pytest, as the built-in ``pro`` tier runs them."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    monkeypatch.setenv("PATH", BIN)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    interp = interpreter.Interpreter(sys.executable, "PATH")
    builtins = tools.builtin_tiers(tmp_path, interp, BIN)
    pro = tools.bind(builtins.tiers["pro"], interp, BIN)
    assert [s.name for s in pro.steps] == ["ruff", "mypy", "pytest"]
    found = versions(tmp_path, pro)
    assert re.fullmatch(r"ruff \d+\.\d+\.\d+", found["ruff"] or ""), found
    assert re.fullmatch(r"mypy \d+\.\d+\.\d+.*", found["mypy"] or ""), found
    assert re.fullmatch(r"pytest \d+\.\d+\.\d+", found["pytest"] or ""), found  # not Python's


def test_firsttry_version_from_its_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FirstTry 0.1.9 has no --version (usage, exit 2): the version of the distribution that
    installed its console script, read from the metadata (nothing of FirstTry runs)."""
    site = tmp_path / "site" / "firsttry_run-0.1.9.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.1\nName: firsttry-run\nVersion: 0.1.9\n")
    (site / "entry_points.txt").write_text("[console_scripts]\nfirsttry = firsttry.cli:main\n")
    ran = tmp_path / "ran"
    script = tmp_path / "bin" / "firsttry"
    script.parent.mkdir()
    script.write_text(
        f"#!{sys.executable}\nimport sys, pathlib\npathlib.Path({str(ran)!r}).touch()\n"
        "print('usage: firsttry [-h] {run,activate}', file=sys.stderr); sys.exit(2)\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    path = f"{script.parent}:{BIN}"
    target = Target("tier", "lite", (Step("firsttry", ("firsttry", "run", "--level", "1")),), "t")
    target = tools.bind(target, interpreter.Interpreter(sys.executable, "PATH"), path)
    assert versions(tmp_path, target) == {"firsttry": "firsttry-run 0.1.9"}
    assert ran.exists()  # asked for --version once (it printed its usage): never run on files


def test_unknown_when_nothing_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "bin" / "ruff"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\nexit 2\n")
    script.chmod(0o755)
    target = Target("tier", "lite", (Step("ruff", ("ruff", "check", ".")),), "t")
    target = tools.bind(target, interpreter.Interpreter(sys.executable, "PATH"), str(script.parent))
    assert versions(tmp_path, target) == {"ruff": None}


def test_python_m_of_an_unknown_module_is_not_asked(tmp_path: Path) -> None:
    target = Target("cmd", "cmd", (Step("cmd", ("{python}", "-m", "mything", "--go")),), "t")
    target = tools.bind(target, interpreter.Interpreter(sys.executable, "PATH"), BIN)
    assert versions(tmp_path, target) == {"cmd": None}


def test_markdown_says_unknown(tmp_path: Path) -> None:
    from dataclasses import replace

    from factory import make_report
    from ftbench.report.markdown import render

    report = make_report([0.1] * 5)
    env = replace(report.environment, tool_versions={"firsttry": None, "ruff": "ruff 0.17.6"})
    text = render(replace(report, environment=env))
    assert "firsttry: unknown, ruff: ruff 0.17.6" in text
