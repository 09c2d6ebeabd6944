"""The archive index in a real bucket: written beside the reports, rebuilt from them, read by
trend (empty local directory), the baseline lookup (at most 3 objects) and DuckDB's httpfs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ftbench.archive.base import Archives, report_key
from ftbench.archive.s3 import S3Config, S3Store
from ftbench.archive.sync import archive_report
from ftbench.cli.app import main
from s3.s3util import make_report
from s3.servers import S3Server

pytestmark = pytest.mark.s3
RID = "0badc0de"


def ts(i: int) -> str:
    return f"2025-{1 + i // 200:02d}-{1 + i % 200 // 8:02d}T{i % 8:02d}:00:00Z"


def upload(store: S3Store, n: int, start: int = 0) -> list[str]:
    """``n`` reports put straight into the bucket (as an older ftbench did: no index)."""
    keys = []
    for i in range(start, start + n):
        warm = [1.0 * (1.3 if i >= 30 else 1.0) + (i % 3) / 1000] * 3
        report = make_report(i, timestamp=ts(i), warm=warm)
        data = report.archive_bytes()
        key = report_key(store.prefix, RID, data, report.timestamp)
        store.put(key, data, {}, check_exists=False)
        keys.append(key)
    return keys


@pytest.fixture
def store(s3_env: dict[str, str]) -> S3Store:
    return S3Store(S3Config.from_env())


class CountingGets:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.keys: list[str] = []
        original = S3Store.get

        def get(store: S3Store, key: str) -> bytes | None:
            self.keys.append(key)
            return original(store, key)

        monkeypatch.setattr(S3Store, "get", get)


@pytest.fixture
def gets(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingGets]:
    yield CountingGets(monkeypatch)


def trend_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    empty = tmp_path / "empty-archive"
    args = ["trend", "--repo", str(tmp_path), "--archive-dir", str(empty), "--repo-id", RID]
    assert main([*args, "--last", "all", "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_trend_from_the_bucket_builds_then_reads_the_index(
    store: S3Store, tmp_path: Path, gets: CountingGets, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = upload(store, 40)
    first = trend_json(tmp_path, capsys)
    assert len(first["points"]) == 40
    assert [c["index"] for c in first["changes"]] == [30]
    assert set(keys) <= set(gets.keys)  # every report read once, to build the index
    index = sorted(store.list_prefix("benchmarks/index/v1/"))
    assert index and all(k.endswith(".jsonl.gz") for k in index)
    assert {k.split("/")[3] for k in index} == {"runs", "samples", "reports"}
    gets.keys.clear()
    again = trend_json(tmp_path, capsys)
    assert again["points"] == first["points"] and again["changes"] == first["changes"]
    assert not set(keys) & set(gets.keys)  # no report read: the index only
    assert len(gets.keys) <= 3


def test_index_deleted_from_the_bucket_is_rebuilt(
    store: S3Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload(store, 12)
    first = trend_json(tmp_path, capsys)
    built = sorted(store.list_prefix("benchmarks/index/"))
    for key in built:
        store.delete(key)
    assert trend_json(tmp_path, capsys) == first
    assert sorted(store.list_prefix("benchmarks/index/")) == built


def test_baseline_lookup_reads_at_most_three_objects(
    store: S3Store, tmp_path: Path, gets: CountingGets, capsys: pytest.CaptureFixture[str]
) -> None:
    upload(store, 300)
    trend_json(tmp_path, capsys)  # the index exists
    # a run archives and uploads its report: it is indexed on both sides
    report = make_report(300, timestamp=ts(300))
    archive_report(report, tmp_path, upload_s3=True, archive_dir=tmp_path / "local")
    gets.keys.clear()
    taken = []
    for keyed in Archives([store]).newest(RID, []):
        taken.append(keyed.report.run_id)
        if len(taken) == 5:
            break
    assert taken == [f"{i:032x}" for i in range(300, 295, -1)]
    assert len(gets.keys) <= 3, gets.keys


def test_query_through_duckdb_httpfs(
    store: S3Store, tmp_path: Path, s3_server: S3Server, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("duckdb")
    pytest.importorskip("duckdb_extension_httpfs")
    upload(store, 20)
    args = ["query", "--s3", "--repo", str(tmp_path), "--format", "csv"]
    sql = "select repo, count(*) as reports from runs where metric = 'wall_s' group by repo"
    assert main([*args, sql]) == 0  # nothing indexed yet, and no refresh on S3 by default
    assert capsys.readouterr().out.splitlines() == ["repo,reports"]
    assert main([*args, "--refresh", "yes", sql]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["repo,reports", f"{RID},20"]
    assert s3_server.secret_key not in captured.out + captured.err
    assert main([*args, "select count(*) as n from samples"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "60"]
