"""The tools a project has: built-in tiers, the FirstTry CLI's interface, program checks,
and the target of a run (configured tiers over built-in ones, or ``--cmd``).

Everything is looked up in the user's environment (:mod:`ftbench.measure.interpreter`): the
commands' ``PATH`` and the user's interpreter, never ftbench's own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ftbench.errors import ConfigError, SetupError
from ftbench.measure import interpreter
from ftbench.measure.config import Step, Target, default_tier, load_config, parse_tiers
from ftbench.measure.interpreter import Interpreter, has_module

FIRSTTRY_CACHE = ".firsttry/cache.json"
#: FirstTry's own cache file (only it: .firsttry/ also holds ftbench's files) and the caches
#: of the tools it runs (ruff, mypy, pytest), so that its cold samples are cold
FIRSTTRY_CACHES = (FIRSTTRY_CACHE, ".ruff_cache", ".mypy_cache", ".pytest_cache")
_INSTALL = {
    "ruff": "pip install ruff",
    "mypy": "pip install mypy",
    "pytest": "pip install pytest",
    "firsttry": "pip install firsttry-run",
}
#: lite and pro as FirstTry levels: level 1 is its lint/autofix basics (as ruff alone), level 2
#: adds types and tests (as ruff + mypy + pytest)
_LEVEL_OF = {"lite": 0, "pro": 1}


@dataclass(frozen=True)
class FirstTry:
    """The installed FirstTry CLI and the interface its ``run --help`` shows."""

    program: str
    interface: str | None  # "level" (run --level N), "tier" (run MODE --tier T) or None
    levels: tuple[str, ...] = ()
    #: the option of ``run`` that checks without fixing, when its help shows one
    check_only: str | None = None


@dataclass
class Builtins:
    """The built-in tiers and why a tool was left out (``ft-bench tiers`` prints ``notes``)."""

    tiers: dict[str, Target] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def detect_firsttry(path: str, timeout: float = 15.0) -> FirstTry | None:
    """The FirstTry CLI on ``path`` and its interface, read from ``firsttry run --help``."""
    program = shutil.which("firsttry", path=path)
    if program is None:
        return None
    try:
        proc = subprocess.run(
            [program, "run", "--help"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PATH": path},
            check=False,
        )
        text = proc.stdout + proc.stderr
    except (OSError, subprocess.SubprocessError):
        return FirstTry(program, None)
    found = re.search(r"(--no-fix|--no-autofix|--check-only|--dry-run)\b", text)
    check = found.group(1) if found else None
    levels = re.search(r"--level[ =]\{([0-9, ]+)\}", text)
    if levels:
        numbers = tuple(x.strip() for x in levels.group(1).split(","))
        return FirstTry(program, "level", numbers, check)
    if "--tier" in text:
        return FirstTry(program, "tier", check_only=check)
    return FirstTry(program, None)


def _firsttry_writes(ft: FirstTry) -> tuple[tuple[str, ...], str, str]:
    """How a built-in FirstTry tier leaves the tree unchanged: its check-only option when
    ``run --help`` shows one; else its fixes allowed and put back after every sample (FirstTry
    0.1.9's level 1 runs ``ruff check --fix``): the extra arguments, ``writes``, a note."""
    if ft.check_only is not None:
        return (ft.check_only,), "refuse", f"check-only ({ft.check_only})"
    return (), "restore", "its fixes put back after every sample (no check-only option)"


def builtin_tiers(repo_root: Path, interp: Interpreter, path: str) -> Builtins:
    """Tiers made from the checks found for the repository in the user's environment."""
    out = Builtins()
    out.notes.append(f"interpreter: {interp.describe()}")
    firsttry = detect_firsttry(path)
    if firsttry is not None:
        _firsttry_tiers(firsttry, out)
    if not _is_python_repo(repo_root):
        out.notes.append("no Python checks: no pyproject.toml, setup.py, setup.cfg or *.py")
        return out
    _python_tiers(repo_root, interp, path, out, prefix="python-" if out.tiers else "")
    return out


def _firsttry_tiers(ft: FirstTry, out: Builtins) -> None:
    source = "built-in (FirstTry CLI)"
    cache = FIRSTTRY_CACHES
    extra, writes, how = _firsttry_writes(ft)
    if ft.interface == "tier":
        cmd = ("firsttry", "run", "{mode}", "--tier", "{tier}", *extra)
        for t in ("lite", "pro"):
            step = Step("firsttry", cmd, cache=cache)
            out.tiers[t] = Target("tier", t, (step,), f"{source}; {how}", writes=writes)
        out.notes.append(f"FirstTry: {ft.program} (run MODE --tier TIER); {how}")
        return
    if ft.interface != "level" or not ft.levels:
        out.notes.append(
            f"FirstTry left out: `{ft.program} run --help` shows neither --level nor --tier"
        )
        return
    named = {t: ft.levels[min(i, len(ft.levels) - 1)] for t, i in _LEVEL_OF.items()}
    named.update({f"firsttry-{level}": level for level in ft.levels})
    for tier, level in named.items():
        argv = ("firsttry", "run", "--level", level, *extra)
        step = Step("firsttry", argv, cache=cache, pycache=True)
        about = f"{source}: level {level}; {how}"
        out.tiers[tier] = Target("tier", tier, (step,), about, writes=writes)
    out.notes.append(
        f"FirstTry: {ft.program} (run --level {{{','.join(ft.levels)}}}): lite = level "
        f"{named['lite']}, pro = level {named['pro']}; {how}"
    )


def _python_tiers(
    repo_root: Path, interp: Interpreter, path: str, out: Builtins, prefix: str
) -> None:
    ruff = Step("ruff", ("ruff", "check", "."), cache=(".ruff_cache",))
    mypy = Step("mypy", ("mypy", "."), cache=(".mypy_cache",), pycache=True)
    pytest = Step(
        "pytest", ("{python}", "-m", "pytest", "-q"), cache=(".pytest_cache",), pycache=True
    )
    have: dict[str, bool] = {}
    for tool in ("ruff", "mypy"):
        have[tool] = shutil.which(tool, path=path) is not None
        if not have[tool]:
            out.notes.append(f"{tool} left out: not found on the commands' PATH ({_INSTALL[tool]})")
    if interp.python is None:
        have["pytest"] = False
        out.notes.append("pytest left out: no Python interpreter found")
    elif not _has_tests(repo_root):
        have["pytest"] = False
        out.notes.append("pytest left out: no tests/, test/ or testing/ and no pytest config")
    else:
        have["pytest"] = has_module(interp.python, "pytest", path)
        if not have["pytest"]:
            out.notes.append(f"pytest left out: {interp.python} cannot import pytest")
    source = "built-in (Python: {})"
    if have["ruff"]:
        out.tiers[f"{prefix}lite"] = Target("tier", f"{prefix}lite", (ruff,), source.format("ruff"))
    elif interp.python is not None:
        step = Step("compileall", ("{python}", "-m", "compileall", "-q", *_sources(repo_root)))
        step = replace(step, pycache=True)
        out.tiers[f"{prefix}lite"] = Target(
            "tier", f"{prefix}lite", (step,), source.format("compileall, ruff not found")
        )
        out.notes.append(
            "lite = python -m compileall (byte-compiles the sources; cold without bytecode): "
            "ruff is not there; `ft-bench init` writes a tier of the project's own checks"
        )
    pro = tuple(s for s in (ruff, mypy, pytest) if have[s.name])
    if pro:
        names = ", ".join(s.name for s in pro)
        out.tiers[f"{prefix}pro"] = Target("tier", f"{prefix}pro", pro, source.format(names))


#: what ``compileall`` leaves out when it compiles the whole repository
_NOT_SOURCES = r"(^|/)(\.[^/.][^/]*|venv|env|build|dist|node_modules|site-packages)(/|$)"


_SOURCE_DIRS = ("src", "tests", "test")


def _sources(root: Path) -> tuple[str, ...]:
    """What the fallback ``lite`` compiles: ``src``, the test folders and the top-level
    packages and modules; else the whole repository but virtual environments, dot folders
    and build output."""
    found = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        entries = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or entry.is_symlink() or not name.isprintable():
            continue
        folder = entry.is_dir() and (name in _SOURCE_DIRS or (entry / "__init__.py").is_file())
        if folder or (entry.suffix == ".py" and entry.is_file()):
            found.append(name)
    return tuple(found) if found else ("-x", _NOT_SOURCES, ".")


def _is_python_repo(root: Path) -> bool:
    markers = ("pyproject.toml", "setup.py", "setup.cfg")
    return any((root / m).is_file() for m in markers) or any(root.glob("*.py"))


def _has_tests(root: Path) -> bool:
    if any((root / d).is_dir() for d in ("tests", "test", "testing")):
        return True
    if (root / "pytest.ini").is_file():
        return True
    for name, marker in (
        ("pyproject.toml", "[tool.pytest"),
        ("setup.cfg", "[tool:pytest]"),
        ("tox.ini", "[pytest]"),
    ):
        try:
            if marker in (root / name).read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False


def available_tiers(
    repo_root: Path, environ: Mapping[str, str] | None = None, *, builtin: bool = True
) -> dict[str, Target]:
    """The built-in tiers, with the configured ones added (a configured tier replaces the
    built-in tier of the same name); each bound to the user's environment."""
    env = os.environ if environ is None else environ
    interp = interpreter.find(repo_root, env)
    path = interpreter.command_path(interp, env)
    tiers = builtin_tiers(repo_root, interp, path).tiers if builtin else {}
    loaded = load_config(repo_root)
    if loaded is not None:
        tiers.update(parse_tiers(*loaded))
    return {name: bind(t, interp, path) for name, t in tiers.items()}


def bind(target: Target, interp: Interpreter, path: str) -> Target:
    """``target`` to run in the user's environment: ``{python}`` and ``PATH`` filled in."""
    python = interp.python or "python"
    steps = tuple(replace(s, python=python) for s in target.steps)
    return replace(target, steps=steps, path=path, interp=interp)


def resolve_target(
    repo_root: Path,
    *,
    tier: str | None,
    cmd: str | None,
    cache: list[str] | None = None,
    shell: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """The target of a run: ``--cmd`` (with ``--cache`` paths) or a tier."""
    env = os.environ if environ is None else environ
    if cmd is not None:
        if not cmd.strip():
            raise ConfigError("--cmd must not be empty")
        interp = interpreter.find(repo_root, env)
        target = Target("cmd", "cmd", (Step("cmd", cmd, shell, tuple(cache or ())),), "--cmd")
        return bind(target, interp, interpreter.command_path(interp, env))
    name = tier or default_tier(repo_root)
    configured = available_tiers(repo_root, env, builtin=False)
    if name in configured:
        return configured[name]
    tiers = available_tiers(repo_root, env)
    if name not in tiers:
        known = ", ".join(sorted(tiers)) or "none"
        raise SetupError(
            f"unknown tier '{name}' (available: {known}); configure it in "
            "[tool.ftbench] or ftbench.toml, or use --cmd (`ft-bench tiers` says why a "
            "built-in tier is missing)"
        )
    return tiers[name]


def check_commands(target: Target, mode: str, repo_root: Path) -> None:
    """Fail before the first sample, as a setup error (exit 5), when a step's program is
    missing or not executable, or the interpreter cannot import a ``-m`` module."""
    path = target.path or os.environ.get("PATH", os.defpath)
    for step in target.steps:
        try:
            argv = step.argv(target.tier, mode)
        except ValueError as exc:  # shlex: unbalanced quotes
            raise ConfigError(f"step '{step.name}': cannot parse command: {exc}") from None
        if not argv:
            raise ConfigError(f"step '{step.name}': empty command")
        if step.shell:
            continue  # the shell finds the programs; a missing one fails the first sample
        _check_program(step, argv, repo_root, path, target)


def _check_program(step: Step, argv: list[str], root: Path, path: str, target: Target) -> None:
    program = argv[0]
    where = f"step '{step.name}'"
    if "/" in program:
        file = Path(program) if Path(program).is_absolute() else root / program
        if not file.is_file():
            raise SetupError(f"{where}: command not found: {program}")
        if not os.access(file, os.X_OK):
            raise SetupError(f"{where}: not executable: {program} (chmod +x {program}?)")
    elif shutil.which(program, path=path) is None:
        blocked = _not_executable(program, path)
        if blocked is not None:
            raise SetupError(f"{where}: not executable: {blocked} (chmod +x {blocked}?)")
        raise SetupError(f"{where}: command not found: {program}{_hint(program, target)}")
    _check_module(where, argv, root, path, step.env_for(target.tier, "normal"))


#: a Python interpreter's name (``python``, ``python3``, ``python3.12``)
_PYTHON = re.compile(r"python[0-9.]*")


def _check_module(
    where: str, argv: list[str], root: Path, path: str, env: Mapping[str, str]
) -> None:
    """``python -m MODULE`` (``{python}`` or any Python interpreter): the interpreter, run as
    the step runs it (in the repository, with the step's ``env``), must find ``MODULE``'s
    top-level package (nothing is imported), else a setup error with the install line
    (exit 5, not a failing first sample)."""
    program = argv[0]
    if len(argv) < 3 or argv[1] != "-m" or not _PYTHON.fullmatch(Path(program).name):
        return
    if "/" in program:
        found: str | None = str(Path(program) if Path(program).is_absolute() else root / program)
    else:
        found = shutil.which(program, path=path)
    module = argv[2]
    top = module.split(".")[0]
    if found is not None and not has_module(found, top, path, cwd=root, env=env):
        package = top.replace("_", "-")
        raise SetupError(
            f"{where}: {program} cannot import {module}; install it: "
            f"{program} -m pip install {package} (or add it to the project's dependencies)"
        )


def _not_executable(program: str, path: str) -> str | None:
    for directory in path.split(os.pathsep):
        candidate = os.path.join(directory or ".", program)
        if os.path.isfile(candidate) and not os.access(candidate, os.X_OK):
            return candidate
    return None


def _hint(program: str, target: Target) -> str:
    interp = target.interp
    install = _INSTALL.get(program)
    if interp is not None and interp.venv_bin is not None and interp.python is not None:
        where = f" (looked in {interp.venv_bin} first, then PATH)"
        if install is not None:
            package = install.split()[-1]
            return f"{where}; install it: {interp.python} -m pip install {package}"
        return where
    return f"; install it: {install}" if install else "; install it or fix the step's cmd"


_INPUT_SIGNS = ("EOFError", "EOF when reading a line", "/dev/tty")


def input_hint(log: Path) -> str | None:
    """A clear line when a failed command's log shows it asked for input (samples run with
    stdin from /dev/null and no terminal, so a prompt fails at once)."""
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            tail = fh.read().decode(errors="replace")
    except OSError:
        return None
    if not any(sign in tail for sign in _INPUT_SIGNS):
        return None
    hint = "it asked for input, but samples run with stdin from /dev/null and no terminal"
    if "license" in tail.lower() and "firsttry" in tail.lower():
        hint += " (FirstTry: set FIRSTTRY_LICENSE_KEY, or start its trial once by hand)"
    return hint


def findings_hint(exit_code: int) -> str:
    """What to do when a step exited non-zero (said once, with the first failure)."""
    return (
        f": a check with findings exits non-zero; to time it anyway, run with -i "
        f"(--ignore-failure), or give the step ok_exit_codes = [0, {exit_code}] in "
        "[tool.ftbench] / ftbench.toml"
    )
