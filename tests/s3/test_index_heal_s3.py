"""The archive index in a real bucket: a damaged segment is treated as missing by every reader
(trend, archive list --s3, the dashboard, query --s3 through httpfs, the baseline lookup) and
replaced by the next writer; concurrent uploading runs leave SQL one row per report."""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from damage import DAMAGE, damage, damaged_objects
from ftbench.analyse.dashboard import build
from ftbench.archive import index_rows
from ftbench.archive.base import Archives, report_key
from ftbench.archive.index import index_of, run_lines
from ftbench.archive.index_store import IndexStore, _lines
from ftbench.archive.s3 import S3Config, S3Store
from ftbench.archive.sync import archive_report
from ftbench.cli.app import main
from s3.s3util import admin_client, make_report, new_bucket, s3_env_for
from s3.servers import S3Server

pytestmark = pytest.mark.s3
RID = "0badc0de"
N = 6
KINDS = sorted(DAMAGE)


def ts(i: int) -> str:
    return f"2025-03-{1 + i:02d}T10:00:00Z"


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def shared_bucket(s3_server: S3Server) -> str:
    """One bucket for the module (a SeaweedFS bucket takes volumes of its own)."""
    return new_bucket(s3_server)


@pytest.fixture
def s3_env(
    s3_server: S3Server, shared_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The S3_* variables of the module's bucket, under a prefix of this test's own."""
    env = s3_env_for(s3_server, shared_bucket, S3_PREFIX=f"t-{secrets.token_hex(6)}")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def store(s3_env: dict[str, str]) -> S3Store:
    return S3Store(S3Config.from_env())


@pytest.fixture
def ix(store: S3Store) -> IndexStore:
    """``N`` reports in the bucket, indexed (one segment)."""
    for i in range(N):
        data = make_report(i, timestamp=ts(i)).archive_bytes()
        store.put(report_key(store.prefix, RID, data, ts(i)), data, {}, check_exists=False)
    run_lines(store, RID, [])
    found = index_of(store)
    assert found is not None and [s.count for s in found.segments()] == [N]
    return found


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def damage_notes(text: str | list[str]) -> list[str]:
    lines = text.splitlines() if isinstance(text, str) else text
    return [line for line in lines if "damaged (" in line]


def where(tmp_path: Path) -> list[str]:
    """A repository with an empty local archive: only the bucket holds reports."""
    return ["--repo", str(tmp_path), "--archive-dir", str(tmp_path / "empty")]


def test_trend_from_the_bucket(tmp_path: Path, ix: IndexStore, kind: str) -> None:
    args = ("trend", *where(tmp_path), "--repo-id", RID, "--last", "all", "--json")
    intact = json.loads(cli(*args)[1])
    damage(ix, "runs", kind)
    found = json.loads(cli(*args)[1])
    assert found["points"] == intact["points"] and len(found["points"]) == N
    assert len(damage_notes(found["notes"])) == 1
    assert damaged_objects(ix.backend, ix.prefix) == []


def test_archive_list_of_the_bucket(tmp_path: Path, ix: IndexStore, kind: str) -> None:
    args = ("archive", "list", "--s3", *where(tmp_path), "--repo-id", RID)
    intact = cli(*args)[1]
    damage(ix, "runs", kind)
    code, out, err = cli(*args)
    assert code == 0 and out == intact and sum(" ok " in x for x in out.splitlines()) == N
    assert len(damage_notes(err)) == 1
    assert damaged_objects(ix.backend, ix.prefix) == []


def test_dashboard_from_the_bucket(
    tmp_path: Path, ix: IndexStore, store: S3Store, kind: str
) -> None:
    damage(ix, "runs", kind)
    site = build(Archives([store]), RID, tmp_path / "site")
    assert site.reports == N and len(damage_notes(site.notes)) == 1
    assert damaged_objects(ix.backend, ix.prefix) == []


def test_baseline_lookup_from_the_bucket(ix: IndexStore, store: S3Store, kind: str) -> None:
    damage(ix, "reports", kind)
    notes: list[str] = []
    found = [k.report.run_id for k in Archives([store]).newest(RID, notes)]
    assert found == [f"{i:032x}" for i in reversed(range(N))]
    (note,) = damage_notes(notes)
    assert note.endswith("skipped, its reports read one by one")


def test_a_later_uploading_run_replaces_the_segment(
    tmp_path: Path, ix: IndexStore, store: S3Store, kind: str
) -> None:
    damage(ix, "runs", kind)
    outcome = archive_report(make_report(N, timestamp=ts(N)), tmp_path, upload_s3=True)
    assert outcome.uploaded and damaged_objects(ix.backend, ix.prefix) == []
    notes: list[str] = []
    found = run_lines(store, RID, notes)
    assert (found.indexed, found.derived, notes) == (N + 1, 0, [])


SQL = (
    "select (select count(*) from reports) as reports, "
    "(select count(report->>'run_id') from reports) as ids, "
    "(select count(distinct key) from runs) as run_keys, "
    "(select count(value) from runs where metric = 'wall_s') as walls, "
    "(select count(wall_s) from samples) as samples"
)


def query_s3(tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    pytest.importorskip("duckdb")
    pytest.importorskip("duckdb_extension_httpfs")
    return cli("query", "--s3", *where(tmp_path), "--format", "csv", *extra, SQL)


@pytest.mark.parametrize("table", ["runs", "samples", "reports"])
def test_query_s3_reads_the_reports_of_a_damaged_segment(
    tmp_path: Path, ix: IndexStore, kind: str, table: str, s3_server: S3Server
) -> None:
    """``query --s3`` does not write the bucket by default: the rows come from the reports,
    a note says so, every time until a writer replaces the segment."""
    intact = query_s3(tmp_path)
    assert intact[0] == 0 and intact[1].splitlines()[1].startswith(f"{N},{N},{N},")
    seg = damage(ix, table, kind)
    code, out, err = query_s3(tmp_path)
    assert (code, out) == intact[:2]
    (note,) = damage_notes(err)
    assert note.endswith("skipped, its reports read from the reports")
    assert s3_server.secret_key not in out + err
    assert damaged_objects(ix.backend, ix.prefix) == [seg.path(ix.prefix, table)]
    assert query_s3(tmp_path, "--refresh", "yes")[:2] == intact[:2]  # yes: replaced
    assert damaged_objects(ix.backend, ix.prefix) == []
    assert query_s3(tmp_path) == intact


def test_a_checksum_mismatch_is_damage(
    tmp_path: Path, ix: IndexStore, store: S3Store, s3_server: S3Server
) -> None:
    """Bytes that are not those the writer stored (its sha256 metadata kept)."""
    if s3_server.kind == "rclone":
        pytest.skip("rclone serve s3 may keep no user metadata")
    seg = ix.segments()[0]
    key = seg.path(ix.prefix, "runs")
    admin = admin_client(s3_server)
    head = admin.head_object(Bucket=store.bucket, Key=key)
    body = DAMAGE["other reports"](store.get(key) or b"", "runs")
    admin.put_object(Bucket=store.bucket, Key=key, Body=body, Metadata=head["Metadata"])
    args = ("trend", *where(tmp_path), "--repo-id", RID, "--last", "all", "--json")
    found = json.loads(cli(*args)[1])
    assert len(found["points"]) == N
    (note,) = damage_notes(found["notes"])
    assert "(its bytes do not match their checksum)" in note
    assert damaged_objects(ix.backend, ix.prefix) == []


def query_s3_counts(tmp_path: Path) -> tuple[int, str, str]:
    pytest.importorskip("duckdb")
    pytest.importorskip("duckdb_extension_httpfs")
    sql = "select count(*) as n from reports"
    return cli("query", "--s3", *where(tmp_path), "--format", "csv", sql)


# --- many writers -------------------------------------------------------------------------------

WRITER = """
import io, sys
from pathlib import Path
sys.path[:0] = {paths!r}
from s3.s3util import make_report
from ftbench.archive.sync import archive_report
i = int(sys.argv[1])
report = make_report(i, timestamp=f"2025-04-01T10:00:{{i:02d}}Z")
outcome = archive_report(report, Path(sys.argv[2]), upload_s3=True, out=io.StringIO())
assert outcome.uploaded
"""


def test_concurrent_uploading_runs_leave_one_row_per_report(
    tmp_path: Path, s3_env: dict[str, str], store: S3Store
) -> None:
    tests = Path(__file__).resolve().parents[1]
    code = WRITER.format(paths=[str(tests), str(tests / "s3")])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(i), str(tmp_path / f"r{i}")], env={**os.environ}
        )
        for i in range(12)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 12
    assert query_s3_counts(tmp_path)[:2] == (0, "n\n12\n")
    notes: list[str] = []
    assert len(run_lines(store, RID, notes, refresh=False).lines) == 12 and notes == []


def test_overlapping_segments_in_the_bucket_count_once(
    tmp_path: Path, store: S3Store, ix: IndexStore
) -> None:
    """What concurrent writers leave at worst: segments sharing reports, none merged."""
    items = []
    for i in range(N, N + 4):
        report = make_report(i, timestamp=ts(i))
        data = report.archive_bytes()
        key = report_key(store.prefix, RID, data, report.timestamp)
        store.put(key, data, {}, check_exists=False)
        items.append((key, data, report))
    for group in (items[:3], items[1:], items):  # written without compaction
        tables = {
            "runs": [line for k, _, r in group for line in _lines(index_rows.run_rows(k, r))],
            "samples": [x for k, _, r in group for x in _lines(index_rows.sample_rows(k, r))],
            "reports": [index_rows.report_row(k, d) for k, d, _ in group],
        }
        ix.write_segment(RID, "2025-03", tables, {k: r.timestamp for k, _, r in group})
    assert sum(s.count for s in ix.segments()) == N + 3 + 3 + 4
    assert query_s3_counts(tmp_path)[:2] == (0, f"n\n{N + 4}\n")
