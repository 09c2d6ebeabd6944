"""Ways an index object gets damaged, for the tests of the index's healing (local and S3).

Each kind takes an object's bytes and its table and returns damaged bytes: what a truncated
upload, a bad disk, another tool or a hand edit leaves behind.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

from ftbench.archive.index_check import SegmentDamage, check_fields, check_rows, check_text
from ftbench.archive.index_rows import Segment
from ftbench.archive.index_store import Backend, IndexStore


def _rows(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(data).splitlines() if line]


def _pack(rows: list[dict[str, Any]]) -> bytes:
    text = "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in rows)
    return gzip.compress(text.encode())


def truncated(data: bytes, table: str) -> bytes:
    """An upload or a copy cut short."""
    return data[: len(data) // 2]


def bad_json_line(data: bytes, table: str) -> bytes:
    """Valid gzip, one line that is not JSON (its key and shape intact)."""
    lines = gzip.decompress(data).split(b"\n")
    line = lines[0]
    cut = line.index(b'",', 8) + 2
    lines[0] = line[:cut] + b"#," + line[cut:]
    return gzip.compress(b"\n".join(lines))


#: a typed field of each table, and a value of the wrong type for it
WRONG_TYPE = {"runs": ("value", "fast"), "samples": ("wall_s", "fast"), "reports": ("report", 5)}
#: a field every row of each table has
ALWAYS = {"runs": "succeeded", "samples": "ok", "reports": "report"}


def wrong_types(data: bytes, table: str) -> bytes:
    """Well-formed rows, one with a value of the wrong type."""
    rows = _rows(data)
    name, value = WRONG_TYPE[table]
    rows[0][name] = value
    return _pack(rows)


def wrong_fields(data: bytes, table: str) -> bytes:
    """Well-formed rows, one without a field every row has."""
    rows = _rows(data)
    del rows[0][ALWAYS[table]]
    return _pack(rows)


def other_reports(data: bytes, table: str) -> bytes:
    """Well-formed rows, but one report's rows are gone (not what the name says)."""
    rows = _rows(data)
    return _pack([r for r in rows if r["key"] != rows[0]["key"]])


def a_row_twice(data: bytes, table: str) -> bytes:
    """A report's first row stored twice, next to itself (what 0.3.0's compaction of
    concurrent writers' segments could write): SQL would count it twice."""
    lines = gzip.decompress(data).split(b"\n")
    return gzip.compress(b"\n".join([lines[0], *lines]))


DAMAGE: dict[str, Callable[[bytes, str], bytes]] = {
    "truncated": truncated,
    "bad JSON line": bad_json_line,
    "wrong types": wrong_types,
    "wrong fields": wrong_fields,
    "other reports": other_reports,
    "a row twice": a_row_twice,
}


def damage(ix: IndexStore, table: str, kind: str) -> Segment:
    """Damage the ``table`` object of the newest segment of the index ``ix`` (in place)."""
    seg = ix.segments()[0]
    key = seg.path(ix.prefix, table)
    data = ix.backend.read(key)
    assert data is not None
    ix.backend.remove(key)
    ix.backend.write(key, DAMAGE[kind](data, table))
    return seg


def damaged_objects(backend: Backend, prefix: str) -> list[str]:
    """The index objects that fail their checks (none once the index is healed)."""
    base = "/".join(p for p in (prefix, "index") if p)
    bad = []
    for key in backend.list_under(base):
        seg = Segment.parse(key)
        data = backend.read(key)
        if seg is None or data is None:
            bad.append(key)
            continue
        table = key.split("/")[-4]
        try:
            text = check_text(seg, table, data)[0]
            check_fields(table, text)
            check_rows(table, text.split(b"\n")[:-1])
        except SegmentDamage:
            bad.append(key)
    return bad
