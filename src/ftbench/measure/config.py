"""What to benchmark: tiers from configuration, built-in tiers, or an ad-hoc ``--cmd``.

Configuration lives in ``ftbench.toml`` (top level) or in ``[tool.ftbench]`` of
``pyproject.toml``; ``ftbench.toml`` wins when both exist. See docs/configuration.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ftbench.errors import ConfigError, SetupError

MODES: dict[str, tuple[int, int, int]] = {
    # mode: (cold samples, warm samples, warm-up runs)
    "fast": (3, 5, 1),
    "normal": (5, 10, 1),
    "full": (10, 30, 2),
}
DEFAULT_TIER = "lite"
_STEP_KEYS = {"name", "cmd", "shell", "cache", "clear", "env"}


@dataclass(frozen=True)
class Step:
    """One command of a tier. ``cmd`` holds templates (``{tier}``, ``{mode}``, ``{python}``)."""

    name: str
    cmd: tuple[str, ...] | str
    shell: bool = False
    cache: tuple[str, ...] = ()
    clear: tuple[str, ...] | str | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    def argv(self, tier: str, mode: str) -> list[str]:
        """The command line with placeholders filled in."""
        return self._command(self.cmd, tier, mode)

    def clear_argv(self, tier: str, mode: str) -> list[str] | None:
        return None if self.clear is None else self._command(self.clear, tier, mode)

    def _command(self, cmd: tuple[str, ...] | str, tier: str, mode: str) -> list[str]:
        if isinstance(cmd, str):
            text = _fill(cmd, tier, mode, quote=True)  # parsed by sh or shlex
            return ["/bin/sh", "-c", text] if self.shell else shlex.split(text)
        return [_fill(part, tier, mode) for part in cmd]

    def env_for(self, tier: str, mode: str) -> dict[str, str]:
        return {k: _fill(v, tier, mode) for k, v in self.env.items()}


@dataclass(frozen=True)
class Target:
    """A resolved benchmark target: a tier's steps, or one ad-hoc command."""

    kind: str  # "tier" | "cmd"
    tier: str
    steps: tuple[Step, ...]
    source: str  # where it came from: a file path, "built-in", or "--cmd"
    description: str = ""

    def config_hash(self) -> str:
        """Hash of the target's definition (templates, not machine-specific paths)."""
        body = {"kind": self.kind, "tier": self.tier, "steps": [_step_dict(s) for s in self.steps]}
        raw = json.dumps(body, sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:16]


def _step_dict(step: Step) -> dict[str, Any]:
    data = asdict(step)
    data["cmd"] = list(step.cmd) if isinstance(step.cmd, tuple) else step.cmd
    data["cache"] = list(step.cache)
    data["clear"] = list(step.clear) if isinstance(step.clear, tuple) else step.clear
    data["env"] = dict(step.env)
    return data


def _fill(text: str, tier: str, mode: str, *, quote: bool = False) -> str:
    python = shlex.quote(sys.executable) if quote else sys.executable
    return text.replace("{tier}", tier).replace("{mode}", mode).replace("{python}", python)


def load_config(repo_root: Path) -> tuple[dict[str, Any], str] | None:
    """The raw ``ftbench`` table and its source path, or None when nothing is configured."""
    standalone = repo_root / "ftbench.toml"
    if standalone.is_file():
        return _read_toml(standalone), str(standalone.name)
    pyproject = repo_root / "pyproject.toml"
    if pyproject.is_file():
        tool = _read_toml(pyproject).get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError("pyproject.toml: 'tool' must be a table")
        table = tool.get("ftbench")
        if table is not None:
            if not isinstance(table, dict):
                raise ConfigError("pyproject.toml: [tool.ftbench] must be a table")
            return table, "pyproject.toml [tool.ftbench]"
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: invalid TOML: {exc}") from None


def parse_tiers(table: Mapping[str, Any], source: str) -> dict[str, Target]:
    """Validate the ``tiers`` table; every problem is a one-line :class:`ConfigError`."""
    tiers = table.get("tiers", {})
    if not isinstance(tiers, dict):
        raise ConfigError(f"{source}: 'tiers' must be a table of tiers")
    result = {}
    for tier_name, tier in tiers.items():
        where = f"{source}: tier '{tier_name}'"
        if not isinstance(tier, dict):
            raise ConfigError(f"{where} must be a table")
        steps = tier.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ConfigError(f"{where} needs a non-empty 'steps' list")
        parsed = tuple(_parse_step(step, f"{where} step {i + 1}") for i, step in enumerate(steps))
        names = [s.name for s in parsed]
        if len(set(names)) != len(names):
            raise ConfigError(f"{where}: step names must be unique")
        description = tier.get("description", "")
        if not isinstance(description, str):
            raise ConfigError(f"{where}: 'description' must be a string")
        result[tier_name] = Target("tier", tier_name, parsed, source, description)
    return result


