"""The measured tree never changes: the tracked files checked between samples.

A benchmark must measure the same code in every sample. Before the first sample the runner
takes the state of the repository's tracked files (:class:`TreeGuard`): ``HEAD``, the index
entries that differ from it, and the content of every file that differs from the index (one
``git status`` per check; ``git hash-object`` of the changed files, when there are some). After
each sample (each step of a sample run on its own; each batch of a batched phase) it takes it
again, outside of every timing. A command that changed a tracked file stops the run
(:func:`changed_error`), unless its tier allows writes (``writes = "restore"``): then the
files are put back as they were before the first sample (``git restore`` from a
``git stash create`` snapshot, which moves no ref and leaves the index alone) after every sample
that changed them, and the report says how often.

ftbench's own output (``.firsttry/``) is not part of the measured tree. Outside a git work
tree nothing is checked (the report says so). Git is asked with ``GIT_OPTIONAL_LOCKS=0``: a
check never rewrites the index.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ftbench.errors import EXIT_COMMAND_FAILED, FtbenchError, SetupError

#: what a tier may do to the tracked files: ``refuse`` (a change stops the run) or
#: ``restore`` (put back after every sample that changed them)
WRITES = ("refuse", "restore")
_STATUS = ("--untracked-files=no", "--no-renames", "--", ".", ":(exclude).firsttry")
#: files named in a message before "and N more"
SHOWN = 5
#: changed files the report keeps
KEPT = 100


@dataclass(frozen=True)
class State:
    """The tracked files: HEAD, and per changed path its index entry and worktree content."""

    head: str
    entries: dict[str, str]

    def changed(self, other: State) -> list[str]:
        """The paths whose state differs between the two (HEAD included as ``HEAD``)."""
        names = sorted(
            p
            for p in set(self.entries) | set(other.entries)
            if self.entries.get(p) != other.entries.get(p)
        )
        return (["HEAD"] if self.head != other.head else []) + names


@dataclass
class TreeStats:
    """What the guard did in one run (the report's ``tree`` block)."""

    checked: bool = False
    checks: int = 0
    seconds: float = 0.0
    restores: int = 0
    changed: list[str] = field(default_factory=list)


class TreeChanged(FtbenchError):
    """A command changed the tracked files (and they were not put back)."""

    exit_code = EXIT_COMMAND_FAILED


class TreeGuard:
    """Checks (and, with ``restore``, puts back) the tracked files of ``root``."""

    def __init__(self, root: Path, writes: str = "refuse") -> None:
        self.root = root
        self.writes = writes
        self.stats = TreeStats()
        self._env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
        self._start: State | None = None
        self._source: str | None = None  # restore: the snapshot's commit (or HEAD)

    def start(self) -> None:
        """Take the state every later check compares with (before the first sample)."""
        self._start = self._state()
        self.stats.checked = self._start is not None
        if self._start is not None and self.writes == "restore":
            self._source = self._git("stash", "create").strip() or self._start.head

    def check(self, what: str) -> FtbenchError | None:
        """After ``what`` ran (``step 'x' in warm sample 3``): None when the tracked files
        are as before the first sample (or were put back); else the error that stops the run."""
        if self._start is None:
            return None
        now = self._state()
        if now is None:
            return None
        changed = self._start.changed(now)
        if not changed:
            return None
        if self.writes == "restore" and "HEAD" not in changed and self._restore(now, changed):
            return None
        self.stats.changed = changed[:KEPT]
        return changed_error(what, changed, restoring=self.writes == "restore")

    def _restore(self, now: State, changed: list[str]) -> bool:
        """Put the changed files back; False when the index changed too (not put back)."""
        assert self._start is not None and self._source is not None
        if any(_index(self._start.entries.get(p)) != _index(now.entries.get(p)) for p in changed):
            return False
        self._git("restore", f"--source={self._source}", "--worktree", "--", *changed)
        self.stats.restores += 1
        after = self._state()
        return after is not None and not self._start.changed(after)

    def _state(self) -> State | None:
        started = time.perf_counter()
        try:
            out = self._git("status", "--porcelain=v2", "-z", "--branch", *_STATUS)
        except SetupError:
            return None
        head, entries, present = "", {}, []
        for record in out.split("\0"):
            if record.startswith("# branch.oid "):
                head = record.split()[-1]
            elif record[:2] in ("1 ", "u "):
                fields = record.split(" ", 8 if record[0] == "1" else 10)
                path = fields[-1]
                entries[path] = f"{fields[1]} {fields[4]} {fields[7]}"  # XY, index mode, hI
                file = self.root / path
                if file.is_symlink():
                    entries[path] += f" link:{os.readlink(file)}"
                elif file.is_file():
                    present.append(path)
        if present:
            blobs = self._git("hash-object", "--no-filters", "--", *present).split()
            for path, blob in zip(present, blobs, strict=False):
                entries[path] += f" {blob}"
        self.stats.checks += 1
        self.stats.seconds += time.perf_counter() - started
        return State(head, entries)

    def _git(self, *args: str) -> str:
        try:
            proc = subprocess.run(
                ["git", "-C", str(self.root), *args],
                capture_output=True,
                text=True,
                env=self._env,
                stdin=subprocess.DEVNULL,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SetupError(f"git {args[0]}: {exc}") from None
        if proc.returncode != 0:
            raise SetupError(f"git {args[0]}: {proc.stderr.strip()[:200]}")
        return proc.stdout


def _index(entry: str | None) -> str | None:
    """The index part of a state entry (the staged letter, mode, index hash); None when the
    index holds what HEAD holds (no entry, or nothing staged)."""
    if entry is None or entry[0] == ".":
        return None
    xy, *rest = entry.split(" ")
    return " ".join([xy[0], *rest[:2]])


def changed_error(what: str, changed: list[str], *, restoring: bool) -> FtbenchError:
    """One line: which tracked files ``what`` changed, and what to do."""
    names = ", ".join(changed[:SHOWN]) + (
        f" and {len(changed) - SHOWN} more" if len(changed) > SHOWN else ""
    )
    if restoring:
        why = "and they could not be put back (it changed the index or HEAD)"
    else:
        why = (
            "a benchmark must measure the same code in every sample: run the tool's "
            "check-only mode (ruff check without --fix, black --check), or set "
            'writes = "restore" on the tier to put the files back after every sample; '
            "ftbench left them as the command wrote them (git diff shows what changed)"
        )
    return TreeChanged(f"{what} changed tracked files: {names}; {why}")
