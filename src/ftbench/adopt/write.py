"""What ``ft-bench init`` writes: a tier as TOML text added to ``pyproject.toml``'s
``[tool.ftbench]`` or ``ftbench.toml``, and files written safely.

The configuration file keeps every byte it had: the tier's tables are appended, the
``default_tier`` key inserted after its table's header (or before the first table of
``ftbench.toml``). The result is parsed again and must hold exactly the tier written, or
nothing is written. An existing tier, ``default_tier`` or file is kept unless ``force``.
Files are written whole (a temporary file renamed over), never through a symbolic link
(:mod:`ftbench.paths`), keeping an existing file's permissions.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ftbench import paths
from ftbench.adopt.look import Check
from ftbench.errors import ConfigError, SetupError
from ftbench.measure.config import parse_tiers

DESCRIPTION = "the project's checks (ft-bench init)"


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def tier_lines(name: str, checks: Sequence[Check], prefix: str) -> list[str]:
    """The TOML of a tier: ``[PREFIXtiers.NAME]`` and one ``[[...steps]]`` per check."""
    key = f"{prefix}tiers.{_key(name)}"
    lines = [f"[{key}]", f"description = {_q(DESCRIPTION)}"]
    for check in checks:
        lines += ["", f"[[{key}.steps]]", f"name = {_q(check.name)}"]
        lines.append(f"cmd = [{', '.join(_q(part) for part in check.cmd)}]")
        if check.cache:
            lines.append(f"cache = [{', '.join(_q(c) for c in check.cache)}]")
        if check.pycache:
            lines.append("pycache = true")
    return lines


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _q(name)


def _table(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    if not prefix:
        return data
    tool = data.get("tool")
    table = tool.get("ftbench") if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else {}


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _header(line: str) -> str | None:
    found = _HEADER.match(line)
    return re.sub(r"\s*\.\s*", ".", found.group(1)) if found else None


def _without_tier(text: str, prefix: str, name: str) -> str:
    """``text`` without the tables of tier ``name`` (its header and steps, up to the next
    table that is not the tier's)."""
    own = f"{prefix}tiers.{_key(name)}"
    kept, inside = [], False
    for line in text.splitlines(keepends=True):
        header = _header(line)
        if header is not None:
            inside = header == own or header.startswith(own + ".")
        if not inside:
            kept.append(line)
    return "".join(kept)


def add_tier(
    text: str, source: str, name: str, checks: Sequence[Check], *, prefix: str, force: bool
) -> tuple[str, list[str]]:
    """``text`` with the tier and ``default_tier`` added; what was kept or replaced."""
    notes: list[str] = []
    try:
        before = _table(tomllib.loads(text), prefix)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML, nothing written: {exc}") from None
    tiers = before.get("tiers") if isinstance(before.get("tiers"), dict) else {}
    assert isinstance(tiers, dict)
    if name in tiers:
        if not force:
            raise ConfigError(
                f"{source} already has a tier '{name}': kept (--force replaces it, "
                "--tier NAME writes another)"
            )
        text = _without_tier(text, prefix, name)
        notes.append(f"tier '{name}' replaced (--force)")
    default = before.get("default_tier")
    add_default = default is None
    if default is not None and default != name:
        if force:
            pattern = r"(?m)^(\s*default_tier\s*=\s*).*$"
            text = re.sub(pattern, rf"\g<1>{_q(name)}", text, count=1)
        else:
            notes.append(f"default_tier stays {default!r} (--force makes it '{name}')")
    body = "\n".join(tier_lines(name, checks, prefix)) + "\n"
    text = text.rstrip("\n") + "\n" if text.strip() else ""
    if add_default:
        text = _with_default(text, prefix, name)
    text = f"{text}\n{body}" if text.strip() else body
    _verify(text, source, name, prefix, checks)
    return text, notes


def _with_default(text: str, prefix: str, name: str) -> str:
    line = f"default_tier = {_q(name)}\n"
    if not prefix:  # ftbench.toml: a top-level key, before any table
        return line + text
    own = prefix.rstrip(".")
    lines = text.splitlines(keepends=True)
    for i, current in enumerate(lines):
        if _header(current) == own and not current.lstrip().startswith("[["):
            return "".join([*lines[: i + 1], line, *lines[i + 1 :]])
    return f"{text}\n[{own}]\n{line}" if text.strip() else f"[{own}]\n{line}"


def _verify(text: str, source: str, name: str, prefix: str, checks: Sequence[Check]) -> None:
    """The new text must parse and hold the tier as written, else nothing is written."""
    why = ""
    try:
        table = _table(tomllib.loads(text), prefix)
        written = parse_tiers(table, source).get(name)
        steps = [s.name for s in written.steps] if written is not None else None
        if steps != [c.name for c in checks]:
            why = "the tier did not come out as written"
    except (tomllib.TOMLDecodeError, ConfigError) as exc:
        why = str(exc)
    if why:
        raise ConfigError(
            f"cannot add the tier to {source} safely ({why}); nothing written: use "
            "--file ftbench.toml, or add it by hand (ft-bench init --print shows it)"
        )


def check_place(root: Path, relative: str) -> None:
    """Refuse, before anything is written, a file that is a symbolic link or a link on the
    way to it."""
    if (root / relative).is_symlink():
        raise SetupError(
            f"{relative} is a symbolic link: ftbench does not write through it (write the "
            "file itself, or use --print)"
        )
    paths.check((root / relative).parent, root)


def write_file(root: Path, relative: str, text: str, *, replace: bool) -> bool:
    """Write ``root/relative`` whole; False (nothing written) when it exists and not
    ``replace``. Never through a symbolic link; an existing file keeps its permissions."""
    path = root / relative
    check_place(root, relative)
    if path.exists() and not replace:
        return False
    try:
        paths.write(path, text, root, mode=None)  # an existing file keeps its permissions
    except OSError as exc:
        raise SetupError(f"cannot write {relative}: {exc.strerror or exc}") from None
    return True
