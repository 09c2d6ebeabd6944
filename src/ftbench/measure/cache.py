"""Cache paths of a step: resolve them safely, clear them before cold samples, measure them.

Safety rule: a cache path must resolve (symlinks followed) to somewhere strictly inside the
repository root, and no directory between the root and it may be a symlink (wherever it
points). Anything else is refused before a single sample runs. Removal follows no symlink at
any level (:mod:`ftbench.paths`): a cache path that is a symlink is removed itself, and links
inside a cache directory are removed, not followed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ftbench import paths as no_links
from ftbench.errors import UnsafePathError

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class CacheUsage:
    bytes: int
    files: int


def resolve_cache_paths(
    patterns: tuple[str, ...] | list[str], repo_root: Path, protected: tuple[Path, ...] = ()
) -> list[Path]:
    """Expand ``patterns`` (paths or globs, relative to the root) and check each is safe.

    Besides staying inside the root, a cache path may not equal, contain or lie inside
    ``.git`` or a ``protected`` path (ftbench's own reports, logs and archive).
    """
    root = repo_root.resolve()
    guarded = [root / ".git", *(Path(os.path.realpath(p)) for p in protected)]
    found: list[Path] = []
    for pattern in patterns:
        if any(c in pattern for c in _GLOB_CHARS):
            if Path(pattern).is_absolute():
                raise UnsafePathError(f"cache glob must be relative to the repository: {pattern}")
            candidates = sorted(root.glob(pattern))
        else:
            candidates = [root / pattern]
        for path in candidates:
            _check_inside(path, root, pattern)
            no_links.check(path.parent, root)
            real = Path(os.path.realpath(path))
            for keep in guarded:
                if real == keep or keep in real.parents or real in keep.parents:
                    raise UnsafePathError(
                        f"refusing cache path {pattern}: it would delete {_shown(keep, root)}"
                    )
            found.append(path)
    return found


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _check_inside(path: Path, root: Path, shown: str) -> None:
    # Resolve the parent strictly-ish and the leaf with symlinks followed: a link that points
    # outside the tree is refused even though unlinking it would be harmless, because a clear
    # command or a later tool could follow it.
    absolute = Path(os.path.abspath(path))
    real = Path(os.path.realpath(absolute))
    for candidate in (absolute, real):
        if candidate == root or root not in candidate.parents:
            raise UnsafePathError(
                f"refusing cache path outside the repository root: {shown}"
                + (
                    " (symlink leads out of the tree)"
                    if candidate is real and absolute != real
                    else ""
                )
            )


def clear(paths: list[Path], repo_root: Path) -> None:
    """Remove every cache path (checked again right before removal)."""
    root = repo_root.resolve()
    for path in paths:
        _check_inside(path, root, str(path))
        no_links.remove(path, root)


def usage(paths: list[Path]) -> CacheUsage:
    """Total bytes and file count under ``paths`` (symlinks not followed)."""
    total = files = 0
    seen: set[Path] = set()
    for path in paths:
        if path in seen or not path.exists():
            continue
        seen.add(path)
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            files += 1
            continue
        for dirpath, _dirs, names in os.walk(path):
            for name in names:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                total += st.st_size
                files += 1
    return CacheUsage(total, files)
