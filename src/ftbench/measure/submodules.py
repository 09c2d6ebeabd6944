"""The submodules of an A/B base worktree, checked out from the repository's own copies.

``git worktree add`` leaves a worktree's submodules empty, and ``git submodule update`` would
clone them from their URLs (network, credentials, a URL that no longer answers). Instead each
gitlink of the base tree whose submodule this repository holds (``.git/modules/NAME``, or an
old-style checkout with its own ``.git`` directory) is cloned from that copy with
``--shared`` (no object copied, nothing fetched) and its recorded commit checked out;
recursively, each submodule's own submodules from its copy's ``modules/``. A submodule this
repository never initialised stays empty, as it is in the current tree. A recorded commit the
local copy lacks is a setup error naming the submodule and the commit.
"""

from __future__ import annotations

import os
from pathlib import Path

from ftbench.errors import SetupError
from ftbench.measure.environment import git

#: bound on one clone or checkout of a submodule (local: no network)
TIMEOUT_S = 600.0


def check_out(root: Path, tree: Path) -> list[str]:
    """Populate the submodules of the worktree ``tree`` of the repository ``root``; the paths
    checked out (nested ones as ``outer/inner``)."""
    common = git(root, "rev-parse", "--git-common-dir")
    if common is None or not os.path.lexists(tree / ".gitmodules"):
        return []
    return _populate(tree, root / common, root, "")


def _populate(tree: Path, git_dir: Path, current: Path | None, shown: str) -> list[str]:
    """Submodules of the checkout ``tree`` from the copies under ``git_dir/modules``
    (``current``: the same repository's checkout in the current tree, for old-style ones)."""
    done: list[str] = []
    for name, path, commit in _gitlinks(tree):
        where = f"{shown}{path}"
        source = git_dir / "modules" / name
        if not (source / "HEAD").is_file() and current is not None:
            source = current / path / ".git"  # a submodule with its own .git directory
        if not (source / "HEAD").is_file():
            continue  # never initialised here: empty in the current tree as well
        dest = tree / path
        cloned = git(
            tree,
            *("-c", "protocol.file.allow=always", "clone", "--quiet", "--shared"),
            *("--no-checkout", "--", str(source), str(dest)),
            timeout=TIMEOUT_S,
        )
        if cloned is None:
            raise SetupError(f"--against: cannot copy submodule {where!r} from {source}")
        if git(dest, "checkout", "--quiet", "--detach", commit, timeout=TIMEOUT_S) is None:
            raise SetupError(
                f"--against: the base side needs commit {commit[:12]} of submodule {where!r}, "
                f"which this clone does not have (git -C {where} fetch, or git submodule "
                "update --init --recursive, then run again): ftbench never fetches submodules"
            )
        done.append(where)
        done += _populate(dest, source, None, f"{where}/")
    return done


def _gitlinks(tree: Path) -> list[tuple[str, str, str]]:
    """``(name, path, commit)`` of each submodule the checkout ``tree`` records: paths from
    ``.gitmodules``, kept only where ``HEAD`` holds a gitlink (git's own paths); names that
    could leave ``modules/`` are skipped, as git does."""
    listed = git(
        tree, "config", "-z", "--file", ".gitmodules", "--get-regexp", r"^submodule\..*\.path$"
    )
    found = []
    for item in (listed or "").split("\0"):
        key, _, path = item.partition("\n")
        name = key[len("submodule.") : -len(".path")]
        if not path or not name or ".." in Path(name).parts or os.path.isabs(name):
            continue
        entry = git(tree, "ls-tree", "-z", "HEAD", "--", path) or ""
        meta, _, listed_path = entry.rstrip("\0").partition("\t")
        fields = meta.split()
        if fields[:2] == ["160000", "commit"] and len(fields) == 3 and listed_path == path:
            found.append((name, path, fields[2]))
    return found
