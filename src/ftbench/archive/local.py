"""The local archive: a directory holding reports under their archive keys.

* Writes are atomic: the bytes go to a temporary file in the destination directory, then are
  hard-linked into place (``os.link`` fails when the name exists, so a key is never
  overwritten, even by a concurrent process); where hard links are unsupported the fallback is
  ``os.replace``, which is still atomic and, since a key embeds its content digest, can only
  replace a file with identical bytes.
* Pending uploads are marker files in ``<root>/.pending/``: empty and named by the URL-quoted
  key, or, for a key whose quoted form is too long for a file name (a long ``S3_PREFIX``),
  named ``h-<sha256 of the key>`` and holding the key.
* A file-system failure (permissions, a full disk, a file where a directory should be) is a
  :class:`~ftbench.errors.SetupError` naming the archive, never a bare ``OSError``.
* Nothing is written or removed through a symbolic link between the archive's anchor (the
  repository root, or the archive directory the user named outside it) and the file
  (:mod:`ftbench.paths`): such a link is an :class:`~ftbench.errors.UnsafePathError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote

from ftbench import paths
from ftbench.archive import ARCHIVE_DIR_ENV
from ftbench.archive.s3config import PENDING_DIR
from ftbench.errors import SetupError

DEFAULT_ARCHIVE_DIR = Path(".firsttry") / "archive"
DEFAULT_PREFIX = "benchmarks"
#: Longest marker file name (most file systems allow 255 bytes); longer keys are hashed.
MAX_MARKER_NAME = 200
HASHED = "h-"


def default_archive_dir(repo_root: Path, archive_dir: Path | str | None = None) -> Path:
    """``archive_dir`` (``--archive-dir``), else ``$FTBENCH_ARCHIVE_DIR``, else
    ``<repo_root>/.firsttry/archive``; relative paths are taken from ``repo_root``."""
    chosen: Path | str | None = archive_dir
    if not chosen:
        chosen = os.environ.get(ARCHIVE_DIR_ENV, "").strip() or None
    path = Path(chosen).expanduser() if chosen else DEFAULT_ARCHIVE_DIR
    if not path.is_absolute():
        path = Path(repo_root) / path
    return path


def check_key(key: str) -> str:
    """A key is a relative POSIX path without empty, ``.`` or ``..`` parts."""
    parts = PurePosixPath(key).parts
    if (
        not key
        or key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(p in ("", ".", "..") for p in key.split("/"))
        or not parts
        or parts[0] == PENDING_DIR
    ):
        raise SetupError(f"invalid archive key: {key!r}")
    return key


@contextlib.contextmanager
def _fs_errors(action: str, where: Path) -> Iterator[None]:
    """Turn an ``OSError`` into a one-line :class:`SetupError` (exit 5)."""
    try:
        yield
    except OSError as exc:
        raise SetupError(
            f"cannot {action} the local archive {where}: {exc.strerror or exc}"
        ) from exc


class LocalArchive:
    """An :class:`~ftbench.archive.base.ArchiveStore` on the local file system."""

    name = "local"

    def __init__(
        self, root: Path, prefix: str = DEFAULT_PREFIX, *, anchor: Path | None = None
    ) -> None:
        self.root = Path(root)
        self.prefix = prefix.strip("/")
        #: where the no-link walk to what it writes starts (default: ``root`` itself)
        self.anchor = self.root if anchor is None else Path(anchor)

    def __repr__(self) -> str:
        return f"LocalArchive(root={str(self.root)!r}, prefix={self.prefix!r})"

    def path_of(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    # -- ArchiveStore ---------------------------------------------------------------------

    def put(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None) -> bool:
        """Write ``data`` under ``key`` once; False when the key already exists."""
        dest = self.path_of(key)
        with _fs_errors("write", self.root):
            return self._put(paths.directory(dest.parent, self.anchor) / dest.name, data)

    @staticmethod
    def _put(dest: Path, data: bytes) -> bool:
        if dest.exists():
            return False
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, paths.READABLE)
            try:
                os.link(tmp, dest)
            except FileExistsError:
                return False
            except OSError:  # no hard links here (some network/overlay file systems)
                if dest.exists():
                    return False
                os.replace(tmp, dest)
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def list_keys(self, repo_id: str, limit: int | None = None) -> list[str]:
        """Keys of ``repo_id``'s reports, newest first (keys start with the timestamp)."""
        base = "/".join(p for p in (self.prefix, repo_id) if p)
        directory = self.root.joinpath(*base.split("/"))
        with _fs_errors("read", self.root):
            try:
                with os.scandir(directory) as it:
                    names = [
                        e.name
                        for e in it
                        if e.name.endswith(".json") and not e.name.startswith(".") and e.is_file()
                    ]
            except (FileNotFoundError, NotADirectoryError):
                return []
        names.sort(reverse=True)
        if limit is not None:
            names = names[: max(limit, 0)]
        return [f"{base}/{n}" for n in names]

    def get(self, key: str) -> bytes | None:
        path = self.path_of(key)
        with _fs_errors("read", self.root):
            try:
                return path.read_bytes()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                return None

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    def check_readable(self) -> None:
        """Raise :class:`SetupError` when the archive cannot be read: its path (or the
        prefix directory in it) is not a directory, lies under a file, or cannot be listed.
        An archive not created yet is readable (and empty)."""
        for path in (self.root, self.root.joinpath(*self.prefix.split("/"))):
            try:
                with os.scandir(path):
                    pass
            except FileNotFoundError:
                return
            except NotADirectoryError:
                what = "is not a directory" if path.exists() else "lies under a file"
                raise SetupError(
                    f"cannot read the local archive {self.root}: {path} {what}"
                ) from None
            except OSError as exc:
                raise SetupError(
                    f"cannot read the local archive {self.root}: {exc.strerror or exc}"
                ) from None

    # -- other helpers ----------------------------------------------------------------------

    def repo_ids(self) -> list[str]:
        """Repository ids with at least one directory under the prefix."""
        directory = self.root.joinpath(*self.prefix.split("/")) if self.prefix else self.root
        with _fs_errors("read", self.root):
            try:
                with os.scandir(directory) as it:
                    return sorted(e.name for e in it if e.is_dir() and not e.name.startswith("."))
            except (FileNotFoundError, NotADirectoryError):
                return []

    def all_keys(self) -> list[str]:
        """Every report key under the prefix, oldest first within each repository."""
        keys: list[str] = []
        for rid in self.repo_ids():
            keys.extend(reversed(self.list_keys(rid)))
        return keys

    # -- pending uploads --------------------------------------------------------------------

    @property
    def pending_dir(self) -> Path:
        return self.root / PENDING_DIR

    def _marker(self, key: str) -> Path:
        name = quote(key, safe="")
        if len(name) > MAX_MARKER_NAME:
            name = HASHED + hashlib.sha256(key.encode()).hexdigest()
        return self.pending_dir / name

    def mark_pending(self, key: str) -> None:
        """Remember that ``key`` still has to be uploaded (idempotent)."""
        check_key(key)
        marker = self._marker(key)
        with _fs_errors("write", self.root):
            paths.directory(self.pending_dir, self.anchor)
            if marker.name.startswith(HASHED):
                if not marker.exists():  # the key inside, written whole or not at all
                    paths.write(marker, key, self.anchor)
                return
            with contextlib.suppress(FileExistsError):
                marker.touch(exist_ok=False)

    def pending_keys(self) -> list[str]:
        """Keys waiting for upload, oldest first (by key, i.e. by report time)."""
        with _fs_errors("read", self.root):
            try:
                with os.scandir(self.pending_dir) as it:
                    names = [e.name for e in it if not e.name.startswith(".")]
            except (FileNotFoundError, NotADirectoryError):
                return []
        keys = []
        for name in names:
            key = unquote(name)
            if name.startswith(HASHED):
                with _fs_errors("read", self.root), contextlib.suppress(FileNotFoundError):
                    key = (self.pending_dir / name).read_text(encoding="utf-8", errors="replace")
            try:
                check_key(key)
            except SetupError:
                continue
            keys.append(key)
        keys.sort(key=lambda k: (k.rsplit("/", 1)[-1], k))
        return keys

    def clear_pending(self, key: str) -> None:
        with _fs_errors("write", self.root):
            paths.remove(self._marker(key), self.anchor)
