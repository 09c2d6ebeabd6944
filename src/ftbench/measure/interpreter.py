"""The user's Python environment, in which the benchmarked commands run.

ftbench may be installed on its own (pipx, its own virtual environment); the commands it
measures must still see the project's tools. The interpreter, in order:

1. the active virtual environment (``VIRTUAL_ENV``),
2. else the project's ``.venv`` (at the repository root),
3. else the first ``python`` (then ``python3``) on the user's ``PATH``.

A virtual environment's ``bin`` directory is put first on the commands' ``PATH`` (as if
activated); ftbench's own environment is never added. ``{python}`` in a command means this
interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_BIN = "bin"


@dataclass(frozen=True)
class Interpreter:
    """Where the commands' Python is and why it was chosen."""

    python: str | None  # absolute path; None when no interpreter was found
    origin: str  # "VIRTUAL_ENV", "project .venv", "PATH" or "none"
    venv_bin: str | None = None  # a virtual environment's bin directory, put first on PATH

    def describe(self) -> str:
        if self.python is None:
            return "none found (no VIRTUAL_ENV, no .venv, no python on PATH)"
        return f"{self.python} (from {self.origin})"


def _venv_python(venv: Path) -> str | None:
    for name in ("python", "python3"):
        candidate = venv / _BIN / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find(repo_root: Path, environ: Mapping[str, str]) -> Interpreter:
    """The commands' interpreter (see the module docstring)."""
    active = environ.get("VIRTUAL_ENV", "").strip()
    if active:
        python = _venv_python(Path(active))
        if python is not None:
            return Interpreter(python, "VIRTUAL_ENV", str(Path(active) / _BIN))
    project = repo_root / ".venv"
    python = _venv_python(project)
    if python is not None:
        return Interpreter(python, "project .venv", str(project / _BIN))
    path = environ.get("PATH", os.defpath)
    for name in ("python", "python3"):
        found = shutil.which(name, path=path)
        if found is not None:
            return Interpreter(os.path.abspath(found), "PATH")
    return Interpreter(None, "none")


def command_path(interp: Interpreter, environ: Mapping[str, str]) -> str:
    """``PATH`` for the commands: the user's, with the chosen virtual environment first."""
    path = environ.get("PATH", os.defpath)
    if interp.venv_bin is None:
        return path
    parts = [p for p in path.split(os.pathsep) if p != interp.venv_bin]
    return os.pathsep.join([interp.venv_bin, *parts])


def has_module(python: str, module: str, path: str, timeout: float = 15.0) -> bool:
    """Whether ``python`` can find ``module`` (``find_spec``: nothing is imported)."""
    code = f"import importlib.util as u, sys; sys.exit(u.find_spec({module!r}) is None)"
    env = {**os.environ, "PATH": path}
    try:
        proc = subprocess.run(
            [python, "-c", code],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0
