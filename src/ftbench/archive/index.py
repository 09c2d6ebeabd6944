"""Reading the archive index, extending it from the reports it lacks, healing it.

The index (``{prefix}/index/v1/{runs,samples,reports}/repo=R/month=YYYY-MM/*.jsonl.gz``,
``docs/archive.md``) is derived data: every reader compares it with the report keys it lists
and derives the rows of the reports it lacks from the reports themselves (then, when
``refresh`` is on, writes them as a new segment). Deleting the index loses nothing.

A segment whose object is damaged (``index_check``: truncated, not gzip, a line that is not a
row, rows of the wrong fields or types, other reports than its name says) is treated as
missing: skipped with one note, its reports' rows derived from the reports, and, with
``refresh``, removed and replaced. A segment whose reports are all in newer segments (left by
concurrent writers) is removed too.

* :func:`run_lines`: the ``runs`` lines of a repository in one store (what ``trend``,
  ``archive list`` and the dashboard read);
* :class:`PackReader` (``index_pack``): reports by key out of the ``reports`` table (what a
  baseline lookup reads);
* :func:`index_reports`, :func:`index_stored`: what a writer (``run``, ``archive sync``)
  calls after archiving or uploading.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from ftbench.archive import index_rows as rows
from ftbench.archive.index_check import SegmentDamage, check_rows, check_text
from ftbench.archive.index_rows import Segment
from ftbench.archive.index_store import FETCH_WORKERS, IndexStore, _lines, backend_of
from ftbench.errors import UnsafePathError, one_line
from ftbench.report.model import Report, read_problem

#: Bytes of the one ``runs`` line of a report that measured nothing. Every report has a line
#: with one of the needles a reader asks for, or this one: a report without any is damage.
NO_PHASE = b'"metric":null'

Item = tuple[str, bytes, Report]
#: ``take_rows(key, rows)``: what a streaming reader does with one report's ``runs`` rows
#: (parsed and checked: no second parse)
TakeRows = Callable[[str, list[dict[str, Any]]], object]


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
    #: the same lines parsed (and checked)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    indexed: int = 0  #: keys found in the index
    derived: int = 0  #: keys derived from their reports (the index lacked them)
    objects: int = 0  #: objects read (index segments and reports)
    #: listed keys whose report could not be read as a report (a newer schema, corrupt)
    unreadable: dict[str, Exception] = field(default_factory=dict)
    #: damaged segments (skipped; removed with ``refresh``), and why
    damaged: dict[Segment, str] = field(default_factory=dict)
    #: segments whose reports are all in newer segments (removed with ``refresh``)
    redundant: list[Segment] = field(default_factory=list)
    #: the derived reports themselves (only with ``keep_items``)
    items: list[Item] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  #: keys found in good segments


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
    damaged: dict[Segment, str] | None = None,
    unreadable: dict[Segment, str] | None = None,
    keep_items: bool = False,
    take_rows: TakeRows | None = None,
) -> RunLines:
    """The ``runs`` lines of ``repo_id``'s reports in ``store``: those containing one of the
    byte strings ``keep`` (None: every line).

    With ``take_rows``, each report's (checked) rows are handed to ``take_rows(key, rows)``
    as soon as their segment (or chunk of reports) is read, and not kept in
    :attr:`RunLines.lines` and :attr:`RunLines.rows`: a reader of a long history then holds
    one segment's rows at a time.

    Reports missing from the index (or only in damaged segments: those found here and those
    given as ``damaged``; or in segments that cannot be read now: found here, or given as
    ``unreadable``) are read and their rows derived; with ``refresh`` the damaged and
    redundant segments are removed and the derived rows written (a failure to write is a
    note). Rows of keys no longer listed (deleted reports) are left out.
    """
    keys = store.list_keys(repo_id)
    out = RunLines(keys=keys)
    ix = index_of(store)
    if ix is not None:
        out.damaged.update(damaged or {})
        _read_runs(ix, store, repo_id, out, notes, keep, unreadable or {}, take_rows)
    missing = [k for k in keys if k not in out.seen]
    out.indexed = len(keys) - len(missing)
    if ix is not None and refresh:
        refresh = _drop(ix, store, out, notes)
    for seg, reason in out.damaged.items():
        notes.append(
            f"index segment {seg.month}/{seg.name} of {store.name} damaged ({reason}): "
            f"skipped, its reports read from the reports"
            + (" and indexed again" if refresh else "")
        )
    if missing:
        wanted = keep if not keep else (*keep, NO_PHASE)
        writer = ix if refresh else None
        _derive(store, repo_id, missing, out, notes, wanted, writer, keep_items, take_rows)
    return out


def _read_runs(
    ix: IndexStore,
    store: Store,
    repo_id: str,
    out: RunLines,
    notes: list[str],
    keep: Sequence[bytes] | None,
    unreadable: dict[Segment, str],
    take_rows: TakeRows | None,
) -> None:
    """Read the ``runs`` objects of ``repo_id``'s good segments into ``out``, newest first
    (a key's rows come from the newest segment holding it)."""
    try:
        segs = [s for s in ix.segments(repo_id) if s not in out.damaged and s not in unreadable]
    except Exception as exc:
        notes.append(f"index of {store.name} unreadable, read from the reports: {one_line(exc)}")
        return
    wanted = keep if not keep else (*keep, NO_PHASE)
    listed = set(out.keys)
    failed = [f"{seg.name}: {why}" for seg, why in unreadable.items()]
    for seg, blob in zip(segs, ix.read_many(segs, "runs"), strict=True):
        out.objects += 1
        if blob is None:  # removed meanwhile: its reports are in the merged segment (or read)
            continue
        try:
            if isinstance(blob, SegmentDamage):
                raise blob
            if isinstance(blob, BaseException):  # not readable now: not damage
                failed.append(f"{seg.name}: {one_line(blob)}")
                continue
            text, seg_keys = check_text(seg, "runs", blob)
            found = _lines_with(text, wanted)
            parsed = check_rows("runs", found)
            if wanted and {r["key"] for r in parsed} != seg_keys:
                raise SegmentDamage("a report's rows are missing")
        except SegmentDamage as exc:
            out.damaged[seg] = str(exc)
            continue
        mine = seg_keys
        if mine <= out.seen:
            out.redundant.append(seg)
        fresh = (mine - out.seen) & listed
        rows_of = [(r["key"], x, r) for x, r in zip(found, parsed, strict=True)]
        _hand(out, rows_of, fresh, take_rows)
        out.seen |= mine
    if failed:
        notes.append(
            f"could not read {len(failed)} index segment(s) of {store.name}, their reports "
            f"read from the reports (first: {failed[0]})"
        )


def _drop(ix: IndexStore, store: Store, out: RunLines, notes: list[str]) -> bool:
    """Remove the damaged segments (before their replacement is written: it may have the
    same name) and the redundant ones. False (write nothing) when the store refuses."""
    for seg in [*out.damaged, *out.redundant]:
        try:
            ix.remove_segment(seg)
        except Exception as exc:
            notes.append(f"could not repair the index of {store.name}: {one_line(exc)}")
            return False
    return True


def _derive(
    store: Store,
    repo_id: str,
    missing: Sequence[str],
    out: RunLines,
    notes: list[str],
    keep: Sequence[bytes] | None,
    ix: IndexStore | None,
    keep_items: bool,
    take_rows: TakeRows | None,
) -> None:
    """Read the reports of ``missing`` keys into ``out``; write their rows (``ix``)."""
    unread: list[str] = []
    for start in range(0, len(missing), CHUNK):
        chunk = missing[start : start + CHUNK]
        items: list[Item] = []
        found: list[tuple[str, bytes, dict[str, Any]]] = []
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
                out.unreadable[key] = exc
                notes.append(f"could not read {key} from {store.name}: {read_problem(exc)}")
                continue
            items.append((key, data, report))
            for row in rows.run_rows(key, report):
                line = _lines([row])[0]
                if keep is None or any(k in line for k in keep):
                    found.append((key, line, row))
        _hand(out, found, None, take_rows)
        out.derived += len(items)
        if keep_items:
            out.items.extend(items)
        if ix is not None and items:
            try:
                ix.add_reports(repo_id, items)
            except Exception as exc:
                notes.append(f"could not extend the index of {store.name}: {one_line(exc)}")
                ix = None
    if unread:
        notes.append(
            f"could not read {len(unread)} report(s) from {store.name}, left out "
            f"(first: {unread[0]})"
        )


def _hand(
    out: RunLines,
    found: Sequence[tuple[str, bytes, dict[str, Any]]],
    keys: set[str] | None,
    take_rows: TakeRows | None,
) -> None:
    """Keep the lines and rows of ``found`` (those of ``keys``; None: all), or hand each
    key's rows to ``take_rows`` (no lines kept: the dashboard)."""
    if take_rows is not None:
        rows_of: dict[str, list[dict[str, Any]]] = {}
        for key, _, row in found:
            if keys is None or key in keys:
                rows_of.setdefault(key, []).append(row)
        for key, rows in rows_of.items():
            take_rows(key, rows)
        return
    for key, line, row in found:
        if keys is None or key in keys:
            out.lines.setdefault(key, []).append(line)
            out.rows.setdefault(key, []).append(row)


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
    """Add one just-archived report to ``store``'s index (:func:`index_reports`)."""
    return index_reports(store, repo_id, [(key, data, report)])


def index_reports(store: Store, repo_id: str, items: Sequence[Item]) -> str | None:
    """Add just-archived (or uploaded) reports to ``store``'s index: new segments, then the
    compaction of their months; a damaged segment the compaction met is replaced from the
    reports. Never raises but for a symbolic link on the way (UnsafePathError): the index is
    derived data, and a reader adds what is missing; the problems are returned as a note."""
    notes: list[str] = []
    _index(store, repo_id, items, notes)
    return "; ".join(notes) or None


def _index(store: Store, repo_id: str, items: Sequence[Item], notes: list[str]) -> bool:
    """:func:`index_reports`; False when the reports could not be indexed."""
    ix = index_of(store)
    if ix is None or not items:
        return True
    try:
        ix.add_reports(repo_id, items)
    except UnsafePathError:  # a symbolic link on the way: refused, not a note
        raise
    except Exception as exc:
        what = items[0][0] if len(items) == 1 else f"{len(items)} reports"
        notes.append(f"could not index {what} in {store.name}: {one_line(exc)}")
        return False
    if ix.damaged:
        try:
            run_lines(store, repo_id, notes, keep=(), damaged=ix.damaged)
        except Exception as exc:
            notes.append(f"could not repair the index of {store.name}: {one_line(exc)}")
    return True


def index_stored(store: Store, stored: Sequence[tuple[str, bytes]]) -> tuple[set[str], list[str]]:
    """Index reports just stored in ``store`` by their key and bytes (``archive sync``),
    each under the repository its key names: the keys indexed, and the problems as notes."""
    by_repo: dict[str, list[Item]] = {}
    notes: list[str] = []
    for key, data in stored:
        try:
            report = Report.from_json(data, key)
        except Exception as exc:
            notes.append(f"could not index {key} in {store.name}: {read_problem(exc)}")
            continue
        by_repo.setdefault(key.split("/")[-2] if "/" in key else "", []).append((key, data, report))
    done: set[str] = set()
    for repo, items in sorted(by_repo.items()):
        if _index(store, repo, items, notes):
            done.update(key for key, _, _ in items)
    return done, notes
