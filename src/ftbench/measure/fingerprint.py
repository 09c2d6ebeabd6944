"""Repository snapshot: size, top extensions and a content fingerprint.

The fingerprint is the same for two clones of the same commit (content, never mtimes):

* clean git checkout: git's own tree id of HEAD (``git-tree``), no file is read;
* dirty git checkout: the tree id plus the blob ids of changed and untracked files
  (``git-tree+changes``);
* anything else: SHA-256 over sorted (path, SHA-256 of content) pairs (``content-sha256``),
  skipping VCS, virtualenv and cache directories.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import Any

from ftbench.measure.environment import git

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        ".firsttry",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        ".nox",
        ".hypothesis",
        "build",
        "dist",
    }
)
# ftbench's own output never makes a checkout dirty or changes its fingerprint.
_NOT_OURS = (".", ":(exclude).firsttry")


def _git_files(root: Path) -> list[str] | None:
    out = git(
        root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *_NOT_OURS
    )
    if out is None:
        return None
    return [p for p in out.split("\0") if p]


def _walk_files(root: Path) -> list[str]:
    found = []
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        rel = os.path.relpath(dirpath, root)
        for name in names:
            found.append(name if rel == "." else os.path.join(rel, name))
    return sorted(found)


def _dirty_digest(root: Path, tree: str) -> str:
    # Plain path lists, not ``status --porcelain``: ``git()`` strips its output, which ate the
    # leading blank of the first " M path" entry and so hashed the wrong path.
    tracked = git(root, "diff", "--name-only", "-z", "--no-renames", "HEAD", "--", *_NOT_OURS) or ""
    untracked = (
        git(root, "ls-files", "-z", "--others", "--exclude-standard", "--", *_NOT_OURS) or ""
    )
    changed = sorted({p for p in (tracked + "\0" + untracked).split("\0") if p})
    digest = hashlib.sha256(tree.encode())
    present = [p for p in changed if (root / p).is_file()]
    blobs = {}
    if present:
        out = git(root, "hash-object", "--", *present) or ""
        blobs = dict(zip(present, out.splitlines(), strict=False))
    for path in changed:
        digest.update(f"\0{path}\0{blobs.get(path, 'deleted')}".encode())
    return digest.hexdigest()


def _content_digest(root: Path, files: list[str]) -> str:
    digest = hashlib.sha256()
    for rel in files:
        path = root / rel
        if path.is_symlink() or not path.is_file():
            continue
        try:
            with path.open("rb") as fh:
                file_hash = hashlib.file_digest(fh, "sha256")
        except OSError:
            continue
        digest.update(f"{rel}\0{file_hash.hexdigest()}\0".encode())
    return digest.hexdigest()


def snapshot(repo_root: Path) -> dict[str, Any]:
    """The ``repository`` block of a report."""
    root = repo_root.resolve()
    files = _git_files(root)
    in_git = files is not None
    if files is None:
        files = _walk_files(root)
    total = 0
    extensions: Counter[str] = Counter()
    counted = 0
    for rel in files:
        try:
            st = os.lstat(root / rel)
        except OSError:
            continue
        counted += 1
        total += st.st_size
        extensions[Path(rel).suffix.lower() or "(none)"] += 1
    tree = git(root, "rev-parse", "HEAD^{tree}") if in_git else None
    if tree is not None:
        status = git(root, "status", "--porcelain", "--untracked-files=all", "--", *_NOT_OURS)
        if status:
            fingerprint, method = _dirty_digest(root, tree), "git-tree+changes"
        else:
            fingerprint, method = tree, "git-tree"
    else:
        fingerprint, method = _content_digest(root, files), "content-sha256"
    return {
        "name": root.name,
        "files": counted,
        "bytes": total,
        "top_extensions": [[ext, n] for ext, n in extensions.most_common(8)],
        "fingerprint": fingerprint,
        "fingerprint_method": method,
    }
