"""A generated foreign repository: what a new user of ftbench has, not ftbench's own tree.

A small library with a ``src`` layout (``samplelib``), its own tests (pytest), a
``pyproject.toml`` for one build backend, installed editable into the repository's ``.venv``,
no ruff anywhere. :func:`slow_library` makes the library's work +50%; :func:`slow_test` makes
a test wait longer. Used by tests/test_editable.py and the CI-runner tests (tests/ci).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "user",
    "GIT_AUTHOR_EMAIL": "user@example.invalid",
    "GIT_COMMITTER_NAME": "user",
    "GIT_COMMITTER_EMAIL": "user@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}
#: backend: (build-system requires, build-backend, extra pyproject text, pip config settings)
BACKENDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "setuptools": ('"setuptools>=64"', "setuptools.build_meta", "", ()),
    # a flat layout: setuptools maps the package with an import hook (its finder)
    "setuptools-finder": ('"setuptools>=64"', "setuptools.build_meta", "", ()),
    # strict mode: a link tree under build/, nothing the base tree has
    "setuptools-strict": (
        '"setuptools>=64"',
        "setuptools.build_meta",
        "",
        ("--config-settings", "editable_mode=strict"),
    ),
    "hatchling": ('"hatchling"', "hatchling.build", "", ()),
    "hatchling-exact": (
        '"hatchling"',
        "hatchling.build",
        "\n[tool.hatch.build.targets.wheel]\ndev-mode-exact = true\n",
        (),
    ),
    "flit": ('"flit_core>=3.4"', "flit_core.buildapi", "", ()),
    "pdm": ('"pdm-backend"', "pdm.backend", "", ()),
    "pdm-editables": (
        '"pdm-backend"',
        "pdm.backend",
        '\n[tool.pdm.build]\neditable-backend = "editables"\n',
        (),
    ),
    # installed with uv (uv pip install -e), its own backend
    "uv": ('"uv_build>=0.8,<1"', "uv_build", "", ()),
}
CORE = '''"""The library's work."""

ROUNDS = {rounds}


def work(n: int = {n}) -> int:
    total = 0
    for _ in range(ROUNDS):
        total += sum(i * i for i in range(n))
    return total
'''
TEST_CORE = """from samplelib import work


def test_work() -> None:
    assert work() > 0
"""
TEST_WAIT = """import time

WAIT_S = {wait}


def test_wait() -> None:
    time.sleep(WAIT_S)
"""


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def write(path: Path, backend: str = "hatchling", *, n: int = 150_000, wait: float = 0.05) -> Path:
    """The repository's files and its first commit (nothing installed)."""
    requires, build, extra, _ = BACKENDS[backend]
    package = path / ("." if backend == "setuptools-finder" else "src") / "samplelib"
    package.mkdir(parents=True)
    (path / "tests").mkdir()
    (path / "pyproject.toml").write_text(
        f"[build-system]\nrequires = [{requires}]\nbuild-backend = {build!r}\n\n"
        '[project]\nname = "samplelib"\nversion = "0.1.0"\ndescription = "A sample library"\n'
        f'requires-python = ">=3.11"\n{extra}'
    )
    (path / "README.md").write_text("# samplelib\n")
    (package / "__init__.py").write_text('"""samplelib."""\n\nfrom samplelib.core import work\n')
    (package / "core.py").write_text(CORE.format(rounds=2, n=n))
    (path / "tests" / "test_core.py").write_text(TEST_CORE)
    (path / "tests" / "test_wait.py").write_text(TEST_WAIT.format(wait=wait))
    (path / ".gitignore").write_text(".venv/\n.firsttry/\nbuild/\n*.egg-info/\n__pycache__/\n")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "samplelib 0.1.0")
    return path


def core_file(path: Path) -> Path:
    found = sorted(path.glob("*/samplelib/core.py")) + sorted(path.glob("samplelib/core.py"))
    return found[0]


def slow_library(path: Path, message: str = "more rounds") -> None:
    """The library's work +50% (3 rounds instead of 2), committed."""
    core = core_file(path)
    core.write_text(core.read_text().replace("ROUNDS = 2", "ROUNDS = 3"))
    git(path, "commit", "-q", "-am", message)


def slow_test(path: Path, wait: float, message: str = "a test that waits longer") -> None:
    test = path / "tests" / "test_wait.py"
    test.write_text(TEST_WAIT.format(wait=wait))
    git(path, "commit", "-q", "-am", message)


def uv_program(tmp: Path) -> str:
    """``uv``: on PATH, else installed from the package index into a throw-away venv."""
    found = shutil.which("uv")
    if found:
        return found
    venv = tmp / "uv-venv"
    if not (venv / "bin" / "uv").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        proc = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "uv"],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            pytest.skip(f"uv cannot be installed here: {proc.stderr.strip()[-300:]}")
    return str(venv / "bin" / "uv")


def install(path: Path, backend: str, *extra: str, uv: str | None = None) -> Path:
    """The project installed editable into its ``.venv`` (with ``extra`` packages); the
    venv's python. Skips the test when the backend cannot be installed here."""
    path = path.resolve()
    settings = BACKENDS[backend][3]
    venv = path / ".venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    if backend == "uv":
        assert uv is not None
        subprocess.run([uv, "venv", "-q", str(venv)], cwd=path, env=env, check=True)
        argv = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
        argv = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    proc = subprocess.run(
        [*argv, *settings, "-e", ".", *extra],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        pytest.skip(f"{backend} cannot be installed here: {proc.stderr.strip()[-400:]}")
    return venv / "bin" / "python"
