"""Reading the archive index, and extending it from the reports it lacks.

The index (``{prefix}/index/v1/{runs,samples,reports}/repo=R/month=YYYY-MM/*.jsonl.gz``,
``docs/archive.md``) is derived data: every reader compares it with the report keys it lists
and derives the rows of the reports it lacks from the reports themselves (then, when
``refresh`` is on, writes them as a new segment). Deleting the index loses nothing.

* :func:`run_lines`: the ``runs`` lines of a repository in one store (what ``trend``,
  ``archive list`` and the dashboard read);
* :class:`PackReader`: reports by key out of the ``reports`` table, newest segments first
  (what a baseline lookup reads: one object for up to :data:`~index_store.SEAL` reports).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from ftbench.archive import index_rows as rows
from ftbench.archive.index_rows import Segment, compact_ts
from ftbench.archive.index_store import (
    FETCH_WORKERS,
    IndexStore,
    _lines,
    backend_of,
    line_key,
)
from ftbench.errors import UnsafePathError, one_line
from ftbench.report.model import Report

#: Bytes every ``runs`` line of a phase as a whole, wall time, contains (a cheap pre-filter
#: before parsing: a trend reads only these).
PHASE_WALL = b'"step":null,"metric":"wall_s"'


class Store(Protocol):
    """What the index needs of an archive store (``archive.base.ArchiveStore``)."""

    name: str

    def list_keys(self, repo_id: str, limit: int | None = None) -> list[str]: ...

    def get(self, key: str) -> bytes | None: ...


def index_of(store: Store) -> IndexStore | None:
    """The index of ``store``, or None for a store that cannot hold one."""
    backend = backend_of(store)
    if backend is None:
        return None
    return IndexStore(backend, str(getattr(store, "prefix", "")))


@dataclass
class RunLines:
    """A repository's ``runs`` lines in one store: those kept by the filter, by key."""

    keys: list[str]  #: every listed report key, newest first
    lines: dict[str, list[bytes]] = field(default_factory=dict)
    indexed: int = 0  #: keys found in the index
    derived: int = 0  #: keys derived from their reports (the index lacked them)
    objects: int = 0  #: objects read (index segments and reports)


#: Reports the index lacks are read and indexed in chunks of this many: whatever a command
#: managed to read before its S3 deadline (``S3_TOTAL_TIMEOUT``) is indexed, and the next
#: reader goes on from there.
CHUNK = 512


def _fetch(store: Store, keys: Sequence[str]) -> list[bytes | BaseException | None]:
    """Each key's bytes, None when missing, or the exception its read raised."""

    def one(key: str) -> bytes | BaseException | None:
        try:
            return store.get(key)
        except Exception as exc:
            return exc

    if getattr(store, "name", "") == "local" or len(keys) < 2:
        return [one(k) for k in keys]
    with ThreadPoolExecutor(max_workers=FETCH_WORKERS * 2) as pool:
        return list(pool.map(one, keys))


def run_lines(
    store: Store,
    repo_id: str,
    notes: list[str],
    *,
    keep: Sequence[bytes] | None = None,
    refresh: bool = True,
    take: Callable[[str, list[bytes]], object] | None = None,
) -> RunLines:
    """The ``runs`` lines of ``repo_id``'s reports in ``store``: those containing one of the
    byte strings ``keep`` (None: every line).

    With ``take``, each report's lines are handed to ``take(key, lines)`` as soon as their
    segment (or chunk of reports) is read, and not kept in :attr:`RunLines.lines`: a reader of
    a long history then holds one segment's lines at a time, not the whole history's.

    Reports missing from the index are read and their rows derived; with ``refresh`` they are
    also written to the index (a failure to write is a note). Rows of keys no longer listed
    (deleted reports) are left out.
    """
    keys = store.list_keys(repo_id)
    out = RunLines(keys=keys)
    listed = set(keys)
    ix = index_of(store)
    seen: set[str] = set()
    if ix is not None:
        try:
            segs = ix.segments(repo_id)
            blobs = ix.read_many(segs, "runs")
        except Exception as exc:
            notes.append(
                f"index of {store.name} unreadable, read from the reports: {one_line(exc)}"
            )
            segs, blobs = [], []
        out.objects += len(segs)
        for blob in blobs:
            if blob is None:
                continue
            text = gzip.decompress(blob)
            # in C, over the whole segment: every key it holds, then the lines asked for
            mine = {k.decode() for k in _KEY.findall(text)}
            fresh = mine - seen  # keys held by a newer segment too: a compaction in progress
            found: dict[str, list[bytes]] = {}
            for line in _lines_with(text, keep):
                key = line_key(line)
                if key in fresh and key in listed:
                    found.setdefault(key, []).append(line)
            _hand(out, found, take)
            seen |= mine
    missing = [k for k in keys if k not in seen]
    out.indexed = len(listed) - len(missing)
    if not missing:
        return out
    unread: list[str] = []
    for start in range(0, len(missing), CHUNK):
        chunk = missing[start : start + CHUNK]
        items: list[tuple[str, bytes, Report]] = []
        derived: dict[str, list[bytes]] = {}
        for key, data in zip(chunk, _fetch(store, chunk), strict=True):
            out.objects += 1
            if isinstance(data, BaseException):
                unread.append(f"{key}: {one_line(data)}")
                continue
            if data is None:
                continue
            try:
                report = Report.from_json(data, key)
            except Exception as exc:
                notes.append(f"could not read {key} from {store.name}: {one_line(exc)}")
                continue
            items.append((key, data, report))
            for line in _lines(rows.run_rows(key, report)):
                if keep is None or any(k in line for k in keep):
                    derived.setdefault(key, []).append(line)
        _hand(out, derived, take)
        out.derived += len(items)
        if refresh and ix is not None and items:
            try:
                ix.add_reports(repo_id, items)
            except Exception as exc:
                notes.append(f"could not extend the index of {store.name}: {one_line(exc)}")
                refresh = False
    if unread:
        notes.append(
            f"could not read {len(unread)} report(s) from {store.name}, left out "
            f"(first: {unread[0]})"
        )
    return out


