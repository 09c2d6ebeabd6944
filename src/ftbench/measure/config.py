"""What to benchmark: steps and targets, and the tiers of the configuration.

Configuration lives in ``ftbench.toml`` (top level) or in ``[tool.ftbench]`` of
``pyproject.toml``; ``ftbench.toml`` wins when both exist. See docs/configuration.md.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shlex
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ftbench.errors import ConfigError
from ftbench.measure import interpreter
from ftbench.measure.tree import WRITES

MODES: dict[str, tuple[int, int, int]] = {
    # mode: (cold samples, warm samples, warm-up runs)
    "fast": (3, 5, 1),
    "normal": (5, 10, 1),
    "full": (10, 30, 2),
}
DEFAULT_TIER = "lite"  # the tier of `ft-bench run` without --tier or --cmd
_STEP_KEYS = {
    *("name", "cmd", "shell", "cache", "clear", "env", "ok_exit_codes", "pycache"),
    *("pass_env", "version"),  # issue 9: secrets passed explicitly; the tool's version
}
TOP_KEYS = ("tiers", "default_tier")
_TIER_KEYS = ("description", "steps", "setup", "writes")


@dataclass(frozen=True)
class Step:
    """One command of a tier. ``cmd`` holds templates (``{tier}``, ``{mode}``, ``{python}``).

    ``ok_exit_codes``: exit codes that count as a successful sample. ``pycache``: Python
    bytecode is cold in cold samples (``PYTHONPYCACHEPREFIX``, see docs/measurement.md).
    ``python`` fills ``{python}`` (the user's interpreter; not part of the definition).
    """

    name: str
    cmd: tuple[str, ...] | str
    shell: bool = False
    cache: tuple[str, ...] = ()
    clear: tuple[str, ...] | str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ok_exit_codes: tuple[int, ...] = (0,)
    pycache: bool = False
    python: str = field(default="", compare=False)
    #: variables ftbench keeps from commands (its S3_*/AWS_* credentials) passed all the same
    pass_env: tuple[str, ...] = ()
    #: untimed command whose first output line is the step's tool version in reports
    version: tuple[str, ...] | str | None = None

    def argv(self, tier: str, mode: str) -> list[str]:
        """The command line with placeholders filled in."""
        return self._command(self.cmd, tier, mode)

    def clear_argv(self, tier: str, mode: str) -> list[str] | None:
        return None if self.clear is None else self._command(self.clear, tier, mode)

    def _command(self, cmd: tuple[str, ...] | str, tier: str, mode: str) -> list[str]:
        python = self.python or sys.executable
        if isinstance(cmd, str):
            text = _fill(cmd, tier, mode, python, quote=True)  # parsed by sh or shlex
            return ["/bin/sh", "-c", text] if self.shell else shlex.split(text)
        return [_fill(part, tier, mode, python) for part in cmd]

    def env_for(self, tier: str, mode: str) -> dict[str, str]:
        env = {k: os.environ[k] for k in self.pass_env if k in os.environ}
        python = self.python or sys.executable
        env.update({k: _fill(v, tier, mode, python) for k, v in self.env.items()})
        return env

    def version_argv(self, tier: str, mode: str) -> list[str] | None:
        return None if self.version is None else self._command(self.version, tier, mode)

    def accepts(self, exit_code: int) -> bool:
        """Whether a sample that ended with ``exit_code`` (not timed out) succeeded."""
        return exit_code in self.ok_exit_codes


@dataclass(frozen=True)
class Target:
    """A resolved benchmark target: a tier's steps, or one ad-hoc command."""

    kind: str  # "tier" | "cmd"
    tier: str
    steps: tuple[Step, ...]
    source: str  # where it came from: a file path, "built-in", or "--cmd"
    description: str = ""
    #: PATH of the commands (the user's environment); empty: the harness's PATH as it is
    path: str = field(default="", compare=False)
    interp: interpreter.Interpreter | None = field(default=None, compare=False)
    #: untimed shell command run in each tree of an A/B run before measuring (``--against``)
    setup: str | None = None
    #: what the commands may do to the tracked files (``measure/tree.py``): ``refuse`` (a
    #: change stops the run) or ``restore`` (put back after every sample that changed them)
    writes: str = "refuse"

    def config_hash(self) -> str:
        """Hash of the target's definition (templates, not machine-specific paths)."""
        body: dict[str, Any] = {
            "kind": self.kind,
            "tier": self.tier,
            "steps": [_step_dict(s) for s in self.steps],
        }
        if self.writes != "refuse":  # only when set: existing tiers keep their hash
            body["writes"] = self.writes
        raw = json.dumps(body, sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:16]


def _step_dict(step: Step) -> dict[str, Any]:
    data = asdict(step)
    data["cmd"] = list(step.cmd) if isinstance(step.cmd, tuple) else step.cmd
    data["cache"] = list(step.cache)
    data["clear"] = list(step.clear) if isinstance(step.clear, tuple) else step.clear
    data["env"] = dict(step.env)
    del data["python"]  # machine-specific
    del data["version"]  # how the version is read is not what is measured
    if step.pass_env:
        data["pass_env"] = list(step.pass_env)
    else:
        del data["pass_env"]
    # keys added after 0.2 only when set, so existing tiers keep their hash (and baselines)
    if step.ok_exit_codes == (0,):
        del data["ok_exit_codes"]
    else:
        data["ok_exit_codes"] = list(step.ok_exit_codes)
    if not step.pycache:
        del data["pycache"]
    return data


def _fill(text: str, tier: str, mode: str, python: str, *, quote: bool = False) -> str:
    shown = shlex.quote(python) if quote else python
    return text.replace("{tier}", tier).replace("{mode}", mode).replace("{python}", shown)


def config_warnings(table: Mapping[str, Any], source: str) -> list[str]:
    """Unknown keys at the top level and in tiers, each with the nearest valid key."""
    warnings = [_unknown(key, TOP_KEYS, source) for key in table if key not in TOP_KEYS]
    tiers = table.get("tiers")
    for name, tier in tiers.items() if isinstance(tiers, dict) else ():
        if isinstance(tier, dict):
            where = f"{source}: tier '{name}'"
            warnings += [_unknown(k, _TIER_KEYS, where) for k in tier if k not in _TIER_KEYS]
    return warnings


def _unknown(key: str, valid: tuple[str, ...], where: str) -> str:
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f"; did you mean '{near[0]}'?" if near else f" (valid: {', '.join(valid)})"
    return f"{where}: unknown key '{key}' is ignored{hint}"


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


def default_tier(repo_root: Path) -> str:
    """The tier of ``ft-bench run`` without ``--tier``: the configuration's ``default_tier``
    (``ft-bench init`` writes it), else :data:`DEFAULT_TIER`."""
    loaded = load_config(repo_root)
    if loaded is None or "default_tier" not in loaded[0]:
        return DEFAULT_TIER
    name = loaded[0]["default_tier"]
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{loaded[1]}: 'default_tier' must be a tier name")
    return name


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
        setup = tier.get("setup")
        if setup is not None and not (isinstance(setup, str) and setup.strip()):
            raise ConfigError(f"{where}: 'setup' must be a non-empty command string")
        writes = tier.get("writes", "refuse")
        if writes not in WRITES:
            raise ConfigError(f"{where}: 'writes' must be one of {', '.join(WRITES)}")
        result[tier_name] = Target(
            "tier", tier_name, parsed, source, description, setup=setup, writes=writes
        )
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
    codes = raw.get("ok_exit_codes", [0])
    if (
        not isinstance(codes, list)
        or not codes
        or not all(type(c) is int and 0 <= c <= 255 for c in codes)
    ):
        raise ConfigError(f"{where}: 'ok_exit_codes' must be a list of exit codes (0-255)")
    pycache = raw.get("pycache", False)
    if not isinstance(pycache, bool):
        raise ConfigError(f"{where}: 'pycache' must be true or false")
    pass_env = raw.get("pass_env", [])
    if not isinstance(pass_env, list) or not all(isinstance(n, str) and n for n in pass_env):
        raise ConfigError(f"{where}: 'pass_env' must be a list of environment variable names")
    version = _command(raw.get("version"), f"{where}: 'version'", required=False)
    return Step(
        name.strip(),
        cmd,
        shell,
        tuple(cache_paths),
        clear,
        dict(env),
        tuple(sorted(set(codes))),
        pycache,
        pass_env=tuple(pass_env),
        version=version,
    )


def _command(value: Any, where: str, *, required: bool) -> tuple[str, ...] | str | None:
    if value is None and not required:
        return None
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(p, str) for p in value):
        return tuple(value)
    raise ConfigError(f"{where} must be a non-empty string or list of strings")
