"""Where ftbench may write and delete: below an anchor, never through a symbolic link.

Every file ftbench writes or deletes lies below an *anchor*: the repository root (resolved
once, so a repository reached through a link is fine), or a place the user named outside the
repository (``--out-dir``, ``--archive-dir``, ``FTBENCH_ARCHIVE_DIR``), resolved as named
(:func:`anchor`). Between the anchor and the file every directory must be a real directory: a
symbolic link there is refused with :class:`~ftbench.errors.UnsafePathError` (one line, exit
5), wherever it points. A link that points inside the repository is refused too:
``.firsttry/bench_artifacts -> ../src`` would otherwise have the logs' clean-up empty ``src``.

The checks cannot be raced into following a link: the walk opens each directory with
``O_NOFOLLOW | O_DIRECTORY`` relative to its parent's descriptor, and removal works on the
parent's descriptor (``unlink``, ``shutil.rmtree`` with ``dir_fd``), so a link is removed, not
its target, and nothing below a removed directory is reached through a link. Writes go to the
path :func:`directory` returns right after the walk (a link planted between the two by a
process running as the same user could redirect one write; such a process can delete the
files itself).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ftbench.errors import UnsafePathError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def anchor(place: Path | str, repo_root: Path | str) -> Path:
    """Where the checks of paths below ``place`` start: the real repository root when
    ``place`` lies in the repository as named (a link on the way is then refused by the
    walk), else ``place`` itself, resolved (a place the user named outside the repository)."""
    root = Path(os.path.realpath(repo_root))
    if _parts(place, root) is not None:
        return root
    return Path(os.path.realpath(place))


def _parts(path: Path | str, base: Path) -> tuple[str, ...] | None:
    """The names from the real directory ``base`` down to ``path``, or None when ``path``
    is not below ``base``. Lexically when ``path`` is written below ``base``; else the first
    prefix of ``path`` that resolves into ``base`` (``/tmp/link/.firsttry`` with ``/tmp/link``
    the repository root) gives where the names start."""
    absolute = Path(os.path.abspath(path))
    with contextlib.suppress(ValueError):
        return absolute.relative_to(base).parts
    names = absolute.parts
    for end in range(1, len(names) + 1):
        real = Path(os.path.realpath(Path(*names[:end])))
        if real == base or base in real.parents:
            return real.relative_to(base).parts + names[end:]
    return None


def _shown(path: Path) -> str:
    """A path for a one-line message: characters that are not printable escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))


def _refuse(where: Path, why: str) -> UnsafePathError:
    return UnsafePathError(f"refusing {_shown(where)}: {why}")


def _names(path: Path | str, base: Path) -> tuple[str, ...]:
    names = _parts(path, base)
    if names is None:
        where = Path(os.path.abspath(path))
        raise _refuse(where, f"it is outside {_shown(base)}, where ftbench writes and deletes")
    return names


def _open_below(fd: int, name: str, where: Path) -> int:
    """``name`` in the directory ``fd``, opened as a directory without following a link."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=fd)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise
        if stat.S_ISLNK(os.lstat(name, dir_fd=fd).st_mode):
            raise _refuse(
                where, "it is a symbolic link, and ftbench never writes or deletes through one"
            ) from None
        raise


@contextlib.contextmanager
def opened(path: Path | str, base: Path | str, *, create: bool = False) -> Iterator[int | None]:
    """The directory ``path`` (below the anchor ``base``) opened after a walk that refuses
    every link between them; None when it does not exist or a file is on the way
    (``create``: made, parents too; a file on the way is then ``NotADirectoryError``)."""
    real = Path(os.path.realpath(base))
    names = _names(path, real)
    if create:
        real.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(real, _DIR_FLAGS)
    except FileNotFoundError:
        yield None
        return
    try:
        where = real
        for name in names:
            where = where / name
            try:
                child = _open_below(fd, name, where)
            except (FileNotFoundError, NotADirectoryError) as exc:
                if not create:  # nothing there, or a file: no such directory
                    yield None
                    return
                if isinstance(exc, NotADirectoryError):
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=fd)
                child = _open_below(fd, name, where)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def directory(path: Path | str, base: Path | str) -> Path:
    """``path`` made (parents too) after refusing every link from the anchor ``base`` down;
    returns it written from the real anchor, so later writes pass only checked directories."""
    real = Path(os.path.realpath(base))
    with opened(path, real, create=True):
        pass
    return real.joinpath(*_names(path, real))


def check(path: Path | str, base: Path | str) -> None:
    """Refuse a link on the way from the anchor ``base`` to ``path`` (as far as it exists);
    creates nothing. For checking a place before a run starts."""
    with opened(path, base):
        pass


def remove(path: Path | str, base: Path | str, *, ignore_errors: bool = False) -> None:
    """Remove ``path`` (a file, a link or a directory tree) below the anchor ``base`` without
    following any link: a link on the way is refused, a link at ``path`` is removed itself.
    Nothing to do when it does not exist."""
    real = Path(os.path.realpath(base))
    names = _names(path, real)
    if not names:
        raise _refuse(real, "ftbench never removes the directory it writes in")
    with opened(real.joinpath(*names[:-1]), real) as fd:
        if fd is not None:
            remove_entry(fd, names[-1], ignore_errors=ignore_errors)


def remove_entry(dir_fd: int, name: str, *, ignore_errors: bool = False) -> None:
    """Remove ``name`` from the open directory ``dir_fd``: a directory with everything in it
    (links inside removed, never followed), anything else (a link too) unlinked."""
    try:
        st = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return
    try:
        if stat.S_ISDIR(st.st_mode):
            # the fd-based rmtree: it checks the directory it opens is the one it lstat-ed
            shutil.rmtree(name, ignore_errors=ignore_errors, dir_fd=dir_fd)
        else:
            os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except OSError:
        if not ignore_errors:
            raise


#: what every file ftbench writes for users to read gets (reports, charts, dashboards,
#: calibrations; archived reports too, ``archive/local.py``): readable by all, as a CI
#: artifact or a static host publishes it
READABLE = 0o644


def write(
    path: Path | str,
    data: str | bytes,
    base: Path | str | None = None,
    *,
    mode: int | None = READABLE,
) -> Path:
    """The one atomic writer: ``path`` whole or not at all (a temporary file in its
    directory, then a rename). Its directory is made after refusing every link from the
    anchor ``base`` down (without ``base``: a place the user named, made as named); a link at
    ``path`` is replaced, never followed. ``mode``: the file's permissions (None: an existing
    file's, else the umask's). Returns the path written. (An archived report is created once
    by a hard link instead: ``archive/local.py``.)"""
    path = Path(path)
    if base is None:
        path.parent.mkdir(parents=True, exist_ok=True)
    folder = directory(path.parent, path.parent if base is None else base)
    if mode is None:
        try:
            mode = os.stat(folder / path.name).st_mode & 0o777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, folder / path.name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return folder / path.name


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
