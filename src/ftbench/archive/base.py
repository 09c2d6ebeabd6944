"""The storage interface and the key layout shared by every archive backend.

Key: ``{prefix}/{repo_id}/{timestamp}-{run_type}-{digest}.json``

* ``timestamp`` is the report's own ``timestamp`` (ISO 8601 UTC to the second, ``Z``), so keys
  sort by time;
* ``digest`` is the first 12 hex characters of SHA-256 of the canonical report bytes, so the
  same report always gets the same key (retries are idempotent) and two different reports
  never share one, even in the same second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ftbench.errors import SetupError, one_line
from ftbench.report.model import KeyedReport, NewerSchema, Report, read_problem

if TYPE_CHECKING:
    from ftbench.archive.index_pack import PackReader

DIGEST_LEN = 12


def report_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:DIGEST_LEN]


class ArchiveStore(Protocol):
    """What every archive backend offers. Keys are full keys (prefix included)."""

    name: str

    def put(self, key: str, data: bytes, metadata: Mapping[str, str]) -> bool:
        """Write ``data`` under ``key`` once. Returns False when the key already held it."""

    def list_keys(self, repo_id: str, limit: int | None = None) -> list[str]:
        """Keys of ``repo_id``'s reports, newest first, at most ``limit``."""

    def get(self, key: str) -> bytes | None:
        """The stored bytes, or None when there is no such key."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""


def load_report(store: ArchiveStore, key: str) -> Report | None:
    """Read and check one report; None when there is no such key.

    Raises :class:`~ftbench.report.codec.ModelError` when the bytes are not a report.
    """
    data = store.get(key)
    return None if data is None else Report.from_json(data, key)


def key_name(key: str) -> str:
    """The file-name part of a key: ``{timestamp}-{run_type}-{digest}.json``, sorts by time."""
    return key.rsplit("/", 1)[-1]


#: At most this many keys per store are listed (newest first) when reading history.
SCAN_LIMIT = 200


class Archives:
    """The archives a command reads, local first (the judge's and the analysis' history).

    A store that cannot be listed and a key that cannot be read or is not a report become
    notes, never an exception: reading history must never break a run.
    """

    def __init__(
        self,
        stores: Sequence[ArchiveStore],
        *,
        scan_limit: int | None = SCAN_LIMIT,
        use_index: bool = True,
    ) -> None:
        self.stores = list(stores)
        self.scan_limit = scan_limit
        #: read reports through each store's index (``archive.index``) where there is one
        self.use_index = use_index

    def describe(self) -> str:
        return ", ".join(s.name for s in self.stores)

    def newest(self, repo_id: str, notes: list[str]) -> Iterator[KeyedReport]:
        """``repo_id``'s reports from every store, newest first, each key and run id once.

        Lazy: a report is read only when the caller asks for the next one, so a caller that
        stops early saves the reads. A report the store's index holds is read from the
        index's ``reports`` table (one object for up to 256 reports); the others one by one.
        """
        holders: dict[str, list[ArchiveStore]] = {}
        for store in self.stores:
            try:
                keys = store.list_keys(repo_id, limit=self.scan_limit)
            except Exception as exc:  # one unreachable store must not hide the others
                notes.append(f"archive {store.name} unavailable: {one_line(exc)}")
                continue
            for key in keys:
                holders.setdefault(key, []).append(store)
        packs = self._packs(repo_id, notes)
        run_ids: set[str] = set()
        for key in sorted(holders, key=lambda k: (key_name(k), k), reverse=True):
            report = self._read_first(holders[key], key, notes, packs)
            if report is None or report.run_id in run_ids:
                continue
            run_ids.add(report.run_id)
            yield KeyedReport(key, report)

    def _packs(self, repo_id: str, notes: list[str]) -> dict[int, PackReader]:
        """The index reader of each store that has an index, by ``id(store)``."""
        from ftbench.archive.index import index_of
        from ftbench.archive.index_pack import PackReader

        out: dict[int, PackReader] = {}
        for store in self.stores:
            ix = index_of(store) if self.use_index else None
            if ix is not None:
                out[id(store)] = PackReader(ix, repo_id, notes)
        return out

    def run_rows(
        self,
        repo_id: str,
        notes: list[str],
        *,
        keep: Sequence[bytes] | None = None,
        refresh: bool = True,
    ) -> list[tuple[str, list[dict[str, Any]]]]:
        """The index's ``runs`` rows of ``repo_id`` (from the lines containing one of
        ``keep``; None: all; checked while read), per report key, newest first, each key
        once (first store that has it); the index of each store is extended from the reports
        it lacks (``refresh``: and written, damaged segments replaced)."""
        from ftbench.archive.index import run_lines

        merged: dict[str, list[dict[str, Any]]] = {}
        for store in self.stores:
            try:
                found = run_lines(store, repo_id, notes, keep=keep, refresh=refresh)
            except Exception as exc:
                notes.append(f"archive {store.name} unavailable: {one_line(exc)}")
                continue
            for key in found.keys:
                if key not in merged:
                    merged[key] = found.rows.get(key, [])
        ordered = sorted(merged, key=lambda k: (key_name(k), k), reverse=True)
        return [(k, merged[k]) for k in ordered]

    def each_run_rows(
        self,
        repo_id: str,
        notes: list[str],
        take: Callable[[str, list[dict[str, Any]]], object],
        *,
        refresh: bool = True,
    ) -> None:
        """Every report's ``runs`` rows (parsed and checked) without holding them:
        ``take(key, rows)`` once per key (first store that lists it), in no particular order,
        one index segment at a time. What a reader of a whole long history uses (the
        dashboard)."""
        from ftbench.archive.index import run_lines

        claimed: set[str] = set()

        def once(key: str, rows: list[dict[str, Any]]) -> None:
            if key not in claimed:
                claimed.add(key)
                take(key, rows)

        for store in self.stores:
            try:
                found = run_lines(store, repo_id, notes, refresh=refresh, take_rows=once)
            except Exception as exc:
                notes.append(f"archive {store.name} unavailable: {one_line(exc)}")
                continue
            claimed.update(found.keys)

    def find(self, spec: str, repo_id: str | None) -> KeyedReport | None:
        """The report under the full key ``spec``, or whose key's file name is ``spec``
        within ``repo_id``. Raises :class:`~ftbench.errors.SetupError` when it was written
        by a newer ftbench."""
        try:
            return self._find(spec, repo_id)
        except NewerSchema as exc:
            raise SetupError(str(exc)) from None

    def _find(self, spec: str, repo_id: str | None) -> KeyedReport | None:
        notes: list[str] = []
        report = self._read_first(self.stores, spec, notes, newer=True)
        if report is not None:
            return KeyedReport(spec, report)
        if repo_id and "/" not in spec:
            for store in self.stores:
                try:
                    keys = store.list_keys(repo_id, limit=self.scan_limit)
                except Exception:
                    continue
                for key in keys:
                    if key_name(key) == spec:
                        found = self._read_first([store], key, notes, newer=True)
                        if found is not None:
                            return KeyedReport(key, found)
        return None

    @staticmethod
    def _read_first(
        stores: Sequence[ArchiveStore],
        key: str,
        notes: list[str],
        packs: Mapping[int, PackReader] | None = None,
        *,
        newer: bool = False,
    ) -> Report | None:
        """The report under ``key`` from the first store that has it (through its index when
        it has one, else or when the index does not give it, the report itself); a store
        that cannot give it is a note. ``newer``: raise
        :class:`~ftbench.report.model.NewerSchema` instead of noting it."""
        for store in stores:
            pack = (packs or {}).get(id(store))
            try:
                report = pack.get(key, key_name(key)[:20]) if pack is not None else None
                if report is None:
                    report = load_report(store, key)
            except Exception as exc:
                if newer and isinstance(exc, NewerSchema):
                    raise
                notes.append(f"could not read {key} from {store.name}: {read_problem(exc)}")
                continue
            if report is not None:
                return report
        return None


def report_key(
    prefix: str, repo_id: str, report_bytes: bytes, timestamp: str, run_type: str = "benchmark"
) -> str:
    """The archive key of one report (see the module docstring)."""
    parts = [p for p in (prefix.strip("/"), repo_id) if p]
    name = f"{timestamp}-{run_type}-{report_digest(report_bytes)}.json"
    return "/".join([*parts, name])
