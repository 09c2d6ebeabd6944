"""``ft-bench init``'s work: a tier of the repository's own checks, and a CI file that runs it.

:func:`init` looks at the repository (``look.py``: its tests, the linters and type checkers
it configures, the interpreter its commands use), writes the tier into ``ftbench.toml`` when
there is one, else ``pyproject.toml``'s ``[tool.ftbench]``, else a new ``ftbench.toml``, and
makes it the ``default_tier`` (``write.py``); with ``ci`` it writes docs/ci.md's recipe for
it (``recipes.py``). It returns what it chose and did, for the CLI to print; nothing existing
is replaced without ``force``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ftbench.adopt import DEFAULT_NAME, FILE_CHOICES, recipes
from ftbench.adopt.look import Look, look
from ftbench.adopt.write import add_tier, check_place, tier_lines, write_file
from ftbench.errors import ConfigError, UsageError
from ftbench.measure.environment import git


@dataclass(frozen=True)
class InitRequest:
    root: Path
    tier: str = DEFAULT_NAME
    file: str = "auto"
    ci: str | None = None
    force: bool = False
    #: where ftbench comes from (its repository's URL) and which tag, for the CI file
    source: str | None = None
    rev: str | None = None
    #: show what would be written, write nothing
    dry_run: bool = False


@dataclass
class InitResult:
    seen: Look
    config: str  # the configuration file
    config_written: bool
    tier_text: str
    ci: recipes.Recipe | None = None
    ci_written: bool = False
    notes: list[str] = field(default_factory=list)


def _config_file(root: Path, choice: str) -> tuple[str, str]:
    """The configuration file to write and the prefix of its tables."""
    if choice == "auto":
        if (root / "ftbench.toml").is_file():
            choice = "ftbench.toml"
        elif (root / "pyproject.toml").is_file():
            choice = "pyproject.toml"
        else:
            choice = "ftbench.toml"
    return choice, ("tool.ftbench." if choice == "pyproject.toml" else "")


def _branch(root: Path) -> str:
    """The default branch: origin's HEAD, else the current branch, else ``main``."""
    head = git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if head and "/" in head:
        return head.split("/", 1)[1]
    current = git(root, "symbolic-ref", "--quiet", "--short", "HEAD")
    return current or "main"


def init(request: InitRequest, environ: Mapping[str, str] | None = None) -> InitResult:
    root = request.root
    if request.file not in FILE_CHOICES:
        raise UsageError(f"--file must be one of {', '.join(FILE_CHOICES)}")
    if not request.tier.strip() or any(c in request.tier for c in "\n\r\t\"'"):
        raise UsageError("--tier: a tier name without quotes, tabs or line breaks")
    seen = look(root, os.environ if environ is None else environ)
    name, prefix = _config_file(root, request.file)
    path = root / name
    result = InitResult(seen, name, False, "")
    if request.file == "ftbench.toml" and "ftbench" in _pyproject_tool(root):
        result.notes.append("ftbench.toml wins over pyproject.toml's [tool.ftbench]")
    recipe = None
    if request.ci is not None:
        recipe = recipes.render(
            request.ci, seen.install, request.source, request.rev, _branch(root)
        )
        check_place(root, recipe.path)  # before anything is written
    check_place(root, name)
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}: cannot read: {exc}") from None
    try:
        new, notes = add_tier(
            text, name, request.tier, seen.checks, prefix=prefix, force=request.force
        )
        result.notes += notes
        result.tier_text = new
        if not request.dry_run:
            result.config_written = write_file(root, name, new, replace=True)
    except ConfigError as exc:
        if request.ci is None or "already has a tier" not in str(exc):
            raise
        result.notes.append(str(exc))  # the CI file is still wanted: it runs the tier there
        result.tier_text = "\n".join(tier_lines(request.tier, seen.checks, prefix)) + "\n"
    if recipe is not None:
        result.ci = recipe
        if not request.dry_run:
            result.ci_written = write_file(root, recipe.path, recipe.text, replace=request.force)
    return result


def _pyproject_tool(root: Path) -> dict[str, object]:
    from ftbench.adopt.look import read_pyproject

    tool = read_pyproject(root).get("tool")
    return tool if isinstance(tool, dict) else {}
