"""An isolated environment for the A/B base side, when its code cannot be mapped into its tree.

Made in a folder of ftbench's own temporary directory, with the commands' interpreter:

1. a virtual environment (``python -m venv --without-pip``);
2. the user's environment visible in it, but not the project: a ``.pth`` file lists the
   directories of the user's ``sys.path`` (its site-packages: the project's dependencies and
   tools), except those inside the repository; their ``.pth`` files are not processed, so the
   current tree's editable hooks are not installed;
3. the base tree installed into it, editable, without dependencies (the user's ``pip``, else
   ``uv``; the build backend comes as pip or uv fetch it);
4. the console scripts of the user's virtual environment copied with their first line naming
   the isolated interpreter, so ``pytest`` or the project's own scripts run in it.

The base side's commands get its ``bin`` first on ``PATH``, ``VIRTUAL_ENV`` and ``{python}``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ftbench.errors import SetupError
from ftbench.measure import tools
from ftbench.measure.config import Target
from ftbench.measure.editable import Probe, project_path
from ftbench.measure.interpreter import Interpreter
from ftbench.redact import scrub

INSTALL_TIMEOUT_S = 900.0
#: a console script's first line is read up to this many bytes
_SHEBANG_MAX = 512


@dataclass(frozen=True)
class Isolated:
    env: Mapping[str, str]
    target: Target
    how: str


def _run(argv: list[str], env: Mapping[str, str], cwd: Path, what: str) -> str:
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise SetupError(f"{what}: {exc}") from None
    if proc.returncode != 0:
        last = ((proc.stderr or proc.stdout).strip().splitlines() or [""])[-1]
        raise SetupError(f"{what} exited with code {proc.returncode}: {scrub(last)[:200]}")
    return proc.stdout.strip()


def environment(
    target: Target,
    found: Probe | None,
    root: Path,
    tree: Path,
    where: Path,
    env: Mapping[str, str],
) -> Isolated:
    """The base side's isolated environment (see the module docstring); a
    :class:`SetupError` naming the step that failed."""
    interp = target.interp
    if interp is None or interp.python is None or found is None:
        raise SetupError("no interpreter to make it with")
    clean = {k: v for k, v in env.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    _run([interp.python, "-m", "venv", "--without-pip", str(where)], clean, tree.parent, "venv")
    python = str(where / "bin" / "python")
    code = (
        "import json, sys, sysconfig as c; print(json.dumps([c.get_paths()['purelib'], sys.path]))"
    )
    purelib, has = json.loads(_run([python, "-c", code], clean, tree.parent, "venv"))
    purelib = Path(purelib)
    real_root, own = os.path.realpath(root), {os.path.realpath(p) for p in has if p}
    # the user's site-packages, not the standard library (already there: a build front-end
    # drops what .pth files add, and would lose it)
    visible = [
        p for p in found.paths if project_path(p, real_root, found.skip) is None and p not in own
    ]
    (purelib / "_ftbench_user_env.pth").write_text("".join(f"{p}\n" for p in visible))
    inside = {**clean, "VIRTUAL_ENV": str(where), "PATH": f"{where / 'bin'}{os.pathsep}"}
    inside["PATH"] += clean.get("PATH", os.defpath)
    how = _install(python, tree, inside)
    copied = _scripts(interp, python, where / "bin")
    path = os.pathsep.join([str(where / "bin"), target.path or clean.get("PATH", os.defpath)])
    rebound = tools.bind(target, Interpreter(python, "isolated base environment"), path)
    about = f"a virtual environment of the commands' interpreter, the base tree installed {how}"
    if copied:
        about += f", {copied} console scripts of the user's environment"
    return Isolated({"VIRTUAL_ENV": str(where)}, rebound, about)


def _install(python: str, tree: Path, env: Mapping[str, str]) -> str:
    """Install ``tree`` editable into the isolated environment; how it was done."""
    pip = [python, "-m", "pip", "--disable-pip-version-check", "install", "-q", "--no-deps"]
    try:
        _run([python, "-c", "import pip"], env, tree.parent, "pip")
    except SetupError:
        uv = shutil.which("uv", path=env.get("PATH"))
        if uv is None:
            raise SetupError("neither pip nor uv in the user's environment") from None
        argv = [uv, "pip", "install", "-q", "--no-deps", "--python", python, "-e", str(tree)]
        _run(argv, env, tree.parent, "uv pip install -e")
        return "with uv pip install -e"
    _run([*pip, "-e", str(tree)], env, tree.parent, "pip install -e")
    return "with pip install -e"


def _scripts(interp: Interpreter, python: str, bin_dir: Path) -> int:
    """Copy the user's virtual environment's console scripts, first line rewritten to
    ``python``; how many."""
    if interp.venv_bin is None or interp.python is None:
        return 0
    own = (interp.python, os.path.join(interp.venv_bin, "python"))
    count = 0
    for entry in sorted(Path(interp.venv_bin).iterdir()):
        dest = bin_dir / entry.name
        if dest.exists() or dest.is_symlink() or not entry.is_file() or entry.is_symlink():
            continue
        try:
            data = entry.read_bytes()
        except OSError:
            continue
        first, _, rest = data.partition(b"\n")
        if not first.startswith(b"#!") or len(first) > _SHEBANG_MAX:
            continue
        if os.fsdecode(first[2:].strip()) not in own:
            continue
        dest.write_bytes(b"#!" + os.fsencode(python) + b"\n" + rest)
        dest.chmod(0o755)
        count += 1
    return count
