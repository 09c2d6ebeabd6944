"""``archive sync`` indexes what it uploads in the bucket, as an upload during a run does."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from ftbench.archive.index import run_lines
from ftbench.archive.s3 import S3Config, S3Store
from ftbench.archive.sync import archive_report
from ftbench.cli.app import main
from s3.s3util import make_report

pytestmark = pytest.mark.s3
RID = "0badc0de"


def ts(i: int) -> str:
    return f"2025-03-{1 + i:02d}T10:00:00Z"


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def store(s3_env: dict[str, str]) -> S3Store:
    return S3Store(S3Config.from_env())


def query_s3_counts(tmp_path: Path) -> tuple[int, str, str]:
    pytest.importorskip("duckdb")
    pytest.importorskip("duckdb_extension_httpfs")
    sql = "select count(*) as n from reports"
    where = ["--repo", str(tmp_path), "--archive-dir", str(tmp_path / "empty")]
    return cli("query", "--s3", *where, "--format", "csv", sql)


def test_sync_indexes_what_it_uploads(
    tmp_path: Path, s3_env: dict[str, str], store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three runs, the last one's upload failing; ``archive sync`` sends it: the bucket's
    index lists all three (``query --s3`` reads the index only, no refresh)."""
    for i in range(3):
        if i == 2:  # nothing listens there: the upload fails, the report stays pending
            monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9")
        outcome = archive_report(make_report(i, timestamp=ts(i)), tmp_path, upload_s3=True)
        assert outcome.uploaded == (i < 2)
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_env["S3_ENDPOINT_URL"])
    code, out, err = cli("archive", "sync", "--repo", str(tmp_path))
    assert code == 0 and out.startswith("Uploaded 1 report(s) to S3") and err == ""
    notes: list[str] = []
    assert run_lines(store, RID, notes, refresh=False).indexed == 3 and notes == []
    code, out, _ = query_s3_counts(tmp_path)
    assert (code, out) == (0, "n\n3\n")


def test_the_pending_reports_a_run_sends_are_indexed(
    tmp_path: Path, s3_env: dict[str, str], store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9")
    assert archive_report(make_report(0, timestamp=ts(0)), tmp_path, upload_s3=True).pending
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_env["S3_ENDPOINT_URL"])
    out = io.StringIO()
    archive_report(make_report(1, timestamp=ts(1)), tmp_path, upload_s3=True, out=out)
    assert "Also uploaded 1 pending report(s)" in out.getvalue()
    assert run_lines(store, RID, [], refresh=False).indexed == 2
