"""Reports by key out of the index's ``reports`` table: what a baseline lookup reads.

:meth:`PackReader.get` loads segments lazily, newest first, only as far back as the asked
report's time, so the newest reports cost one object per :data:`~index_store.SEAL` of them.
A damaged segment (``index_check``) is skipped with one note and its reports are read one by
one from the archive (``Archives.newest`` does that for any report the index does not give).
"""

from __future__ import annotations

from ftbench.archive.index_check import SegmentDamage, check_rows, check_text, line_key
from ftbench.archive.index_rows import Segment, compact_ts
from ftbench.archive.index_store import IndexStore
from ftbench.errors import one_line
from ftbench.report.codec import ModelError
from ftbench.report.model import NewerSchema, Report


class PackReader:
    """Reports of one repository out of the index's ``reports`` table."""

    def __init__(self, ix: IndexStore, repo_id: str, notes: list[str] | None = None) -> None:
        self.ix = ix
        self.repo_id = repo_id
        self.notes = notes if notes is not None else []
        self._segments: list[Segment] | None = None
        self._loaded: set[Segment] = set()
        self._lines: dict[str, tuple[Segment, bytes]] = {}
        self.objects = 0

    def get(self, key: str, timestamp: str) -> Report | None:
        """The report under ``key`` (time ``timestamp``) if the index holds it, else None (read
        it from the archive). Raises :class:`~ftbench.report.model.NewerSchema` for a report
        written by a newer ftbench; never for a damaged or unreadable index."""
        stamp = compact_ts(timestamp)
        if self._segments is None:
            try:
                self._segments = self.ix.segments(self.repo_id)
            except Exception as exc:
                self._segments = []
                self.notes.append(f"index of {self.ix.name} unreadable: {one_line(exc)}")
        for seg in self._segments:  # newest first
            if key in self._lines:
                break
            if seg in self._loaded or not seg.oldest <= stamp <= seg.newest:
                continue
            self._loaded.add(seg)
            self._load(seg)
        found = self._lines.get(key)
        if found is None:
            return None
        seg, line = found
        try:
            (row,) = check_rows("reports", [line])
            return Report.from_dict(row["report"], key)
        except NewerSchema:
            raise
        except (SegmentDamage, ModelError) as exc:  # indexed from a report that was one
            self._damaged(seg, str(exc) if isinstance(exc, SegmentDamage) else "not a report")
            return None

    def _load(self, seg: Segment) -> None:
        self.objects += 1
        try:
            data = self.ix.read(seg, "reports")
            if data is None:  # removed meanwhile by a compaction
                return
            text, _keys = check_text(seg, "reports", data)
        except SegmentDamage as exc:
            self._damaged(seg, str(exc))
            return
        except Exception as exc:  # not readable now: its reports are read one by one
            self.notes.append(f"could not read index segment {seg.name}: {one_line(exc)}")
            return
        for line in text.split(b"\n")[:-1]:
            self._lines.setdefault(line_key(line), (seg, line))

    def _damaged(self, seg: Segment, reason: str) -> None:
        self.notes.append(
            f"index segment {seg.month}/{seg.name} of {self.ix.name} damaged ({reason}): "
            "skipped, its reports read one by one"
        )
        self._lines = {k: v for k, v in self._lines.items() if v[0] != seg}
