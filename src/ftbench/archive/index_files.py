"""The index objects a query engine is given: committed, checked, the damaged ones healed.

``ft-bench query`` hands DuckDB explicit lists of objects instead of a glob (``docs/query.md``):

* only the tables of **committed** segments (their ``runs`` object exists: not a segment being
  written, nor what a removal cut short);
* only objects that pass :func:`~ftbench.archive.index_check.check_text` and
  :func:`~ftbench.archive.index_check.check_fields` (complete gzip, rows with their fields,
  the reports the name says); a value of the wrong type is DuckDB's error, below. Every
  object is checked once: those found intact are remembered by version (size, time and
  inode locally, size and ETag in a bucket) in ``.index-checked-*.json`` in the local
  archive, so a later query checks only the objects written since;
* a damaged segment (found here, or named by a DuckDB error, :meth:`Index.damage`) is
  treated as missing: its reports' rows are derived from the reports, and either written to
  the index in its place (``refresh``) or, when the command must not write (``query --s3``
  by default), to a temporary directory read with the rest;
* the objects of partitions where two segments cover overlapping times (concurrent writers
  can leave a report in both) are listed apart: the SQL views keep one segment's rows per
  report there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ftbench import paths
from ftbench.archive.index import Store, index_of, run_lines
from ftbench.archive.index_check import SegmentDamage, check_fields, check_text
from ftbench.archive.index_rows import TABLES, Segment
from ftbench.archive.index_store import FETCH_WORKERS, IndexStore, LocalBackend
from ftbench.errors import one_line

CACHE_VERSION = 1


@dataclass
class IndexFiles:
    """What the views of each table read: object keys under the store's root (``plain``: no
    report in two of them; ``overlapping``: keep one segment's rows per report), and files
    of rows derived for this command only (``extra``, absolute paths)."""

    plain: dict[str, list[str]] = field(default_factory=dict)
    overlapping: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, list[str]] = field(default_factory=dict)


class Index:
    """The index of one store as a query engine reads it (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        notes: list[str],
        *,
        refresh: bool,
        cache: Path | None = None,
        recheck: bool = False,
    ) -> None:
        ix = index_of(store)
        if ix is None:
            raise ValueError(f"no index in {store.name}")
        self.ix: IndexStore = ix
        self.store = store
        self.notes = notes
        self.refresh = refresh
        self.cache = cache
        self.checked: dict[str, str] = {} if recheck else _load_cache(cache)
        self.listed: dict[str, dict[str, str]] = {}
        #: damaged segments left in place (no ``refresh``): not read, their reports derived
        self.excluded: set[Segment] = set()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._extra: IndexStore | None = None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def files(self, tables: Iterable[str]) -> IndexFiles:
        """The objects to read for ``tables`` (checked; the others only listed)."""
        for _ in range(3):  # healing writes new segments: list (and check) again
            self.listed = {t: self.ix.backend.list_info(self.ix.table_root(t)) for t in TABLES}
            damaged: dict[Segment, str] = {}
            unreadable: dict[Segment, str] = {}
            for table in sorted(set(tables)):
                found = self._check(table)
                damaged.update(found[0])
                unreadable.update(found[1])
                damaged.update(self._incomplete(table))
            if unreadable:  # not readable now: left out of this command, never removed
                self.heal(unreadable, readable=False)
            if not damaged:
                break
            self.heal(damaged)
        self._save_cache()
        return self._arrange()

    def damage(self, key: str, reason: str) -> bool:
        """Treat the segment of the object ``key`` as damaged (a query engine could not read
        it) and heal it; False when ``key`` is not one of the objects listed."""
        seg = Segment.parse(key)
        if seg is None or not any(key in found for found in self.listed.values()):
            return False
        self.heal({seg: reason})
        return True

    def heal(self, damaged: dict[Segment, str], *, readable: bool = True) -> None:
        """Derive the reports of damaged segments (``readable=False``: segments that cannot
        be read now) again, per repository: written in place of the damaged ones with
        ``refresh``, else kept for this command only."""
        for key in [k for k in self.checked if Segment.parse(k) in damaged]:
            del self.checked[key]
        write = self.refresh and readable
        first = not self.excluded
        if not write:
            self.excluded.update(damaged)
        for repo in sorted({s.repo for s in damaged}):
            mine = {s: r for s, r in damaged.items() if s.repo == repo}
            found = run_lines(
                self.store,
                repo,
                self.notes,
                keep=(),
                refresh=write,
                damaged=mine if readable else None,
                unreadable=None if readable else mine,
                keep_items=not write,
            )
            if found.items:
                self._extra_index().add_reports(repo, found.items)
        if not self.refresh and readable and first:
            self.notes.append(
                "damaged index segments stay until a command that writes the index replaces "
                "them (ft-bench query --refresh yes)"
            )

    def _check(self, table: str) -> tuple[dict[Segment, str], dict[Segment, str]]:
        """Check the committed objects of ``table`` not checked before: the damaged ones, and
        those that cannot be read now (and why)."""
        committed = self._committed()
        todo = [
            k
            for k, version in self.listed[table].items()
            if Segment.parse(k) in committed and self.checked.get(k) != version
        ]
        damaged: dict[Segment, str] = {}
        unreadable: dict[Segment, str] = {}
        for key, problem in zip(todo, self._map(todo), strict=True):
            seg = Segment.parse(key)
            assert seg is not None
            if problem is None:
                self.checked[key] = self.listed[table][key]
            else:
                (damaged if problem[0] else unreadable)[seg] = problem[1]
        return damaged, unreadable

    def _incomplete(self, table: str) -> dict[Segment, str]:
        """Committed segments without a ``table`` object: never a write in progress (its
        ``runs`` object comes last) nor a removal (``runs`` goes first), but a removal and a
        rewrite of the same segment that crossed (concurrent writers)."""
        present = {Segment.parse(k) for k in self.listed[table]}
        return {s: f"its {table} object is missing" for s in self._committed() - present}

    def _check_one(self, key: str) -> tuple[bool, str] | None:
        """Why the object ``key`` cannot be used: ``(damaged, reason)``, damaged False when
        it cannot be read now; None when it can be used."""
        seg = Segment.parse(key)
        assert seg is not None
        try:
            data = self.ix.backend.read(key)
            if data is not None:
                table = key.split("/")[-4]
                check_fields(table, check_text(seg, table, data)[0])
        except SegmentDamage as exc:
            return True, str(exc)
        except Exception as exc:  # the bucket's checksum, or not readable now
            if getattr(exc, "kind", None) == "integrity":
                return True, "its bytes do not match their checksum"
            return False, one_line(exc)
        return None

    def _map(self, keys: Sequence[str]) -> list[tuple[bool, str] | None]:
        if len(keys) < 2:
            return [self._check_one(k) for k in keys]
        with ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:  # zlib, S3 free the GIL
            return list(pool.map(self._check_one, keys))

    def _committed(self) -> set[Segment]:
        """Segments whose ``runs`` object exists, less those left damaged."""
        found = (Segment.parse(k) for k in self.listed.get("runs", {}))
        return {s for s in found if s is not None and s not in self.excluded}

    def _arrange(self) -> IndexFiles:
        committed = self._committed()
        out = IndexFiles()
        for table in TABLES:
            by_seg = {s: k for k in self.listed[table] if (s := Segment.parse(k)) in committed}
            shared = _overlapping(list(by_seg))
            out.plain[table] = sorted(k for s, k in by_seg.items() if s not in shared)
            out.overlapping[table] = sorted(k for s, k in by_seg.items() if s in shared)
            out.extra[table] = []
            if self._extra is not None and self._tmp is not None:
                extra = self._extra.backend.list_under(self._extra.table_root(table))
                out.extra[table] = [str(Path(self._tmp.name, k)) for k in sorted(extra)]
        return out

    def _extra_index(self) -> IndexStore:
        if self._extra is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="ftbench-index-")
            self._extra = IndexStore(LocalBackend(Path(self._tmp.name)), self.ix.prefix)
        return self._extra

    def _save_cache(self) -> None:
        if self.cache is None or not self.cache.parent.is_dir():
            return
        listed = {k for found in self.listed.values() for k in found}
        kept = {k: v for k, v in self.checked.items() if k in listed}
        body = {"version": CACHE_VERSION, "objects": kept}
        with contextlib.suppress(OSError):
            paths.write(self.cache, json.dumps(body, separators=(",", ":")))


def cache_path(archive_root: Path, where: str) -> Path:
    """The file in the local archive remembering which objects of ``where`` (``local``, or
    a bucket's endpoint, name and prefix) were found intact."""
    tag = "local" if where == "local" else "s3-" + hashlib.sha256(where.encode()).hexdigest()[:12]
    return Path(archive_root) / f".index-checked-{tag}.json"


def _load_cache(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        body = json.loads(path.read_bytes())
        objects = body["objects"] if body.get("version") == CACHE_VERSION else {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}
    if not isinstance(objects, dict):
        return {}
    return {str(k): str(v) for k, v in objects.items()}


def _overlapping(segments: Sequence[Segment]) -> set[Segment]:
    """The segments sharing a partition with another whose time span meets theirs: the only
    ones that can hold a report another holds too."""
    by_part: dict[tuple[str, str], list[Segment]] = {}
    for seg in segments:
        by_part.setdefault((seg.repo, seg.month), []).append(seg)
    out: set[Segment] = set()
    for group in by_part.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a.oldest <= b.newest and b.oldest <= a.newest:
                    out.update((a, b))
    return out
