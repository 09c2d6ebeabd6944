"""Shared fixtures of the core suite: a throw-away git repository, the report validator and
the scripted executor of the tests that only need timings (``naps``).

Kept small on purpose; the S3 tests have their own ``tests/s3/conftest.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from fakes import Levels, Naps
from ftbench.measure import probe

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "ftbench tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "ftbench tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


@pytest.fixture(autouse=True)
def user_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmarked commands run in the user's environment (measure.interpreter); in the
    tests that is the dev venv, as if activated, whatever way pytest was started."""
    if sys.prefix != sys.base_prefix:
        monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)


DEFAULT_CONFIG = """\
[tiers.lite]
description = "test tier"

[[tiers.lite.steps]]
name = "true"
cmd = ["true"]
cache = [".cache-lite"]
"""


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity and no user/system configuration."""
    env = {
        **os.environ,
        **GIT_IDENTITY,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def make_repo(path: Path, config: str | None = DEFAULT_CONFIG, *, commit: bool = True) -> Path:
    """A git repository at ``path`` with ``ftbench.toml`` (unless ``config`` is None)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text(".firsttry/\n")
    (path / "README.md").write_text("# test repository\n")
    if config is not None:
        (path / "ftbench.toml").write_text(config)
    if commit:
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def run_git() -> Callable[..., str]:
    """``run_git(repo, *args)``: git with a fixed identity (test modules cannot import
    conftest by name: tests/s3 has a conftest.py of its own)."""
    return git


@pytest.fixture
def repo_factory() -> Callable[..., Path]:
    """``repo_factory(path, config_text_or_None)``: a committed repository (see make_repo)."""
    return make_repo


@pytest.fixture
def tmp_repo(tmp_path: Path) -> Path:
    """A committed git repository with a one-step ``lite`` tier in ``ftbench.toml``."""
    return make_repo(tmp_path / "repo")


@pytest.fixture
def naps(monkeypatch: pytest.MonkeyPatch) -> Naps:
    """Every command ftbench starts in this test, ``ft-bench`` in-process included, answered
    by :class:`fakes.Naps` (its tree's ``nap.py``): the timings without the processes."""
    executor = Naps()
    monkeypatch.setattr(probe, "default_executor", lambda: executor)
    return executor


@pytest.fixture
def levels(monkeypatch: pytest.MonkeyPatch) -> Levels:
    """Like ``naps``, answered by :class:`fakes.Levels` (its tree's ``level.txt``)."""
    executor = Levels()
    monkeypatch.setattr(probe, "default_executor", lambda: executor)
    return executor


@pytest.fixture(scope="session")
def report_schema() -> dict[str, Any]:
    text = resources.files("ftbench.report").joinpath("schema/bench_proof.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@pytest.fixture(scope="session")
def validate_report(report_schema: dict[str, Any]) -> Callable[[Any], dict[str, Any]]:
    """Validate a report (a model ``Report``, its dict, or the path of a bench_proof.json)
    against the schema, and load it through the model.

    Returns the report's JSON value, so tests can write ``report = validate_report(path)``.
    """
    from jsonschema import Draft202012Validator

    from ftbench.report.model import Report

    Draft202012Validator.check_schema(report_schema)
    validator = Draft202012Validator(
        report_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )

    def check(report: Any) -> dict[str, Any]:
        if isinstance(report, (str, Path)):
            report = json.loads(Path(report).read_text(encoding="utf-8"))
        if isinstance(report, Report):
            report = report.to_dict()
        errors = sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))
        assert not errors, "report does not match the schema:\n" + "\n".join(
            f"  {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]
        )
        assert Report.from_dict(report).to_dict() == report
        return dict(report)

    return check
