"""Where index segments live and how they are written, merged and removed.

A segment is immutable: its name is derived from the keys it holds (``index_rows.Segment``),
so writing it twice writes the same bytes. Writers never modify an object:

* a new set of reports becomes a new segment (its ``samples`` and ``reports`` objects first,
  its ``runs`` object last: a segment exists for readers once its ``runs`` object does);
* a compaction writes the union of a partition's small segments as one new segment, then
  removes the inputs (``runs`` first). Every report stays in at least one segment at every
  moment, so concurrent writers and compactions can duplicate rows for a while (readers keep
  one copy per key) but never lose one. A writer compacts again while it still finds two
  small segments in the partition (concurrent writers), a few rounds at most.

A compaction checks every row of the small segments it merges (``index_check``: a damaged
line must not move into the merged segment); a damaged one is left out of the merge and
recorded in :attr:`IndexStore.damaged`: ``index.index_report`` then derives its reports again
and replaces it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from ftbench import paths
from ftbench.archive import index_rows as rows
from ftbench.archive.index_check import SegmentDamage, check_rows, check_text, line_key
from ftbench.archive.index_rows import Segment
from ftbench.report.model import Report

#: A partition's segments below this many reports are merged together when there are two or
#: more of them; a segment of at least this many is never rewritten.
SEAL = 256
#: Parallel requests when a reader fetches many segments from S3.
FETCH_WORKERS = 8
#: Compactions a writer runs at most in a row while the partition still holds two or more
#: small segments (concurrent writers each merged what they saw).
COMPACT_ROUNDS = 3


class Backend(Protocol):
    """Raw object access under the archive root (local directory or bucket)."""

    name: str

    def list_under(self, prefix: str) -> list[str]: ...

    def list_info(self, prefix: str) -> dict[str, str]: ...

    def read(self, key: str) -> bytes | None: ...

    def write(self, key: str, data: bytes) -> None: ...

    def remove(self, key: str) -> None: ...


class LocalBackend:
    def __init__(self, root: Path, anchor: Path | None = None) -> None:
        self.root = Path(root)
        self.anchor = self.root if anchor is None else anchor  # ftbench.paths: no link below
        self.name = "local"

    def list_under(self, prefix: str) -> list[str]:
        base = self.root.joinpath(*prefix.strip("/").split("/"))
        out: list[str] = []
        for dirpath, _dirs, files in os.walk(base):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            out.extend(f"{rel}/{f}" for f in files if not f.startswith("."))
        return out

    def list_info(self, prefix: str) -> dict[str, str]:
        """:meth:`list_under` with each file's version (size, modification time, inode)."""
        out: dict[str, str] = {}
        for key in self.list_under(prefix):
            try:
                st = self.root.joinpath(*key.split("/")).stat()
            except OSError:  # removed meanwhile
                continue
            out[key] = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
        return out

    def read(self, key: str) -> bytes | None:
        try:
            return self.root.joinpath(*key.split("/")).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write(self, key: str, data: bytes) -> None:
        from ftbench.archive.local import LocalArchive

        LocalArchive(self.root, anchor=self.anchor).put(key, data)

    def remove(self, key: str) -> None:
        paths.remove(self.root.joinpath(*key.split("/")), self.anchor)


class S3Backend:
    def __init__(self, store: Any) -> None:
        self.store = store
        self.name = "s3"

    def list_under(self, prefix: str) -> list[str]:
        return sorted(self.store.list_prefix(prefix.rstrip("/") + "/"))

    def list_info(self, prefix: str) -> dict[str, str]:
        found: dict[str, str] = self.store.list_objects(prefix.rstrip("/") + "/")
        return found

    def read(self, key: str) -> bytes | None:
        data: bytes | None = self.store.get(key)
        return data

    def write(self, key: str, data: bytes) -> None:
        self.store.put(key, data, {}, check_exists=False)

    def remove(self, key: str) -> None:
        self.store.delete(key)


def backend_of(store: object) -> Backend | None:
    """The index backend of an archive store, or None (a store without an index)."""
    from ftbench.archive.local import LocalArchive

    if isinstance(store, LocalArchive):
        return LocalBackend(store.root, store.anchor)
    if type(store).__name__ == "S3Store" and hasattr(store, "list_prefix"):
        return S3Backend(store)
    return None


