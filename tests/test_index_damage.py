"""A damaged index segment is treated as missing, locally: every reader (archive list, trend,
dashboard, query, the baseline lookup) gives the answer of an intact index with one note, a
reader that writes the index and the next run replace it; the loader never raises anything but
SegmentDamage, whatever the bytes (hypothesis)."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from damage import DAMAGE, damage, damaged_objects
from factory import make_report, noisy, ts
from ftbench.analyse.dashboard import build
from ftbench.archive.base import Archives, report_key
from ftbench.archive.index import index_of, run_lines
from ftbench.archive.index_check import SegmentDamage, check_fields, check_rows, check_text
from ftbench.archive.index_rows import Segment
from ftbench.archive.index_store import IndexStore, LocalBackend
from ftbench.archive.local import LocalArchive
from ftbench.archive.sync import archive_report
from ftbench.cli.app import main
from ftbench.report.model import Report

RID = "abcd1234"
N = 6
KINDS = sorted(DAMAGE)


@pytest.fixture(autouse=True)
def _no_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("S3_") or name == "FTBENCH_ARCHIVE_DIR":
            monkeypatch.delenv(name)


def report(i: int) -> Report:
    return make_report(
        warm=noisy(0.1, 6, seed=i),
        cold=noisy(0.2, 3, seed=100 + i),
        timestamp=ts(i),
        run_id=f"{i:032x}",
        commit=f"{i:040x}",
    )


def archive(repo: Path, n: int = N) -> tuple[LocalArchive, IndexStore]:
    """``n`` reports in ``repo``'s local archive, indexed (one segment)."""
    local = LocalArchive(repo / ".firsttry" / "archive")
    for i in range(n):
        data = report(i).archive_bytes()
        local.put(report_key("benchmarks", RID, data, ts(i)), data)
    run_lines(local, RID, [])
    ix = index_of(local)
    assert ix is not None and [s.count for s in ix.segments()] == [n]
    return local, ix


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def damage_notes(text: str | list[str]) -> list[str]:
    lines = text.splitlines() if isinstance(text, str) else text
    return [line for line in lines if "damaged (" in line]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- the readers of the runs table ----------------------------------------------------------


def test_archive_list(tmp_path: Path, kind: str) -> None:
    _local, ix = archive(tmp_path)
    args = ("archive", "list", "--repo", str(tmp_path), "--repo-id", RID)
    intact = cli(*args)[1]
    damage(ix, "runs", kind)
    code, out, err = cli(*args)
    assert code == 0 and out == intact  # every report, status ok: nothing lost
    assert sum(" ok " in line for line in out.splitlines()) == N
    (note,) = damage_notes(err)
    assert note.startswith("note: index segment 2026-11/") and note.endswith(
        "skipped, its reports read from the reports and indexed again"
    )
    assert damaged_objects(ix.backend, "benchmarks") == []  # replaced
    assert cli(*args) == (0, intact, "")


def test_trend(tmp_path: Path, kind: str) -> None:
    _local, ix = archive(tmp_path)
    args = ("trend", "--repo", str(tmp_path), "--repo-id", RID, "--last", "all", "--json")
    intact = json.loads(cli(*args)[1])
    damage(ix, "runs", kind)
    code, out, _ = cli(*args)
    found = json.loads(out)
    assert code == 0 and found["points"] == intact["points"] and len(found["points"]) == N
    assert len(damage_notes(found["notes"])) == 1
    assert damaged_objects(ix.backend, "benchmarks") == []


def test_dashboard(tmp_path: Path, kind: str) -> None:
    local, ix = archive(tmp_path)
    damage(ix, "runs", kind)
    site = build(Archives([local]), RID, tmp_path / "site")
    assert site.reports == N and len(damage_notes(site.notes)) == 1
    assert damaged_objects(ix.backend, "benchmarks") == []


def test_streaming_readers(tmp_path: Path, kind: str) -> None:
    """``Archives.each_run_rows`` (a reader of a whole history, one segment at a time):
    every report handed once, with the rows of an intact index."""
    local, ix = archive(tmp_path)
    intact: dict[str, list[dict[str, Any]]] = {}
    Archives([local]).each_run_rows(RID, [], lambda k, rows: intact.setdefault(k, rows))
    damage(ix, "runs", kind)
    notes: list[str] = []
    taken: list[tuple[str, list[dict[str, Any]]]] = []
    Archives([local]).each_run_rows(RID, notes, lambda k, rows: taken.append((k, rows)))
    assert len(taken) == N and dict(taken) == intact
    assert len(damage_notes(notes)) == 1


