"""What ``ft-bench init`` sees in a repository: its tests, the linters and type checkers its
configuration names, the interpreter its commands use, and how CI installs its dependencies.

Only what is there counts: a tool is a step when the repository configures it *and* it is
installed for the commands (else a note says how to add it); the tests are a step when there
are tests and pytest is installed or declared (else ``unittest``). Nothing of the project is
imported or run, but ``find_spec`` of a tool's top-level module in the user's interpreter.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftbench.measure import interpreter
from ftbench.measure.interpreter import Interpreter, has_module

TEST_DIRS = ("tests", "test", "testing")
#: extras and dependency groups that hold the test tools, in order of preference
TEST_EXTRAS = ("test", "tests", "testing", "dev")
REQUIREMENT_FILES = (
    "requirements-test.txt",
    "requirements-tests.txt",
    "requirements-dev.txt",
    "test-requirements.txt",
    "dev-requirements.txt",
    "requirements/test.txt",
    "requirements/dev.txt",
)


@dataclass(frozen=True)
class Check:
    """One step ``init`` writes, and why."""

    name: str
    cmd: tuple[str, ...]
    why: str
    cache: tuple[str, ...] = ()
    pycache: bool = False
    package: str = ""  # what CI installs for it (pip)


@dataclass
class Look:
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interp: Interpreter = field(default_factory=lambda: Interpreter(None, "none"))
    #: how CI installs the project and its checks' tools (a shell command)
    install: str = ""


@dataclass(frozen=True)
class _Tool:
    name: str
    signs: tuple[str, ...]  # "[tool.x]" in pyproject.toml, "file", "file:[section]"
    cmd: tuple[str, ...]
    cache: tuple[str, ...] = ()
    pycache: bool = False


_TOOLS = (
    _Tool(
        "ruff", ("[tool.ruff]", "ruff.toml", ".ruff.toml"), ("ruff", "check", "."), (".ruff_cache",)
    ),
    _Tool(
        "mypy",
        ("[tool.mypy]", "mypy.ini", ".mypy.ini", "setup.cfg:[mypy]"),
        ("mypy",),
        (".mypy_cache",),
        pycache=True,
    ),
    _Tool("black", ("[tool.black]",), ("black", "--check", "--quiet", ".")),
    _Tool("isort", ("[tool.isort]", ".isort.cfg"), ("isort", "--check-only", "--quiet", ".")),
    _Tool("flake8", (".flake8", "setup.cfg:[flake8]", "tox.ini:[flake8]"), ("flake8",)),
    _Tool("pyright", ("[tool.pyright]", "pyrightconfig.json"), ("pyright",)),
)


def read_pyproject(root: Path) -> dict[str, Any]:
    """``pyproject.toml`` parsed; empty when absent or not valid TOML (said elsewhere)."""
    try:
        return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _section(root: Path, name: str, section: str) -> bool:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(root / name, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return False
    return parser.has_section(section)


def _configured(root: Path, pyproject: Mapping[str, Any], signs: tuple[str, ...]) -> str | None:
    """The first sign of a tool's configuration, as a reader would name it."""
    tool = pyproject.get("tool")
    for sign in signs:
        if sign.startswith("[tool."):
            if isinstance(tool, dict) and sign[6:-1] in tool:
                return f"{sign} in pyproject.toml"
        elif ":" in sign:
            name, section = sign.split(":")
            if (root / name).is_file() and _section(root, name, section[1:-1]):
                return f"{section} in {name}"
        elif (root / sign).is_file():
            return sign
    return None


def _has_tests(root: Path, pyproject: Mapping[str, Any]) -> str | None:
    for name in TEST_DIRS:
        if (root / name).is_dir() and not (root / name).is_symlink():
            return f"{name}/"
    tool = pyproject.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("pytest"), dict):
        return "[tool.pytest] in pyproject.toml"
    for name in ("pytest.ini", "conftest.py"):
        if (root / name).is_file():
            return name
    return None