class IndexStore:
    """The index of one archive store (``{prefix}/index/v1/...``)."""

    def __init__(self, backend: Backend, prefix: str) -> None:
        self.backend = backend
        self.prefix = prefix.strip("/")
        self.name = backend.name
        #: damaged segments a compaction left out, and why
        self.damaged: dict[Segment, str] = {}

    def table_root(self, table: str, repo: str | None = None) -> str:
        parts = [p for p in (self.prefix, "index", rows.INDEX_VERSION, table) if p]
        if repo is not None:
            parts.append(f"repo={repo}")
        return "/".join(parts)

    def segments(self, repo: str | None = None) -> list[Segment]:
        """Committed segments (those with a ``runs`` object), newest first."""
        found = [Segment.parse(k) for k in self.backend.list_under(self.table_root("runs", repo))]
        return sorted((s for s in found if s is not None), reverse=True)

    def read(self, segment: Segment, table: str) -> bytes | None:
        """The object's bytes, None when it is gone (removed by a compaction); raises
        :class:`SegmentDamage` when the store says its bytes are not those written (an S3
        object failing its checksum), anything else when it cannot be read now."""
        try:
            return self.backend.read(segment.path(self.prefix, table))
        except Exception as exc:
            if getattr(exc, "kind", None) == "integrity":
                raise SegmentDamage("its bytes do not match their checksum") from None
            raise

    def read_many(
        self, segments: Sequence[Segment], table: str
    ) -> list[bytes | BaseException | None]:
        """The ``table`` objects of ``segments`` (in parallel on S3): each one's bytes, None
        when it is gone, or the exception reading it raised."""

        def one(segment: Segment) -> bytes | BaseException | None:
            try:
                return self.read(segment, table)
            except Exception as exc:
                return exc

        if self.name == "local" or len(segments) < 2:
            return [one(s) for s in segments]
        with ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:
            return list(pool.map(one, segments))

    # -- writing ------------------------------------------------------------------------------

    def write_segment(
        self, repo: str, month: str, tables: dict[str, list[bytes]], stamps: dict[str, str]
    ) -> Segment:
        """Write one segment from its lines per table; ``stamps``: key -> timestamp."""
        seg = Segment.of(repo, month, stamps.items())
        for table in ("samples", "reports", "runs"):  # runs last: it commits the segment
            self.backend.write(seg.path(self.prefix, table), rows.encode_lines(tables[table]))
        return seg

    def remove_segment(self, segment: Segment) -> None:
        for table in ("runs", "samples", "reports"):  # runs first: readers stop seeing it
            self.backend.remove(segment.path(self.prefix, table))

    def add_reports(self, repo: str, items: Iterable[tuple[str, bytes, Report]]) -> list[Segment]:
        """Index reports ``(key, archived bytes, report)``: new segments per month (at most
        :data:`SEAL` reports each), then the compaction of the months they touched."""
        by_month: dict[str, list[tuple[str, bytes, Report]]] = {}
        for item in items:
            by_month.setdefault(rows.month_of(item[2].timestamp), []).append(item)
        written: list[Segment] = []
        for month, group in sorted(by_month.items()):
            group.sort(key=lambda it: (it[2].timestamp, it[0]))
            for start in range(0, len(group), SEAL):
                chunk = group[start : start + SEAL]
                tables: dict[str, list[bytes]] = {t: [] for t in rows.TABLES}
                for key, data, report in chunk:
                    tables["runs"].extend(_lines(rows.run_rows(key, report)))
                    tables["samples"].extend(_lines(rows.sample_rows(key, report)))
                    tables["reports"].append(rows.report_row(key, data))
                stamps = {key: report.timestamp for key, _, report in chunk}
                written.append(self.write_segment(repo, month, tables, stamps))
            for _ in range(COMPACT_ROUNDS):
                if self.compact(repo, month) is None:
                    break
        return written

    def compact(self, repo: str, month: str) -> Segment | None:
        """Merge the partition's unsealed segments when there are two or more (damaged ones
        left out, in :attr:`damaged`); the merged segment, or None when nothing was merged."""
        small = [
            s
            for s in self.segments(repo)
            if s.month == month and s.count < SEAL and s not in self.damaged
        ]
        if len(small) < 2:
            return None
        tables: dict[str, list[bytes]] = {t: [] for t in rows.TABLES}
        stamps: dict[str, str] = {}
        readable: list[Segment] = []
        for seg in small:
            try:
                found = self._segment_lines(seg)
            except SegmentDamage as exc:
                self.damaged[seg] = str(exc)
                continue
            if found is None:
                continue
            readable.append(seg)
            # each report's rows from the first segment holding it, whatever the line order
            mine = {k: v for k, v in found[1].items() if k not in stamps}
            for table, lines in found[0].items():
                tables[table].extend(line for line in lines if line_key(line) in mine)
            stamps.update(mine)
        if len(readable) < 2:
            return None
        merged = self.write_segment(repo, month, tables, stamps)
        for seg in readable:
            if seg != merged:
                self.remove_segment(seg)
        return merged

    def _segment_lines(self, seg: Segment) -> tuple[dict[str, list[bytes]], dict[str, str]] | None:
        """The lines of each table of ``seg`` and its reports' times, checked; None when the
        segment is gone. Raises :class:`SegmentDamage`."""
        out: dict[str, list[bytes]] = {}
        stamps: dict[str, str] = {}
        for table in rows.TABLES:  # runs first: the others are written before, removed after
            data = self.read(seg, table)
            if data is None and table == "runs":
                return None  # removed meanwhile by a concurrent compaction: its rows moved on
            if data is None:  # a removal and a rewrite of the same segment crossed
                raise SegmentDamage(f"its {table} object is missing")
            text, _keys = check_text(seg, table, data)
            out[table] = text.split(b"\n")[:-1]
            # every row, fully: a damaged line must not move into the merged segment
            parsed = check_rows(table, out[table])
            if table == "reports":
                stamps.update((row["key"], _report_time(row)) for row in parsed)
        return out, stamps


def _lines(items: Iterable[dict[str, Any]]) -> list[bytes]:
    import json

    return [json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() for r in items]


def _report_time(row: dict[str, Any]) -> str:
    """The report time of a checked ``reports`` row (SegmentDamage when it has none)."""
    value = row["report"].get("timestamp")
    if not isinstance(value, str) or rows.TIMESTAMP_RE.fullmatch(value) is None:
        raise SegmentDamage("a stored report has no time")
    return value