def _parse_step(raw: Any, where: str) -> Step:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: 'name' must be a non-empty string")
    where = f"{where} ('{name}')"
    shell = raw.get("shell", False)
    if not isinstance(shell, bool):
        raise ConfigError(f"{where}: 'shell' must be true or false")
    cmd = _command(raw.get("cmd"), f"{where}: 'cmd'", required=True)
    assert cmd is not None
    clear = _command(raw.get("clear"), f"{where}: 'clear'", required=False)
    cache_paths = raw.get("cache", [])
    if isinstance(cache_paths, str):
        cache_paths = [cache_paths]
    if not isinstance(cache_paths, list) or not all(
        isinstance(p, str) and p.strip() for p in cache_paths
    ):
        raise ConfigError(f"{where}: 'cache' must be a list of paths")
    env = raw.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise ConfigError(f"{where}: 'env' must be a table of strings")
    return Step(name.strip(), cmd, shell, tuple(cache_paths), clear, dict(env))


def _command(value: Any, where: str, *, required: bool) -> tuple[str, ...] | str | None:
    if value is None and not required:
        return None
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(p, str) for p in value):
        return tuple(value)
    raise ConfigError(f"{where} must be a non-empty string or list of strings")


def builtin_tiers(repo_root: Path) -> dict[str, Target]:
    """Tiers made from the checks found for the repository, when nothing is configured."""
    if shutil.which("firsttry"):
        step = ("firsttry", "run", "{mode}", "--tier", "{tier}")
        return {
            t: Target("tier", t, (Step("firsttry", step),), "built-in (FirstTry CLI)")
            for t in ("lite", "pro")
        }
    if not _is_python_repo(repo_root):
        return {}
    ruff = Step("ruff", ("ruff", "check", "."), cache=(".ruff_cache",))
    mypy = Step("mypy", ("mypy", "."), cache=(".mypy_cache",))
    pytest = Step("pytest", ("{python}", "-m", "pytest", "-q"), cache=(".pytest_cache",))
    have = {
        "ruff": shutil.which("ruff") is not None,
        "mypy": shutil.which("mypy") is not None,
        "pytest": _has_module("pytest") and _has_tests(repo_root),
    }
    tiers: dict[str, Target] = {}
    if have["ruff"]:
        tiers["lite"] = Target("tier", "lite", (ruff,), "built-in (Python: ruff)")
    pro = tuple(s for s in (ruff, mypy, pytest) if have[s.name])
    if pro:
        names = ", ".join(s.name for s in pro)
        tiers["pro"] = Target("tier", "pro", pro, f"built-in (Python: {names})")
    return tiers


def _is_python_repo(root: Path) -> bool:
    markers = ("pyproject.toml", "setup.py", "setup.cfg")
    return any((root / m).is_file() for m in markers) or any(root.glob("*.py"))


def _has_module(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(name) is not None


def _has_tests(root: Path) -> bool:
    return (root / "tests").is_dir() or (root / "test").is_dir()


def available_tiers(repo_root: Path) -> dict[str, Target]:
    """Configured tiers when a configuration exists, else the built-in ones."""
    loaded = load_config(repo_root)
    if loaded is not None:
        table, source = loaded
        return parse_tiers(table, source)
    return builtin_tiers(repo_root)


def resolve_target(
    repo_root: Path,
    *,
    tier: str | None,
    cmd: str | None,
    cache: list[str] | None = None,
    shell: bool = False,
) -> Target:
    """The target of a run: ``--cmd`` (with ``--cache`` paths) or a tier."""
    if cmd is not None:
        if not cmd.strip():
            raise ConfigError("--cmd must not be empty")
        return Target("cmd", "cmd", (Step("cmd", cmd, shell, tuple(cache or ())),), "--cmd")
    name = tier or DEFAULT_TIER
    tiers = available_tiers(repo_root)
    if name not in tiers:
        known = ", ".join(sorted(tiers)) or "none"
        raise SetupError(
            f"unknown tier '{name}' (available: {known}); configure it in "
            "[tool.ftbench] or ftbench.toml, or use --cmd"
        )
    return tiers[name]


def target_path(environ: Mapping[str, str]) -> str:
    """PATH for the benchmarked commands: when ftbench runs from a virtual environment, its
    ``bin`` directory comes first (as if activated), so ``python``, ``ruff`` or ``pytest`` mean
    the ones installed beside ftbench."""
    path = environ.get("PATH", os.defpath)
    if sys.prefix == sys.base_prefix:
        return path
    venv_bin = os.path.dirname(sys.executable)
    parts = path.split(os.pathsep)
    return path if venv_bin in parts else os.pathsep.join([venv_bin, *parts])


def check_commands(target: Target, mode: str, repo_root: Path) -> None:
    """Fail early, as a setup error, when a step's program cannot be found."""
    for step in target.steps:
        try:
            argv = step.argv(target.tier, mode)
        except ValueError as exc:  # shlex: unbalanced quotes
            raise ConfigError(f"step '{step.name}': cannot parse command: {exc}") from None
        if not argv:
            raise ConfigError(f"step '{step.name}': empty command")
        program = argv[0]
        if "/" in program:
            path = Path(program) if Path(program).is_absolute() else repo_root / program
            found = path.is_file() and os.access(path, os.X_OK)
        else:
            found = shutil.which(program, path=target_path(os.environ)) is not None
        if not found:
            raise SetupError(f"step '{step.name}': command not found: {program}")
