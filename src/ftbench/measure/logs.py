"""Where a run's logs live: a folder of its own under ``bench_artifacts/``.

``bench_artifacts/run-<UTC time>-<pid>/``: each run writes only into its own folder, so
concurrent runs in one directory never delete or overwrite each other's logs. A run holds an
exclusive ``flock`` on ``.lock`` in its folder while it runs; at its start it removes every
folder whose lock it can take (a finished or killed run: the kernel drops the lock with the
process) and whatever else lies in ``bench_artifacts/`` (the flat layout of ftbench 0.2 and
earlier). The logs of the last run therefore stay until the next run starts.
A folder holding the folder of a run in progress (``base/`` of an A/B run) is kept too.

No link is followed (:mod:`ftbench.paths`): a link on the way to ``bench_artifacts`` is
refused, and the clean-up removes what it finds through the folder's descriptor, a link as a
link.

A sample run on its own (a cold sample, a target of several steps, an A/B pair) gets a log per
step, ``<phase>-<NN>-<step>.log``, created with a header line naming it; the header-only log of
a sample that did not run (a failure stopped the phase, Ctrl-C) is removed. The samples of a
one-step warm or warm-up phase run back to back in batches of :data:`BATCH` and share one log
per batch, ``<phase>-<first>-<last>-<step>.log``: each sample's output follows its own header
line, written when it starts (creating a file per sample was most of ftbench's own cost per
sample, ``benchmarks/overhead.py``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ftbench import paths
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


def _locked_by_another(dir_fd: int, name: str) -> bool:
    """Whether a running ftbench holds the lock of the folder ``name`` in ``dir_fd`` (False
    when there is no lock)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(f"{name}/{_LOCK}", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the lock just taken
    return False


def _holds_a_run_in_progress(dir_fd: int, name: str) -> bool:
    """Whether ``name`` is, or directly holds, the folder of a run in progress."""
    if _locked_by_another(dir_fd, name):
        return True
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        with os.scandir(fd) as entries:
            inner = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
        return any(_locked_by_another(fd, n) for n in inner)
    finally:
        os.close(fd)


class RunLogs:
    """One run's log folder under ``artifacts``; :meth:`start` makes it, :meth:`close` lets
    the next run remove it."""

    def __init__(self, artifacts: Path, anchor: Path) -> None:
        self.artifacts = artifacts
        #: where the walk to ``artifacts`` starts (ftbench.paths.anchor)
        self.anchor = anchor
        self.folder: Path | None = None
        self._fd: int | None = None

    def start(self) -> Path:
        """Remove what finished runs left, create this run's folder (locked), return it.
        A :class:`~ftbench.errors.SetupError` when ``artifacts`` cannot be written (an
        :class:`~ftbench.errors.UnsafePathError` when a link is on the way)."""
        try:
            return self._start()
        except OSError as exc:
            raise SetupError(
                f"cannot write the logs folder {self.artifacts}: {exc.strerror or exc}"
            ) from None

    def _start(self) -> Path:
        self.close()
        with paths.opened(self.artifacts, self.anchor, create=True) as fd:
            assert fd is not None
            self._remove_finished(fd)
            setup = _NEW + secrets.token_hex(6)
            os.mkdir(setup, 0o700, dir_fd=fd)  # as tempfile.mkdtemp
            lock = os.open(
                f"{setup}/{_LOCK}", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644, dir_fd=fd
            )
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            self._fd = lock
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            name = f"run-{stamp}-{os.getpid()}"
            with contextlib.suppress(FileNotFoundError):
                os.lstat(name, dir_fd=fd)  # a second run of this process within the second
                name = f"{name}-{setup[len(_NEW) :]}"
            os.rename(setup, name, src_dir_fd=fd, dst_dir_fd=fd)
        self.folder = paths.directory(self.artifacts, self.anchor) / name
        return self.folder

    def _remove_finished(self, dir_fd: int) -> None:
        now = time.time()
        with os.scandir(dir_fd) as entries:
            found = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
        for name, is_dir in found:
            if is_dir and _holds_a_run_in_progress(dir_fd, name):
                continue  # a run in progress
            if name.startswith(_NEW):
                with contextlib.suppress(OSError):
                    if now - os.lstat(name, dir_fd=dir_fd).st_mtime < _SETUP_GRACE_S:
                        continue  # being set up right now (not locked yet)
            paths.remove_entry(dir_fd, name, ignore_errors=True)

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


#: Logs are read (and, when they hold a secret, rewritten) this many bytes at a time.
MASK_CHUNK = 1 << 20
MASK = b"***"


def mask_logs(logs: Iterable[Path], values: Sequence[bytes]) -> int:
    """Replace every occurrence of ``values`` (those longer than ``***``) in the ``logs``
    with ``***``, after their commands ran (the fork server writes a command's output straight
    to its log); the number of logs changed. A log is read once, a chunk at a time; one that
    holds a secret is rewritten in place (the masked text is never longer, so the rewrite
    never overtakes the reading; no rename, no truncation to zero: ext4 does not flush it),
    in memory a chunk at a time whatever its size."""
    values = [v for v in values if len(v) > len(MASK)]
    if not values:
        return 0
    pattern = re.compile(b"|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
    overlap = max(map(len, values)) - 1
    changed = 0
    for log in logs:
        try:
            fd = os.open(log, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue  # a log that is gone (or was replaced by a link) is not ours to fix
        try:
            if _holds(fd, values, overlap):
                _rewrite(fd, values, pattern, overlap)
                changed += 1
        finally:
            os.close(fd)
    return changed


def _holds(fd: int, values: Sequence[bytes], overlap: int) -> bool:
    carry, offset = b"", 0
    while chunk := os.pread(fd, MASK_CHUNK, offset):
        offset += len(chunk)
        buf = carry + chunk
        if any(v in buf for v in values):
            return True
        carry = buf[max(0, len(buf) - overlap) :]
    return False


def _rewrite(fd: int, values: Sequence[bytes], pattern: re.Pattern[bytes], overlap: int) -> None:
    """Mask the open log in place. A match that starts ``overlap`` bytes before the end of
    what was read is complete in it; what follows waits for the next chunk."""
    carry, read, written = b"", 0, 0
    while True:
        chunk = os.pread(fd, MASK_CHUNK, read)
        read += len(chunk)
        buf = carry + chunk
        if not chunk:
            out, carry = pattern.sub(MASK, buf), b""
        elif not any(v in buf for v in values):
            cut = max(0, len(buf) - overlap)
            out, carry = buf[:cut], buf[cut:]
        else:
            safe, done = len(buf) - overlap, 0
            pieces: list[bytes] = []
            for match in pattern.finditer(buf):
                if match.start() >= safe:
                    break
                pieces += (buf[done : match.start()], MASK)
                done = match.end()
            cut = max(done, safe)
            pieces.append(buf[done:cut])
            out, carry = b"".join(pieces), buf[cut:]
        while out:  # written + len(carry) <= read: never over what is still to be read
            n = os.pwrite(fd, out, written)
            written += n
            out = out[n:]
        if not chunk:
            break
    os.ftruncate(fd, written)


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
