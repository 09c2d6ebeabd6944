"""The base side of an A/B run: a git ref checked out into a temporary worktree.

:func:`resolve_ref` turns ``--against REF`` into a commit (``auto``: the merge-base of ``HEAD``
with the pull or merge request's base branch); :func:`checkout` makes a detached worktree of it
in a temporary directory and removes it afterwards, whatever ends the block (an error, Ctrl-C,
SIGTERM: ftbench turns those into exceptions). A ref that is not there (a shallow CI clone) is
a setup error naming the ``git fetch`` that brings it.

A worktree is locked (``git worktree lock``) with its owner, ``ftbench pid N on HOST started
T``, for as long as its run lives; a run killed with SIGKILL cannot remove it, so every
``checkout`` first removes the ftbench worktrees whose owner is gone (:func:`remove_stale`).
Its submodules are checked out from the repository's own copies (``.git/modules``), never from
their URLs (:mod:`ftbench.measure.submodules`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ftbench.errors import SetupError
from ftbench.measure import submodules
from ftbench.redact import scrub

#: where ``--against auto`` finds the base branch, in order (after ``--baseline-branch``)
BASE_BRANCH_VARS = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")


@dataclass(frozen=True)
class BaseRef:
    """What ``--against`` resolved to."""

    ref: str  # as given (``auto`` resolved to ``merge-base(HEAD, origin/main)``)
    commit: str
    how: str  # how it was found, for the report


def run_git(
    root: Path, *args: str, check: bool = True, who: str = "--against", timeout: float = 120
) -> str | None:
    """``git -C root ARGS``'s output, stripped; None when it fails and not ``check``, else a
    :class:`SetupError` saying ``who`` needed it (``--against``, ``bisect``)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise SetupError(f"{who}: cannot run git: {exc}") from None
    if proc.returncode != 0:
        if check:
            line = (proc.stderr.strip().splitlines() or ["failed"])[-1]
            raise SetupError(f"{who}: git {' '.join(args)}: {line}")
        return None
    return proc.stdout.strip()


