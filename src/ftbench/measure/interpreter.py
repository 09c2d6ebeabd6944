"""The user's Python environment, in which the benchmarked commands run.

ftbench may be installed on its own (pipx, pre-commit's hook environment, the image's
``/opt/ftbench/venv``, the Action's virtualenv); the commands it measures must still see the
project's tools. The interpreter, in order:

1. the active virtual environment (``VIRTUAL_ENV``),
2. else the project's ``.venv`` (at the repository root),
3. else the first ``python`` (then ``python3``) on the user's ``PATH``,

never ftbench's own private environment (:func:`own_environment`: the virtual environment
ftbench runs from when it holds nothing but ftbench and what ftbench needs; pre-commit
activates its hook environment, and the image puts its venv first on ``PATH``): skipped
wherever it comes up, and said (:attr:`Interpreter.skipped`).

A virtual environment's ``bin`` directory is put first on the commands' ``PATH`` (as if
activated); ftbench's own environment is never added. ``{python}`` in a command means this
interpreter.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ftbench.redact import target_environ

_BIN = "bin"
#: installed with any virtual environment: not a sign that it is the user's
_BOOTSTRAP = frozenset({"pip", "setuptools", "wheel", "distribute", "pkg-resources"})
#: ftbench's extras left out of what ftbench needs: an environment with them is a developer's
_DEV_EXTRAS = frozenset({"dev"})
#: why an origin was the one taken
_WHY = {
    "VIRTUAL_ENV": ": the active virtual environment",
    "project .venv": ": no other virtual environment active",
    "PATH": ": no virtual environment active, no .venv in the repository",
}


@dataclass(frozen=True)
class Interpreter:
    """Where the commands' Python is and why it was chosen."""

    python: str | None  # absolute path; None when no interpreter was found
    origin: str  # "VIRTUAL_ENV", "project .venv", "PATH" or "none"
    venv_bin: str | None = None  # a virtual environment's bin directory, put first on PATH
    #: ftbench's own environment, passed over where it came up (VIRTUAL_ENV, PATH)
    skipped: str | None = None
    #: ftbench's own environment: its ``bin`` is taken off the commands' PATH
    own: str | None = None

    def describe(self) -> str:
        passed = f"; ftbench's own environment {self.skipped} skipped" if self.skipped else ""
        if self.python is None:
            return f"none found (no VIRTUAL_ENV, no .venv, no python on PATH{passed})"
        return f"{self.python} (from {self.origin}{_WHY.get(self.origin, '')}{passed})"


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


@functools.cache
def own_environment() -> str | None:
    """The virtual environment ftbench runs from when it is ftbench's own: it holds nothing
    but ftbench, what ftbench needs (its extras but ``dev``) and pip/setuptools. None when
    ftbench runs from no virtual environment, or from one holding more (the project's, a
    developer's: the user's tools are there)."""
    if sys.prefix == sys.base_prefix:
        return None
    prefix = os.path.realpath(sys.prefix)
    places = [p for p in sys.path if p and os.path.realpath(p).startswith(prefix + os.sep)]
    installed = {
        _name(d.metadata["Name"] or ""): list(d.requires or ())
        for d in importlib.metadata.distributions(path=places)
    }
    return sys.prefix if only_ftbench(installed) else None


def only_ftbench(installed: Mapping[str, list[str]]) -> bool:
    """Whether the distributions ``installed`` (normalized name: requirements) are ftbench,
    what it needs (its extras but ``dev``, and theirs) and pip/setuptools, nothing else."""
    if "ftbench" not in installed:
        return False
    needed: set[str] = set()
    todo = ["ftbench"]
    while todo:
        name = todo.pop()
        if name in needed or name not in installed:
            continue
        needed.add(name)
        for requirement in installed[name]:
            if name == "ftbench" and any(f'extra == "{x}"' in requirement for x in _DEV_EXTRAS):
                continue
            found = re.match(r"[A-Za-z0-9._-]+", requirement)
            if found:
                todo.append(_name(found.group(0)))
    return not set(installed) - needed - _BOOTSTRAP


def _is_own(venv: Path | str, own: str | None) -> bool:
    return own is not None and os.path.realpath(venv) == os.path.realpath(own)


def _venv_python(venv: Path) -> str | None:
    for name in ("python", "python3"):
        candidate = venv / _BIN / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find(repo_root: Path, environ: Mapping[str, str], own: str | None = "auto") -> Interpreter:
    """The commands' interpreter (see the module docstring); ``own``: ftbench's own
    environment, passed over (``auto``: :func:`own_environment`)."""
    if own == "auto":
        own = own_environment()
    project = repo_root / ".venv"
    if own is not None and os.path.realpath(project) == os.path.realpath(own):
        own = None  # ftbench installed in the project's .venv: that is the user's
    skipped = None
    active = environ.get("VIRTUAL_ENV", "").strip()
    if active and _is_own(active, own):
        skipped = active
    elif active:
        python = _venv_python(Path(active))
        if python is not None:
            return Interpreter(python, "VIRTUAL_ENV", str(Path(active) / _BIN), own=own)
    python = _venv_python(project)
    if python is not None:
        return Interpreter(python, "project .venv", str(project / _BIN), skipped, own)
    path = environ.get("PATH", os.defpath)
    own_bin = os.path.realpath(os.path.join(own, _BIN)) if own is not None else None
    for name in ("python", "python3"):
        for directory in path.split(os.pathsep):
            found = shutil.which(name, path=directory or ".")
            if found is None:
                continue
            if own_bin is not None and os.path.realpath(os.path.dirname(found)) == own_bin:
                skipped = own
                continue
            return Interpreter(os.path.abspath(found), "PATH", skipped=skipped, own=own)
    return Interpreter(None, "none", skipped=skipped, own=own)


def command_path(interp: Interpreter, environ: Mapping[str, str]) -> str:
    """``PATH`` for the commands: the user's, with the chosen virtual environment first."""
    path = environ.get("PATH", os.defpath)
    parts = path.split(os.pathsep)
    if interp.own is not None:  # ftbench's own tools are not the project's
        own_bin = os.path.realpath(os.path.join(interp.own, _BIN))
        parts = [p for p in parts if os.path.realpath(p or ".") != own_bin]
    if interp.venv_bin is None:
        return os.pathsep.join(parts)
    parts = [p for p in parts if p != interp.venv_bin]
    return os.pathsep.join([interp.venv_bin, *parts])


def has_module(
    python: str,
    module: str,
    path: str,
    timeout: float = 15.0,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> bool:
    """Whether ``python`` (in ``cwd``, with ``env`` added) can find ``module``
    (``find_spec``: nothing is imported for a top-level name)."""
    code = f"import importlib.util as u, sys; sys.exit(u.find_spec({module!r}) is None)"
    environ = {**target_environ(os.environ), "PATH": path, **(env or {})}  # no credentials
    try:
        proc = subprocess.run(
            [python, "-c", code],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=environ,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0
