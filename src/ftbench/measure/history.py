"""The commits a bisection walks: GOOD and BAD resolved, the first-parent path between them,
a merge's merged branch (``ft-bench bisect``, ``docs/bisect.md``).

Commit subjects are read as written (hostile text: every renderer escapes them). A commit
missing from a shallow clone is a setup error naming the ``git fetch`` that brings it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ftbench.errors import SetupError, UsageError
from ftbench.measure.worktree import run_git


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:12]


def _git(root: Path, *args: str, check: bool = True) -> str | None:
    return run_git(root, *args, check=check, who="bisect", timeout=300)


def _commits(root: Path, *args: str) -> list[Commit]:
    """``git log -z`` records: the id and parents, then the subject on the next line."""
    out = _git(root, "log", "-z", "--format=%H %P%n%s", *args) or ""
    found = []
    for record in out.split("\0"):
        ids, _, subject = record.strip("\n").partition("\n")
        if ids.strip():
            sha, *parents = ids.split()
            found.append(Commit(sha, tuple(parents), subject))
    return found


def commit(root: Path, rev: str, what: str) -> Commit:
    """The commit ``rev`` names (``what``: GOOD or BAD, for the error)."""
    if _git(root, "rev-parse", "--is-inside-work-tree", check=False) is None:
        raise SetupError(f"bisect needs a git repository; {root} is not one")
    if rev.startswith("-"):
        raise UsageError(f"{what}: {rev!r} is not a commit")
    sha = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if not sha:
        raise SetupError(
            f"{what} {rev}: no such commit here; fetch it first (git fetch origin {rev}, "
            "or git fetch --unshallow in a shallow clone)"
        )
    (found,) = _commits(root, "-1", sha.strip())
    return found


def is_ancestor(root: Path, older: str, newer: str) -> bool:
    return _git(root, "merge-base", "--is-ancestor", older, newer, check=False) is not None


def merge_base(root: Path, a: str, b: str) -> str | None:
    out = _git(root, "merge-base", a, b, check=False)
    return out.strip() if out else None


def shallow(root: Path) -> bool:
    return (_git(root, "rev-parse", "--is-shallow-repository", check=False) or "").strip() == "true"


def first_parent_path(root: Path, tip: str, exclude: Sequence[str]) -> list[Commit]:
    """The commits from ``tip`` back along first parents until one reachable from
    ``exclude``, oldest first."""
    return _commits(root, "--first-parent", "--reverse", tip, "--not", *exclude)


def count(root: Path, since: str, tip: str = "HEAD") -> int:
    """How many first-parent commits ``since..tip`` holds."""
    out = _git(root, "rev-list", "--first-parent", "--count", tip, "--not", since, check=False)
    return int(out.strip()) if out and out.strip().isdigit() else 0
