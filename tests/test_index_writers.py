"""Many writers, one index: SQL sees every report once however many segments hold it (the views
keep one segment's rows per report where segments overlap), and a reader that writes the index
removes the segments whose reports are all in newer ones."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import io
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from damage import damaged_objects
from factory import make_report, ts
from ftbench.archive import index_rows
from ftbench.archive.base import Archives, report_key
from ftbench.archive.index import index_of, run_lines
from ftbench.archive.index_store import IndexStore, _lines
from ftbench.archive.local import LocalArchive
from ftbench.archive.sync import archive_report
from ftbench.cli.app import main
from ftbench.report.model import Report

RID = "abcd1234"
WRITERS = 12
SAMPLES = 3 + 2  # factory reports: warm and cold samples


@pytest.fixture(autouse=True)
def _no_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("S3_") or name == "FTBENCH_ARCHIVE_DIR":
            monkeypatch.delenv(name)


def report(i: int) -> Report:
    return make_report(
        warm=[0.1 + i / 1000] * 3, cold=[0.2] * 2, timestamp=ts(i), run_id=f"{i:032x}"
    )


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


COUNTS = (
    "select (select count(*) from reports) as reports, "
    "(select count(distinct key) from reports) as keys, "
    "(select count(*) from runs where phase = 'warm' and step is null and metric = 'wall_s') "
    "as warm_rows, (select count(*) from samples where step is null) as samples"
)


def sql_counts(repo: Path, *extra: str) -> list[str]:
    code, out, err = cli("query", "--repo", str(repo), "--format", "csv", *extra, COUNTS)
    assert code == 0, err
    return out.splitlines()


def expected(n: int) -> list[str]:
    return ["reports,keys,warm_rows,samples", f"{n},{n},{n},{n * SAMPLES}"]


def write_segment(ix: IndexStore, local: LocalArchive, reports: Sequence[Report]) -> None:
    """One segment of ``reports`` as a writer writes it, without the compaction after."""
    tables: dict[str, list[bytes]] = {t: [] for t in index_rows.TABLES}
    stamps = {}
    for r in reports:
        data = r.archive_bytes()
        key = report_key("benchmarks", RID, data, r.timestamp)
        local.put(key, data)
        tables["runs"] += _lines(index_rows.run_rows(key, r))
        tables["samples"] += _lines(index_rows.sample_rows(key, r))
        tables["reports"].append(index_rows.report_row(key, data))
        stamps[key] = r.timestamp
    ix.write_segment(RID, "2026-11", tables, stamps)


def test_overlapping_segments_count_once_in_sql_and_in_the_readers(tmp_path: Path) -> None:
    """What concurrent writers leave: segments sharing reports (here 0-5, 3-8, 0-8, and an
    unrelated later one)."""
    pytest.importorskip("duckdb")
    local = LocalArchive(tmp_path / ".firsttry" / "archive")
    ix = index_of(local)
    assert ix is not None
    reports = [report(i) for i in range(12)]
    for group in (reports[0:6], reports[3:9], reports[0:9], reports[9:12]):
        write_segment(ix, local, group)
    assert sum(s.count for s in ix.segments()) == 6 + 6 + 9 + 3
    assert sql_counts(tmp_path, "--refresh", "no") == expected(12)
    notes: list[str] = []
    found = run_lines(local, RID, notes, refresh=False)
    assert (len(found.lines), found.derived, notes) == (12, 0, [])
    assert all(len(v) == len(found.lines[k]) for k, v in found.rows.items())
    assert len([r for r in Archives([local]).newest(RID, notes)]) == 12
    # a reader that writes the index removes a segment whose reports are all in segments
    # after it in segment order (0-5 here; 3-8 stays: it comes after 0-8), and the next
    # writer's compaction merges the small ones left
    run_lines(local, RID, notes)
    assert sorted(s.count for s in ix.segments()) == [3, 6, 9] and notes == []
    assert sql_counts(tmp_path, "--refresh", "no") == expected(12)
    ix.compact(RID, "2026-11")
    assert [s.count for s in ix.segments()] == [12]
    assert sql_counts(tmp_path, "--refresh", "no") == expected(12)


WRITER = """
import io, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_index_writers import report
from ftbench.archive.sync import archive_report
i = int(sys.argv[1])
archive_report(report(i), Path({repo!r}), repo_id_override="abcd1234", out=io.StringIO())
"""


def test_concurrent_writer_processes(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    code = WRITER.format(tests=str(Path(__file__).parent), repo=str(tmp_path))
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(i)], env={**os.environ})
        for i in range(WRITERS)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * WRITERS
    assert sql_counts(tmp_path, "--refresh", "no") == expected(WRITERS)
    assert sql_counts(tmp_path) == expected(WRITERS)
    local = LocalArchive(tmp_path / ".firsttry" / "archive")
    ix = index_of(local)
    assert ix is not None and sum(s.count for s in ix.segments()) == WRITERS  # no overlap left


def test_a_compaction_keeps_each_report_once_whatever_the_line_order(tmp_path: Path) -> None:
    """Two segments where the one read first ends with the report the other starts with
    (reports of the same second): the merged segment holds that report's rows once (0.3.0
    kept them twice, so SQL counted the report twice)."""
    local = LocalArchive(tmp_path / ".firsttry" / "archive")
    ix = index_of(local)
    assert ix is not None
    same = [dataclasses.replace(report(i), timestamp=ts(0)) for i in range(6)]
    by_key = {report_key("benchmarks", RID, r.archive_bytes(), r.timestamp): r for r in same}
    keys = sorted(by_key)

    def segment(group: Sequence[str]) -> index_rows.Segment:
        return index_rows.Segment.of(RID, "2026-11", [(k, ts(0)) for k in group])

    # compaction reads ``first`` first (segment order), and its last key starts ``second``
    first, second = next(
        (keys[a:b], keys[b - 1 : c])
        for a in range(len(keys))
        for b in range(a + 2, len(keys))
        for c in range(b + 1, len(keys) + 1)
        if segment(keys[a:b]) > segment(keys[b - 1 : c])
    )
    for group in (first, second):
        write_segment(ix, local, [by_key[k] for k in group])
    n = len(set(first) | set(second))
    merged = ix.compact(RID, "2026-11")
    assert merged is not None and merged.count == n and [s.count for s in ix.segments()] == [n]
    data = ix.read(merged, "samples")
    assert data is not None
    lines = gzip.decompress(data).splitlines()
    assert len(lines) == len(set(lines)) == n * SAMPLES
    assert damaged_objects(ix.backend, "benchmarks") == []


def test_a_segment_left_incomplete_by_crossing_writers_is_replaced(tmp_path: Path) -> None:
    """A compaction removing a segment (runs, samples, reports) while a slower writer wrote
    the same segment again (samples, reports, runs) can leave its runs object alone; its
    reports are in the merged segment. SQL does not read it; the next writer removes it."""
    pytest.importorskip("duckdb")
    local = LocalArchive(tmp_path / ".firsttry" / "archive")
    ix = index_of(local)
    assert ix is not None
    reports = [report(i) for i in range(6)]
    write_segment(ix, local, reports)
    write_segment(ix, local, reports[1:])
    orphan = ix.segments()[0]
    assert orphan.count == 5  # read first: its oldest report is newer
    for table in ("samples", "reports"):
        ix.backend.remove(orphan.path("benchmarks", table))
    code, out, err = cli(
        "query", "--repo", str(tmp_path), "--refresh", "no", "--format", "csv", COUNTS
    )
    assert (code, out.splitlines()) == (0, expected(6))
    assert len([line for line in err.splitlines() if "object is missing)" in line]) == 1
    notes: list[str] = []
    assert len(run_lines(local, RID, notes, refresh=False).lines) == 6 and notes == []
    archive_report(report(6), tmp_path, repo_id_override=RID, out=io.StringIO())
    assert [s.count for s in ix.segments()] == [7] and sql_counts(tmp_path) == expected(7)