def resolve_ref(
    root: Path,
    ref: str,
    *,
    base_branch: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> BaseRef:
    """The commit of ``ref`` (any commit-ish), or with ``auto`` the merge-base of ``HEAD`` and
    the base branch (``base_branch``, else ``GITHUB_BASE_REF``, else
    ``CI_MERGE_REQUEST_TARGET_BRANCH_NAME``)."""
    if run_git(root, "rev-parse", "--is-inside-work-tree", check=False) != "true":
        raise SetupError(f"--against needs a git repository; {root} is not one")
    if ref != "auto":
        commit = run_git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if not commit:
            raise SetupError(
                f"--against {ref}: no such commit here; fetch it first "
                f"(git fetch origin {ref}, or git fetch --unshallow in a shallow clone)"
            )
        return BaseRef(ref, commit, f"{ref} ({commit[:12]})")
    env = os.environ if environ is None else environ
    branch, source = base_branch, "--baseline-branch"
    for var in BASE_BRANCH_VARS:
        if branch:
            break
        branch, source = env.get(var, "").strip() or None, var
    if not branch:
        raise SetupError(
            "--against auto: no base branch (not a pull or merge request); "
            "pass --baseline-branch BRANCH or --against REF"
        )
    for candidate in (f"origin/{branch}", branch):
        if run_git(root, "rev-parse", "--verify", "--quiet", candidate, check=False):
            base = run_git(root, "merge-base", "HEAD", candidate, check=False)
            if base:
                return BaseRef(
                    f"merge-base(HEAD, {candidate})",
                    base,
                    f"merge-base of HEAD and {candidate} ({source}): {base[:12]}",
                )
            raise SetupError(
                f"--against auto: HEAD and {candidate} share no history here; deepen the "
                f"clone (git fetch --unshallow, or git fetch --deepen=200 origin {branch})"
            )
    raise SetupError(
        f"--against auto: base branch {branch!r} ({source}) is not in this clone; "
        f"fetch it first: git fetch origin {branch}:refs/remotes/origin/{branch}"
    )


#: the most commit messages read for ``Ftbench-Accept`` trailers
MESSAGES_MAX = 500


def messages(root: Path, since: str | None) -> list[tuple[str, str]]:
    """``(sha, message)`` of the commits in ``since..HEAD`` (newest first, at most
    :data:`MESSAGES_MAX`), or of ``HEAD`` alone when ``since`` is None or not in this clone.
    Empty outside a git repository."""
    known = since is not None and bool(
        run_git(root, "rev-parse", "--verify", "--quiet", f"{since}^{{commit}}", check=False)
    )
    span = [f"{since}..HEAD"] if known else ["-1", "HEAD"]
    out = run_git(
        root, "log", f"--max-count={MESSAGES_MAX}", "--format=%H%x00%B%x1e", *span, check=False
    )
    found = []
    for record in (out or "").split("\x1e"):
        sha, _, message = record.strip("\n").partition("\x00")
        if sha:
            found.append((sha, message))
    return found


def base_of(root: Path, commit: str) -> tuple[str, str]:
    """The commit to measure ``HEAD`` against when confirming against ``commit``: itself when
    it is an ancestor of ``HEAD``, else their merge-base (what ``HEAD``'s branch changed);
    with how it was found. A :class:`SetupError` when ``commit`` is not in this clone."""
    found = resolve_ref(root, commit)
    if run_git(root, "merge-base", "--is-ancestor", found.commit, "HEAD", check=False) is not None:
        return found.commit, f"the baseline's commit {found.commit[:12]}"
    base = run_git(root, "merge-base", "HEAD", found.commit, check=False)
    if not base:
        raise SetupError(f"HEAD and the baseline's commit {found.commit[:12]} share no history")
    return base, f"the merge-base of HEAD and the baseline's commit {found.commit[:12]}"


@contextlib.contextmanager
def checkout(root: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of ``commit`` (its submodules too) in a new temporary directory,
    locked with this process as its owner, removed on exit; stale ones are removed first."""
    remove_stale(root)
    parent = Path(tempfile.mkdtemp(prefix=PREFIX))
    tree = parent / "base"
    try:
        run_git(root, "worktree", "add", "--detach", "--force", str(tree), commit)
        run_git(root, "worktree", "lock", "--reason", owner(), str(tree))
        submodules.check_out(root, tree)
        yield tree
    finally:
        _discard(root, tree)
        run_git(root, "worktree", "prune", check=False)


#: an ftbench worktree is ``<temporary directory>/ftbench-ab-XXXXXXXX/base``
PREFIX = "ftbench-ab-"
_OWNER = re.compile(r"ftbench pid (\d+) on (.*) started (\S+)")
#: an unlocked ftbench worktree older than this is stale (killed between add and lock, or
#: left by ftbench 0.3, which did not lock them)
UNLOCKED_STALE_S = 15 * 60.0


def owner(pid: int | None = None) -> str:
    """The lock reason naming a worktree's owner: pid, host and the process's start time
    (so a pid used again by another process is not taken for the owner)."""
    pid = os.getpid() if pid is None else pid
    return f"ftbench pid {pid} on {os.uname().nodename} started {_started(pid)}"


def _started(pid: int) -> str:
    """When the process started (Linux: clock ticks after boot), ``-`` where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError, UnicodeDecodeError):
        return "-"


def _gone(reason: str) -> bool:
    """Whether the owner named by a lock ``reason`` is gone. Only an ftbench lock of this
    host can be gone: another host's (a container) or a foreign lock is never judged."""
    found = _OWNER.fullmatch(reason.strip())
    if found is None or found[2] != os.uname().nodename:
        return False
    pid, started = int(found[1]), found[3]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    now = _started(pid)
    return "-" not in (started, now) and now != started


def remove_stale(root: Path) -> list[Path]:
    """Remove the ftbench worktrees of ``root`` whose run is gone (its lock names a process
    that no longer lives; or no lock and older than :data:`UNLOCKED_STALE_S`); those
    removed. A worktree of a live run is never touched."""
    common = run_git(root, "rev-parse", "--git-common-dir", check=False)
    if not common:
        return []
    removed = []
    for entry in sorted((root / common / "worktrees").glob("*")):
        try:
            tree = Path((entry / "gitdir").read_text(encoding="utf-8").strip()).parent
        except (OSError, UnicodeDecodeError):
            continue
        if tree.name != "base" or not tree.parent.name.startswith(PREFIX):
            continue  # not ftbench's
        try:
            reason = (entry / "locked").read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            reason = None
        except OSError:
            continue
        if reason is not None and not _gone(reason):
            continue
        if reason is None and _age(tree.parent) < UNLOCKED_STALE_S:
            continue  # being set up right now
        _discard(root, tree)
        removed.append(tree)
    if removed:
        run_git(root, "worktree", "prune", check=False)
    return removed


def _age(folder: Path) -> float:
    try:
        return time.time() - folder.lstat().st_mtime
    except OSError:
        return float("inf")  # gone already


def _discard(root: Path, tree: Path) -> None:
    """Unregister and delete an ftbench worktree and its temporary folder (no link
    followed: ``git worktree remove``, ``rmtree``)."""
    run_git(root, "worktree", "unlock", str(tree), check=False)
    run_git(root, "worktree", "remove", "--force", "--force", str(tree), check=False)
    if tree.parent.name.startswith(PREFIX):
        shutil.rmtree(tree.parent, ignore_errors=True)


def run_setup(command: str, tree: Path, env: Mapping[str, str] | None = None) -> None:
    """The tier's untimed ``setup`` command in ``tree`` (``/bin/sh -c``); failing is a setup
    error naming the command's last line of output."""
    try:
        proc = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=tree,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=3600,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise SetupError(f"setup command failed in {tree}: {exc}") from None
    if proc.returncode != 0:
        last = ((proc.stderr or proc.stdout).strip().splitlines() or [""])[-1]
        raise SetupError(
            f"setup command exited with code {proc.returncode} in {tree}"
            + (f": {scrub(last)[:200]}" if last else "")
        )