# --- the baseline lookup: the reports table ---------------------------------------------------


@pytest.mark.parametrize("table", ["reports", "runs"])
def test_baseline_lookup(tmp_path: Path, kind: str, table: str) -> None:
    local, ix = archive(tmp_path)
    damage(ix, table, kind)
    notes: list[str] = []
    found = [k.report.run_id for k in Archives([local]).newest(RID, notes)]
    assert found == [f"{i:032x}" for i in reversed(range(N))]
    # the lookup reads the reports table only: a damaged one is one note, the reports read
    # one by one; it does not write (the run that follows repairs)
    if table == "reports":
        (note,) = damage_notes(notes)
        assert note.endswith("skipped, its reports read one by one")
    else:
        assert notes == []


@pytest.mark.parametrize("table", ["runs", "samples", "reports"])
def test_a_later_run_replaces_the_segment(tmp_path: Path, kind: str, table: str) -> None:
    local, ix = archive(tmp_path)
    damage(ix, table, kind)
    archive_report(report(N), tmp_path, repo_id_override=RID, out=io.StringIO())
    assert damaged_objects(ix.backend, "benchmarks") == []
    notes: list[str] = []
    found = run_lines(local, RID, notes)
    assert (found.indexed, found.derived, notes) == (N + 1, 0, [])


# --- SQL ----------------------------------------------------------------------------------------

QUERIES = {
    "runs": "select count(*), count(distinct key), count(value), count(succeeded) from runs",
    "samples": "select count(*), count(distinct key), count(wall_s), count(ok) from samples",
    "reports": "select count(*), count(distinct key), count(report->>'run_id') from reports",
}


@pytest.mark.parametrize("table", sorted(QUERIES))
def test_query(tmp_path: Path, kind: str, table: str) -> None:
    pytest.importorskip("duckdb")
    _local, ix = archive(tmp_path)
    args = ("query", "--repo", str(tmp_path), "--format", "csv", QUERIES[table])
    intact = cli(*args)
    assert intact[0] == 0 and intact[1].splitlines()[1].split(",")[1] == str(N)
    damage(ix, table, kind)
    code, out, err = cli(*args)
    assert (code, out) == intact[:2]
    assert len(damage_notes(err)) == 1 and "indexed again" in err
    assert damaged_objects(ix.backend, "benchmarks") == []


