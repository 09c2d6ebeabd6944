"""Where a run's logs live: a folder of its own under ``bench_artifacts/``.

``bench_artifacts/run-<UTC time>-<pid>/<phase>-<NN>-<step>.log``: each run writes only into its
own folder, so concurrent runs in one directory never delete or overwrite each other's logs.
A run holds an exclusive ``flock`` on ``.lock`` in its folder while it runs; at its start it
removes every folder whose lock it can take (a finished or killed run: the kernel drops the
lock with the process) and whatever else lies in ``bench_artifacts/`` (the flat layout of
ftbench 0.2 and earlier). The logs of the last run therefore stay until the next run starts.

Logs are created as samples run, a batch (:data:`BATCH` samples) at a time, and the header-only
log of a sample that did not run (a failure stopped the phase, Ctrl-C) is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from ftbench.errors import SetupError

#: Samples the executor runs back to back with their logs created beforehand: the logs (and
#: memory) of a batch, not of a whole phase, exist before its samples run.
BATCH = 256
#: A plan above this many samples gets a warning before it starts.
HUGE_PLAN = 10_000
_LOCK = ".lock"
_NEW = ".new-"  # a run folder being set up (renamed once its lock is held)
_SETUP_GRACE_S = 60.0

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS: ftbench does not measure there
    fcntl = None  # type: ignore[assignment]


def _locked_by_another(folder: Path) -> bool:
    """Whether a running ftbench holds ``folder``'s lock (False when there is no lock)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(folder / _LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the lock just taken
    return False


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class RunLogs:
    """One run's log folder under ``artifacts``; :meth:`start` makes it, :meth:`close` lets
    the next run remove it."""

    def __init__(self, artifacts: Path) -> None:
        self.artifacts = artifacts
        self.folder: Path | None = None
        self._fd: int | None = None

    def start(self) -> Path:
        """Remove what finished runs left, create this run's folder (locked), return it.
        A :class:`~ftbench.errors.SetupError` when ``artifacts`` cannot be written."""
        try:
            return self._start()
        except OSError as exc:
            raise SetupError(
                f"cannot write the logs folder {self.artifacts}: {exc.strerror or exc}"
            ) from None

    def _start(self) -> Path:
        self.close()
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self._remove_finished()
        setup = Path(tempfile.mkdtemp(prefix=_NEW, dir=self.artifacts))
        fd = os.open(setup / _LOCK, os.O_WRONLY | os.O_CREAT, 0o644)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = self.artifacts / f"run-{stamp}-{os.getpid()}"
        if folder.exists():  # a second run of this process within the same second
            folder = self.artifacts / f"run-{stamp}-{os.getpid()}-{setup.name[len(_NEW) :]}"
        os.rename(setup, folder)
        self.folder = folder
        return folder

    def _remove_finished(self) -> None:
        now = time.time()
        with os.scandir(self.artifacts) as entries:
            found = [(Path(e.path), e.name, e.is_dir(follow_symlinks=False)) for e in entries]
        for path, name, is_dir in found:
            if is_dir and _locked_by_another(path):
                continue  # a run in progress
            if name.startswith(_NEW):
                with contextlib.suppress(OSError):
                    if now - path.stat().st_mtime < _SETUP_GRACE_S:
                        continue  # being set up right now (not locked yet)
            _remove(path)

    def shown(self, root: Path) -> str:
        """The folder as reports show it: relative to the repository when inside it."""
        folder = self.folder or self.artifacts
        try:
            return str(folder.resolve().relative_to(root))
        except ValueError:
            return str(folder)

    def close(self) -> None:
        """Release the lock: the folder stays, for the next run to remove."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def discard_logs(paths: Iterable[Path]) -> None:
    """Remove logs created for samples that did not run (they hold only a header)."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def huge_plan_warning(samples: int) -> str | None:
    """A warning for a plan of more than :data:`HUGE_PLAN` samples, or None."""
    if samples <= HUGE_PLAN:
        return None
    return (
        f"[WARN] {samples:,} samples planned: one log file each (kept until the next run) "
        "and one entry each in the report; Ctrl-C stops the run and keeps what was measured"
    )