def _declared(root: Path, pyproject: Mapping[str, Any]) -> str:
    """Everything the repository declares as dependencies, as one lower-case text."""
    parts: list[str] = []
    project = pyproject.get("project")
    if isinstance(project, dict):
        parts += [str(x) for x in project.get("dependencies") or []]
        extras = project.get("optional-dependencies")
        if isinstance(extras, dict):
            parts += [str(x) for group in extras.values() for x in group or []]
    groups = pyproject.get("dependency-groups")
    if isinstance(groups, dict):
        parts += [str(x) for group in groups.values() for x in group or []]
    for name in ("requirements.txt", *REQUIREMENT_FILES):
        try:
            parts.append((root / name).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return "\n".join(parts).lower()


def _mentions(declared: str, package: str) -> bool:
    return (
        re.search(rf"(^|[\s\"',\[]){re.escape(package)}($|[\s\"',<>=!~;\[\]])", declared, re.M)
        is not None
    )


def _mypy_cmd(root: Path, pyproject: Mapping[str, Any]) -> tuple[str, ...]:
    tool = pyproject.get("tool")
    mypy = tool.get("mypy") if isinstance(tool, dict) else None
    if isinstance(mypy, dict) and mypy.get("files"):
        return ("mypy",)
    return ("mypy", "src") if (root / "src").is_dir() else ("mypy", ".")


def _install(root: Path, pyproject: Mapping[str, Any], checks: list[Check]) -> str:
    """The CI command installing the project and its checks' tools."""
    words = ["pip", "install"]
    project = pyproject.get("project")
    installable = isinstance(project, dict) or (root / "setup.py").is_file()
    extras = project.get("optional-dependencies") if isinstance(project, dict) else None
    extra = next((e for e in TEST_EXTRAS if isinstance(extras, dict) and e in extras), None)
    if installable:
        words += ["-e", f'".[{extra}]"' if extra else "."]
    covered = "\n".join(str(x) for x in (extras or {}).get(extra, [])).lower() if extra else ""
    for name in REQUIREMENT_FILES:
        if (root / name).is_file():
            words += ["-r", name]
            covered += (root / name).read_text(encoding="utf-8", errors="replace").lower()
            break
    else:
        if (root / "requirements.txt").is_file() and not installable:
            words += ["-r", "requirements.txt"]
    for check in checks:
        if check.package and not _mentions(covered, check.package):
            words.append(check.package)
    return " ".join(words) if len(words) > 2 else ""


def look(root: Path, environ: Mapping[str, str] | None = None) -> Look:
    """What ``init`` writes for ``root``, and why."""
    env = os.environ if environ is None else environ
    pyproject = read_pyproject(root)
    interp = interpreter.find(root, env)
    path = interpreter.command_path(interp, env)
    out = Look(interp=interp)
    declared = _declared(root, pyproject)
    for tool in _TOOLS:
        where = _configured(root, pyproject, tool.signs)
        if where is None:
            continue
        cmd = _mypy_cmd(root, pyproject) if tool.name == "mypy" else tool.cmd
        if shutil.which(tool.name, path=path) is None:
            out.notes.append(
                f"{tool.name} left out: configured ({where}) but not installed for the "
                f"commands (pip install {tool.name}, then ft-bench init --force)"
            )
            continue
        why = f"configured ({where}), installed"
        out.checks.append(Check(tool.name, cmd, why, tool.cache, tool.pycache, tool.name))
    tests = _has_tests(root, pyproject)
    if tests is not None:
        out.checks.append(_tests(root, tests, interp, path, declared))
    elif not out.checks:
        out.notes.append("no tests and no configured linter found")
    if not out.checks:
        out.checks.append(
            Check(
                "compileall",
                ("{python}", "-m", "compileall", "-q", "."),
                "nothing else found: byte-compiles the sources",
                pycache=True,
            )
        )
    out.install = _install(root, pyproject, out.checks)
    return out


def _tests(root: Path, found: str, interp: Interpreter, path: str, declared: str) -> Check:
    pytest_cmd = ("{python}", "-m", "pytest", "-q")
    cache = (".pytest_cache",)
    if interp.python is not None and has_module(interp.python, "pytest", path, cwd=root):
        why = f"{found} found, {interp.python} can import pytest"
        return Check("pytest", pytest_cmd, why, cache, True, "pytest")
    if _mentions(declared, "pytest"):
        why = f"{found} found, pytest declared (not installed here: pip install pytest)"
        return Check("pytest", pytest_cmd, why, cache, True, "pytest")
    start = found.rstrip("/") if found.endswith("/") else "."
    cmd = ("{python}", "-m", "unittest", "discover", "-q", "-s", start, "-t", ".")
    return Check(
        "unittest", cmd, f"{found} found, pytest neither installed nor declared", pycache=True
    )
