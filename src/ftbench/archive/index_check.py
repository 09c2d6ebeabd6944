"""Checking index objects before they are used: a damaged segment is treated as missing.

The index is a cache of rows derived from the reports (``docs/archive.md``, "Index"), so an
object that cannot be read as the segment its name announces is never an error: readers skip
its segment with one note, derive its reports' rows from the reports again and, when they
write the index, replace it. Two levels of checks:

* :func:`check_text`, on every object read (byte operations at C speed): the gzip stream is
  complete (CRC and length), every line looks like a row of the table (``{"key":"...`` to
  ``}``), no row is stored twice (``reports``: one line per report), and the object holds
  exactly the reports its name says (their count and the digest of their keys);
* :func:`check_rows`, on the lines a reader uses: valid JSON objects with the table's fields,
  each of its SQL type (``index_rows.COLUMNS``), under the key of their line;
  :func:`check_fields`, for a query engine that reads every line (and types them itself): each
  line has the fields every row of its table has.

What neither catches is a row edited while staying well formed (a digit changed): only a
content checksum could, and the index does not keep one (``docs/reliability.md``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Sequence
from typing import Any

from ftbench.archive.index_rows import COLUMNS, Segment
from ftbench.errors import one_line


class SegmentDamage(ValueError):
    """An index object that is not the segment its name announces (one line, why)."""


#: The start of every line (the key is always the first field) and the key itself (a JSON
#: string: escapes allowed, e.g. a non-ASCII ``S3_PREFIX`` in ``reports``).
LINE_START = b'{"key":"'
_KEY = re.compile(rb'\{"key":"([^"\\\n]*(?:\\.[^"\\\n]*)*)"')

#: The fields every row of a table has (the others may be absent: e.g. ``n`` on the one row of
#: a report that measured nothing).
REQUIRED: dict[str, tuple[str, ...]] = {
    "runs": (
        *("key", "repo_id", "run_id", "timestamp", "tier", "mode", "branch", "commit"),
        *("machine", "config_hash", "probe", "succeeded", "verdict"),
        *("phase", "step", "metric", "value"),
    ),
    "samples": tuple(COLUMNS["samples"]),
    "reports": ("key", "report"),
}
_SQL_TYPES: dict[str, frozenset[type]] = {
    "VARCHAR": frozenset({str, type(None)}),
    "BOOLEAN": frozenset({bool, type(None)}),
    "INTEGER": frozenset({int, type(None)}),
    "BIGINT": frozenset({int, type(None)}),
    "DOUBLE": frozenset({int, float, type(None)}),
    "JSON": frozenset({dict}),  # the ``report`` of a ``reports`` row: a JSON object
}
#: Column -> the Python types (``type(value)``, so ``True`` is no number) its values may have.
TYPES: dict[str, dict[str, frozenset[type]]] = {
    table: {name: _SQL_TYPES[sql] for name, sql in columns.items()}
    for table, columns in COLUMNS.items()
}


def key_digest(keys: Sequence[str]) -> str:
    """The digest a segment's name holds for its report keys (``Segment.of``)."""
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


def _decode_key(raw: bytes) -> str:
    if b"\\" in raw:
        return str(json.loads(b'"' + raw + b'"'))
    return raw.decode("utf-8", errors="replace")


def check_text(segment: Segment, table: str, data: bytes) -> tuple[bytes, set[str]]:
    """The decompressed lines of one ``table`` object of ``segment`` and the keys they hold;
    raises :class:`SegmentDamage` when the object is not that segment's."""
    try:
        text = gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:  # truncated, not gzip, bad CRC or length
        raise SegmentDamage(f"not a complete gzip stream ({one_line(exc)})") from None
    if not text.endswith(b"\n"):
        raise SegmentDamage("not JSON lines of index rows")
    # a raw newline only ever ends a row (JSON escapes those inside strings)
    lines = text.split(b"\n")
    lines.pop()
    count = len(lines)
    if not all(line.startswith(LINE_START) and line.endswith(b"}") for line in lines):
        raise SegmentDamage("a line is not an index row")
    if table == "reports":  # a stored report may hold ``{"key":"`` itself (a step's env)
        keys = {line_key(line) for line in lines}
        if len(keys) != count:
            raise SegmentDamage("a report is stored twice")
    else:  # flat rows: one key each, their first field (found at C speed)
        found = _KEY.findall(text)
        if len(found) != count or text.count(b'"key":') != count:
            raise SegmentDamage("a line is not an index row")
        if len(set(lines)) != count:  # rows of a report differ (phase, step, sample...)
            raise SegmentDamage("a row is stored twice")
        keys = {_decode_key(k) for k in set(found)}
    if not keys or len(keys) != segment.count or key_digest(list(keys)) != segment.digest:
        raise SegmentDamage(f"holds {len(keys)} report(s), not the {segment.count} its name says")
    return text, keys


def check_fields(table: str, text: bytes) -> None:
    """Every line of ``text`` (checked by :func:`check_text`) has each field every row of
    ``table`` has: what a query engine, which reads a missing field as NULL, cannot tell.
    Byte counts (rows are flat objects; a ``reports`` row's report is an object)."""
    count = text.count(b"\n")
    if table == "reports":
        if text.count(b'","report":{') != count:
            raise SegmentDamage("a row has no stored report")
        return
    for name in REQUIRED[table]:
        if text.count(b'"' + name.encode() + b'":') != count:
            raise SegmentDamage(f"a row lacks {name!r} (or has it twice)")


def line_key(line: bytes) -> str:
    """The ``key`` of an index line (every line starts with it)."""
    found = _KEY.match(line)
    if found is None:
        raise SegmentDamage("a line is not an index row")
    return _decode_key(found.group(1))


def check_rows(table: str, lines: Sequence[bytes]) -> list[dict[str, Any]]:
    """``lines`` of ``table`` (checked by :func:`check_text`) parsed, one ``json.loads``
    call, and checked: each a JSON object under its line's key, with the table's fields of
    their types. Raises :class:`SegmentDamage`. Rows are checked by their signature (fields
    and the types of their values; a table has a few dozen). Every reader gets checked rows,
    the dashboard's streaming one too: a segment that fails is healed, not skipped (the
    signatures cost the dashboard about a sixth of its time over a long history)."""
    if not lines:
        return []
    try:
        rows = json.loads(b"[" + b",".join(lines) + b"]")
    except (ValueError, RecursionError):
        raise SegmentDamage("a row is not valid JSON") from None
    if not isinstance(rows, list) or len(rows) != len(lines):
        raise SegmentDamage("a row is not valid JSON")  # a line holding ``},{``
    if any(type(row) is not dict for row in rows):
        raise SegmentDamage("a row is not a JSON object")
    if table == "reports":  # a stored report may hold "key" too: compare each line's
        for line, row in zip(lines, rows, strict=True):
            if row.get("key") != line_key(line):
                raise SegmentDamage("a row's key is not its line's")
    # (flat rows: check_text saw one "key" per line, the first field: the line's key)
    required, types = REQUIRED[table], TYPES[table]
    for names, kinds in {(tuple(row), tuple(map(type, row.values()))) for row in rows}:
        missing = [name for name in required if name not in names]
        if missing:
            raise SegmentDamage(f"a row lacks {missing[0]!r}")
        for name, kind in zip(names, kinds, strict=True):
            allowed = types.get(name)  # a column added by a newer ftbench: not checked
            if (allowed is not None and kind not in allowed) or (name == "key" and kind is not str):
                raise SegmentDamage(f"a row's {name!r} is {kind.__name__}")
    return rows