def test_query_without_refresh_reads_the_reports_and_leaves_the_index(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    _local, ix = archive(tmp_path)
    sql = "select count(*) as n, count(distinct key) as k from samples"
    args = ("query", "--repo", str(tmp_path), "--refresh", "no", "--format", "csv", sql)
    intact = cli(*args)
    seg = damage(ix, "samples", "truncated")
    code, out, err = cli(*args)
    assert (code, out) == intact[:2]
    (note,) = damage_notes(err)
    assert note.endswith("skipped, its reports read from the reports")
    assert "until a command that writes the index replaces them" in err
    assert damaged_objects(ix.backend, "benchmarks") == [seg.path("benchmarks", "samples")]
    assert cli(*args) == (code, out, err)  # every time, until a writer replaces it


def test_query_remembers_checked_objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each object is checked once: a later query reads only what was written since."""
    pytest.importorskip("duckdb")
    import ftbench.archive.index_files as index_files

    archive(tmp_path)
    checked: list[str] = []
    original = index_files.Index._check_one

    def counting(self: index_files.Index, key: str) -> tuple[bool, str] | None:
        checked.append(key.split("/")[-4])
        return original(self, key)

    monkeypatch.setattr(index_files.Index, "_check_one", counting)
    args = ("query", "--repo", str(tmp_path), "select count(*) from runs, reports")
    assert cli(*args)[0] == 0 and sorted(checked) == ["reports", "runs"]
    checked.clear()
    assert cli(*args)[0] == 0 and checked == []
    assert cli(*args[:3], "--refresh", "yes", args[3])[0] == 0  # yes: everything again
    assert sorted(checked) == ["reports", "runs"]


# --- the loader, whatever the bytes -------------------------------------------------------------


@pytest.fixture(scope="module")
def segment_bytes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    _local, ix = archive(tmp_path_factory.mktemp("seg"), 3)
    seg = ix.segments()[0]
    objects = {
        t: ix.backend.read(seg.path("benchmarks", t)) for t in ("runs", "samples", "reports")
    }
    return {"segment": seg, **objects}


def load(seg: Segment, table: str, data: bytes) -> list[dict[str, Any]]:
    """Everything a reader checks: the object, and every row."""
    text, _keys = check_text(seg, table, data)
    check_fields(table, text)
    return check_rows(table, text.split(b"\n")[:-1])


TABLES = st.sampled_from(["runs", "samples", "reports"])
LOADER = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@LOADER
@given(table=TABLES, data=st.binary(max_size=400))
def test_any_bytes_are_a_segment_or_damage(
    segment_bytes: dict[str, Any], table: str, data: bytes
) -> None:
    seg = segment_bytes["segment"]
    for blob in (data, gzip.compress(data)):
        with contextlib.suppress(SegmentDamage):
            load(seg, table, blob)


@LOADER
@given(table=TABLES, cut=st.floats(0, 1, exclude_max=True), flip=st.integers(0, 10**9))
def test_a_cut_or_a_changed_byte_is_always_found(
    segment_bytes: dict[str, Any], table: str, cut: float, flip: int
) -> None:
    """Truncation anywhere, or any byte of the compressed data changed (CRC-32 finds every
    single-byte error): damage, never a short or different answer."""
    seg, data = segment_bytes["segment"], segment_bytes[table]
    intact = load(seg, table, data)
    with pytest.raises(SegmentDamage):
        load(seg, table, data[: int(len(data) * cut)])
    pos = 10 + flip % (len(data) - 10)  # after the header's time stamp and OS bytes
    changed = data[:pos] + bytes([data[pos] ^ (1 + flip % 255)]) + data[pos + 1 :]
    with contextlib.suppress(SegmentDamage):
        assert load(seg, table, changed) == intact  # (an unused header flag may change)


@LOADER
@given(table=TABLES, index=st.integers(0, 10**6), junk=st.binary(max_size=60))
def test_a_replaced_line_is_damage_or_a_well_formed_row(
    segment_bytes: dict[str, Any], table: str, index: int, junk: bytes
) -> None:
    seg, data = segment_bytes["segment"], segment_bytes[table]
    lines = gzip.decompress(data).split(b"\n")
    i = index % (len(lines) - 1)
    for new in (junk, lines[i][: index % (len(lines[i]) + 1)] + junk):
        if new == lines[i]:
            continue
        try:
            rows = load(seg, table, gzip.compress(b"\n".join([*lines[:i], new, *lines[i + 1 :]])))
        except SegmentDamage:
            continue
        keys = {r["key"] for r in rows}  # accepted: a row of the right shape, same reports
        assert len(keys) == seg.count and len(rows) == len(lines) - 1


def test_a_segment_that_cannot_be_read_now_is_skipped_never_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read that fails (a timeout, a refused permission) is not damage: the command reads
    those reports from the reports, and the segment stays."""
    pytest.importorskip("duckdb")
    _local, ix = archive(tmp_path)
    seg = ix.segments()[0]
    original = LocalBackend.read

    def failing(self: LocalBackend, key: str) -> bytes | None:
        if key.endswith(seg.name):
            raise OSError("no answer within S3_TOTAL_TIMEOUT")
        return original(self, key)

    monkeypatch.setattr(LocalBackend, "read", failing)
    trend = ("trend", "--repo", str(tmp_path), "--repo-id", RID, "--last", "all", "--json")
    found = json.loads(cli(*trend)[1])
    assert len(found["points"]) == N and found["notes"] == [
        f"could not read 1 index segment(s) of local, their reports read from the reports "
        f"(first: {seg.name}: OSError: no answer within S3_TOTAL_TIMEOUT)"
    ]
    sql = (
        "select count(*) as n from runs where phase = 'warm' and step is null and metric = 'wall_s'"
    )
    code, out, err = cli("query", "--repo", str(tmp_path), "--format", "csv", sql)
    assert (code, out) == (0, f"n\n{N}\n") and "could not read 1 index segment(s)" in err
    assert "damaged" not in err
    monkeypatch.setattr(LocalBackend, "read", original)
    assert ix.segments() == [seg] and damaged_objects(ix.backend, "benchmarks") == []