def _hand(
    out: RunLines,
    found: dict[str, list[bytes]],
    take: Callable[[str, list[bytes]], object] | None,
) -> None:
    """Keep ``found`` (each key's lines, from one segment or chunk) or hand it to ``take``."""
    if take is None:
        out.lines.update(found)
        return
    for key, lines in found.items():
        take(key, lines)


def parse(lines: Sequence[bytes]) -> list[dict[str, Any]]:
    """Many lines in one ``json.loads`` call (much faster than one call each)."""
    if not lines:
        return []
    parsed: list[dict[str, Any]] = json.loads(b"[" + b",".join(lines) + b"]")
    return parsed


#: Every line starts with its key, and ``{"key":"`` appears nowhere else in a segment.
_KEY = re.compile(rb'\{"key":"([^"]*)"')


def _lines_with(text: bytes, keep: Sequence[bytes] | None) -> list[bytes]:
    """The lines of ``text`` containing one of ``keep`` (None: all), found with
    ``bytes.find`` (C speed) rather than line by line."""
    if keep is None:
        return [line for line in text.split(b"\n") if line]
    found: dict[int, bytes] = {}
    for needle in keep:
        pos = text.find(needle)
        while pos >= 0:
            start = text.rfind(b"\n", 0, pos) + 1
            end = text.find(b"\n", pos)
            end = len(text) if end < 0 else end
            found[start] = text[start:end]
            pos = text.find(needle, end)
    return [found[k] for k in sorted(found)]


class PackReader:
    """Reports of one repository out of the index's ``reports`` table.

    :meth:`get` loads segments lazily, newest first, only as far back as the asked report's
    time, so the newest reports cost one object per :data:`~index_store.SEAL` of them.
    """

    def __init__(self, ix: IndexStore, repo_id: str) -> None:
        self.ix = ix
        self.repo_id = repo_id
        self._segments: list[Segment] | None = None
        self._loaded: set[Segment] = set()
        self._lines: dict[str, bytes] = {}
        self.objects = 0

    def get(self, key: str, timestamp: str) -> Report | None:
        """The report under ``key`` (time ``timestamp``) if the index holds it; raises
        :class:`~ftbench.report.codec.ModelError` when the stored value is not a report."""
        stamp = compact_ts(timestamp)
        if self._segments is None:
            self._segments = self.ix.segments(self.repo_id)
        for seg in self._segments:  # newest first
            if key in self._lines:
                break
            if seg in self._loaded or not seg.oldest <= stamp <= seg.newest:
                continue
            self._loaded.add(seg)
            data = self.ix.read(seg, "reports")
            self.objects += 1
            for line in rows.decode_lines(data) if data is not None else ():
                self._lines.setdefault(line_key(line), line)
        found = self._lines.get(key)
        if found is None:
            return None
        return Report.from_dict(json.loads(found).get("report"), key)


def refresh(store: Store, repo_id: str, notes: list[str]) -> int:
    """Extend ``store``'s index of ``repo_id`` from the reports it lacks; the number of
    reports added. Cheap when current: the segments' report counts add up to the keys."""
    ix = index_of(store)
    if ix is None:
        return 0
    keys = store.list_keys(repo_id)
    if sum(s.count for s in ix.segments(repo_id)) == len(keys):
        return 0
    return run_lines(store, repo_id, notes, keep=()).derived


def indexed_repo_ids(store: Store) -> list[str]:
    """Repository ids with at least one index segment in ``store``."""
    ix = index_of(store)
    if ix is None:
        return []
    return sorted({s.repo for s in ix.segments()})


def index_report(store: Store, repo_id: str, key: str, data: bytes, report: Report) -> str | None:
    """Add one just-archived report to ``store``'s index (a new segment, then the month's
    compaction). Never raises but for a symbolic link on the way (UnsafePathError): the index
    is derived data, and a reader adds what is missing; the problem is returned as a note."""
    ix = index_of(store)
    if ix is None:
        return None
    try:
        ix.add_reports(repo_id, [(key, data, report)])
    except UnsafePathError:
        raise
    except Exception as exc:
        return f"could not index {key} in {store.name}: {one_line(exc)}"
    return None
