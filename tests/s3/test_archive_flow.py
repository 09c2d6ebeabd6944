"""Local-first archiving, the CLI messages, pending uploads and ``archive sync`` on real servers."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftbench.archive import s3 as s3_module
from ftbench.archive.local import LocalArchive
from ftbench.archive.s3 import S3Config, S3Store
from ftbench.archive.sync import archive_report, open_archives, sync_pending
from ftbench.cli import archive as archive_cli
from ftbench.cli.app import main
from ftbench.report.model import ArchiveRef, Report
from s3.s3util import admin_client, make_report, new_bucket, s3_env_for
from s3.servers import S3Server, fake_credentials, free_ports

pytestmark = pytest.mark.s3

REPO = Path(__file__).resolve().parents[2]


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def keys_in(server: S3Server, bucket: str) -> list[str]:
    """The report keys in ``bucket`` (not the archive index's objects, docs/archive.md)."""
    pages = admin_client(server).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = (o["Key"] for p in pages for o in p.get("Contents", []))
    return sorted(k for k in keys if "/index/v1/" not in k)


def run_cli(argv: list[str]) -> int:
    """``ft-bench ARGV`` in this process, through the CLI's one error handler."""
    return main(argv)


def test_upload_prints_the_guide_lines(
    s3_server: S3Server, s3_env: dict[str, str], tmp_path: Path
) -> None:
    report = make_report(1)
    out = io.StringIO()
    outcome = archive_report(report, tmp_path, upload_s3=True, out=out)
    data = report.archive_bytes()
    key = outcome.s3_key
    assert key is not None
    assert outcome.uploaded and not outcome.pending and key == outcome.local_key
    url = f"{s3_server.endpoint}/{s3_env['S3_BUCKET_NAME']}/{key.replace(':', '%3A')}"
    assert out.getvalue() == (
        "✓ Benchmark report uploaded to S3\n"
        f"  Key: {key}\n"
        f"  Size: {len(data)} bytes\n"
        f"  URL: {url}\n"
    )
    assert key.startswith("benchmarks/0badc0de/2025-11-07T05:24:05Z-benchmark-")
    assert outcome.ref == ArchiveRef(local_key=key, s3_key=key, s3_url=url)
    assert report == make_report(1)  # the report itself is not changed
    assert keys_in(s3_server, s3_env["S3_BUCKET_NAME"]) == [key]
    assert (tmp_path / ".firsttry/archive" / key).read_bytes() == data
    head = admin_client(s3_server).head_object(Bucket=s3_env["S3_BUCKET_NAME"], Key=key)
    meta = {k.lower(): v for k, v in head["Metadata"].items()}
    if s3_server.kind != "rclone":  # rclone may keep no user metadata (docs/archive.md)
        assert meta == {
            "repository": report.repository.name,
            "repo-id": "0badc0de",
            "tier": "lite",
            "mode": "fast",
            "commit": "0" * 40,
            "branch": "main",
            "timestamp": "2025-11-07T05:24:05Z",
            "run-type": "benchmark",
            "schema": "1",
            "sha256": hashlib.sha256(data).hexdigest(),
        }


def test_upload_failure_warns_marks_pending_and_hides_secrets(
    s3_server: S3Server, s3_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3_SECRET_ACCESS_KEY", "bad-secret-" + "q" * 24)
    out = io.StringIO()
    outcome = archive_report(make_report(2), tmp_path, upload_s3=True, out=out)
    assert out.getvalue().startswith("[WARN] S3 upload failed: Access denied")
    assert out.getvalue().count("\n") == 1
    assert "q" * 24 not in out.getvalue() and s3_server.secret_key not in out.getvalue()
    assert outcome.pending and not outcome.uploaded
    local = LocalArchive(tmp_path / ".firsttry/archive")
    assert local.pending_keys() == [outcome.local_key]
    # The next --upload-s3 run with the right secret uploads this one and the pending one.
    monkeypatch.setenv("S3_SECRET_ACCESS_KEY", s3_server.secret_key)
    out = io.StringIO()
    second = archive_report(make_report(3), tmp_path, upload_s3=True, out=out)
    assert second.uploaded
    assert "  Also uploaded 1 pending report(s)\n" in out.getvalue()
    assert local.pending_keys() == []
    assert keys_in(s3_server, s3_env["S3_BUCKET_NAME"]) == sorted(
        [outcome.local_key, second.local_key]
    )


def test_skip_when_not_configured(tmp_path: Path) -> None:
    out = io.StringIO()
    outcome = archive_report(make_report(), tmp_path, upload_s3=True, out=out)
    assert out.getvalue() == "[SKIP] S3 upload skipped (not configured or unavailable)\n"
    assert not outcome.uploaded and not outcome.pending
    assert (tmp_path / ".firsttry/archive" / outcome.local_key).is_file()


def test_bad_setting_warns_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(
        monkeypatch,
        {
            "S3_BUCKET_NAME": "b-1",
            "S3_ENABLED": "maybe",
            "S3_SECRET_ACCESS_KEY": "shh-" + "k" * 30,
            "S3_ACCESS_KEY_ID": "AK",
        },
    )
    out = io.StringIO()
    archive_report(make_report(), tmp_path, upload_s3=True, out=out)
    assert out.getvalue().splitlines() == [
        "[WARN] S3_ENABLED must be true or false (1/0, yes/no, on/off); S3 upload disabled",
        "[SKIP] S3 upload skipped (not configured or unavailable)",
    ]


def test_no_upload_without_flag(
    s3_server: S3Server, s3_env: dict[str, str], tmp_path: Path
) -> None:
    out = io.StringIO()
    outcome = archive_report(make_report(), tmp_path, upload_s3=False, out=out)
    assert out.getvalue() == ""
    assert keys_in(s3_server, s3_env["S3_BUCKET_NAME"]) == []
    assert outcome.s3_key is None
    assert outcome.ref == ArchiveRef(local_key=outcome.local_key, s3_key=None, s3_url=None)


def test_skip_when_boto3_missing(
    s3_server: S3Server, s3_env: dict[str, str], tmp_path: Path
) -> None:
    report_file = tmp_path / "report.json"
    report_file.write_text(make_report().to_json())
    code = (
        "import sys, io\n"
        "sys.modules['boto3'] = None\n"  # makes 'import boto3' raise ImportError
        "from pathlib import Path\n"
        "from ftbench.archive.sync import archive_report\n"
        "from ftbench.report.model import Report\n"
        f"r = Report.from_json(Path({str(report_file)!r}).read_bytes())\n"
        f"o = archive_report(r, Path({str(tmp_path)!r}), upload_s3=True, "
        "repo_id_override='abcd1234')\n"
        "print(o.local_key)\n"
    )
    env = {**os.environ, **s3_env}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "[SKIP] S3 upload skipped (boto3 not installed)"
    assert lines[1].startswith("benchmarks/abcd1234/2025-11-07T05:24:05Z-benchmark-")
    assert keys_in(s3_server, s3_env["S3_BUCKET_NAME"]) == []


def test_endpoint_down_then_sync(
    s3_server: S3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = s3_env_for(s3_server, bucket)
    dead = f"http://127.0.0.1:{free_ports(1)[0]}"
    set_env(monkeypatch, {**env, "S3_ENDPOINT_URL": dead, "S3_MAX_ATTEMPTS": "1"})
    out = io.StringIO()
    outcome = archive_report(make_report(4), tmp_path, upload_s3=True, out=out)
    assert (
        out.getvalue() == f"[WARN] S3 upload failed: Connection error: could not connect "
        f"to {dead}\n"
    )
    assert outcome.pending
    set_env(monkeypatch, env)
    result = sync_pending(tmp_path)
    assert result.uploaded == [outcome.local_key] and result.ok
    assert keys_in(s3_server, bucket) == [outcome.local_key]


def test_server_stopped_mid_run_then_restarted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uploads while up, failures while down (marked pending), then ``archive sync`` uploads
    exactly the pending reports once the same server is back."""
    key, secret = fake_credentials()
    server = S3Server("seaweedfs", tmp_path / "weed", key, secret)
    server.start()
    try:
        bucket = new_bucket(server)
        set_env(monkeypatch, s3_env_for(server, bucket, S3_MAX_ATTEMPTS="1"))
        repo = tmp_path / "repo"
        repo.mkdir()
        before = [
            archive_report(
                make_report(i, timestamp=f"2025-11-07T05:24:0{i}Z"),
                repo,
                upload_s3=True,
                out=io.StringIO(),
            )
            for i in range(3)
        ]
        assert all(o.uploaded for o in before)
        server.stop()
        during = []
        for i in range(3, 7):
            out = io.StringIO()
            during.append(
                archive_report(
                    make_report(i, timestamp=f"2025-11-07T05:24:0{i}Z"),
                    repo,
                    upload_s3=True,
                    out=out,
                )
            )
            assert out.getvalue().startswith("[WARN] S3 upload failed: Connection error")
        local = LocalArchive(repo / ".firsttry/archive")
        assert local.pending_keys() == [o.local_key for o in during]
        server.start()
        assert run_cli(["archive", "sync", "--repo", str(repo)]) == 0
        assert local.pending_keys() == []
        assert keys_in(server, bucket) == sorted(o.local_key for o in before + during)
        # Nothing left: a second sync uploads nothing.
        result = sync_pending(repo)
        assert result.uploaded == [] and result.already == []
    finally:
        server.stop()


def test_sync_many_pending_and_all(
    s3_server: S3Server, s3_env: dict[str, str], tmp_path: Path
) -> None:
    local = LocalArchive(tmp_path / ".firsttry/archive")
    keys = []
    for i in range(40):
        out = archive_report(make_report(i), tmp_path, upload_s3=False)
        keys.append(out.local_key)
        if i % 2 == 0:
            local.mark_pending(out.local_key)
    # One pending report is already in the bucket (uploaded by an earlier, interrupted sync).
    S3Store(S3Config.from_env()).put(keys[0], local.get(keys[0]) or b"", {})
    result = sync_pending(tmp_path, workers=8)
    assert sorted(result.uploaded) == sorted(keys[2::2]) and result.already == [keys[0]]
    assert local.pending_keys() == []
    assert keys_in(s3_server, s3_env["S3_BUCKET_NAME"]) == sorted(keys[0::2])
    result = sync_pending(tmp_path, include_all=True)
    assert sorted(result.uploaded) == sorted(keys[1::2])
    assert keys_in(s3_server, s3_env["S3_BUCKET_NAME"]) == sorted(keys)


def test_open_archives_reads_both(
    s3_server: S3Server, s3_env: dict[str, str], tmp_path: Path
) -> None:
    outcome = archive_report(make_report(9), tmp_path, upload_s3=True, out=io.StringIO())
    archives, notes = open_archives(tmp_path)
    assert [s.name for s in archives.stores] == ["local", "s3"] and notes == []
    for store in archives.stores:
        assert store.list_keys("0badc0de") == [outcome.local_key]
        assert Report.from_json(store.get(outcome.local_key) or b"") == make_report(9)
    # Both stores hold it: the history has it once.
    found = list(archives.newest("0badc0de", notes))
    assert [(k.key, k.report) for k in found] == [(outcome.local_key, make_report(9))]
    assert notes == []
    assert archives.find(outcome.local_key.rsplit("/", 1)[-1], "0badc0de") == found[0]


def test_open_archives_notes_why_s3_is_not_read(
    s3_server: S3Server, s3_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad setting or a missing boto3: the local archive alone, and a note; a bucket that
    cannot be reached: a note from the history, and the local reports still read."""
    local = archive_report(make_report(8), tmp_path, upload_s3=False)
    monkeypatch.setenv("S3_ENDPOINT_URL", "ftp://127.0.0.1:1")
    archives, notes = open_archives(tmp_path)
    assert [s.name for s in archives.stores] == ["local"]
    assert notes == [
        "S3 archive not read: S3 not configured or unavailable "
        "(S3_ENDPOINT_URL must start with https:// or http://)"
    ]
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_env["S3_ENDPOINT_URL"])
    with monkeypatch.context() as patch:
        patch.setattr(s3_module, "boto3_available", lambda: False)
        archives, notes = open_archives(tmp_path)
    assert [s.name for s in archives.stores] == ["local"]
    assert notes == ["S3 archive not read: boto3 not installed (pip install 'ftbench[s3]')"]
    set_env(
        monkeypatch,
        {
            **s3_env,
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_ports(1)[0]}",
            "S3_MAX_ATTEMPTS": "1",
        },
    )
    archives, notes = open_archives(tmp_path)
    assert [s.name for s in archives.stores] == ["local", "s3"] and notes == []
    assert [k.key for k in archives.newest("0badc0de", notes)] == [local.local_key]
    assert len(notes) == 1 and notes[0].startswith(
        "archive s3 unavailable: S3Error: Connection error"
    )
    monkeypatch.delenv("S3_BUCKET_NAME")
    assert open_archives(tmp_path)[1] == []  # S3 not asked for: no note


def test_cli_list_show_sync_doctor(
    s3_server: S3Server, s3_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = archive_report(make_report(1, timestamp="2025-11-07T05:24:05Z"), tmp_path, upload_s3=False)
    b = archive_report(
        make_report(2, timestamp="2025-11-08T05:24:05Z"),
        tmp_path,
        upload_s3=True,
        out=io.StringIO(),
    )
    LocalArchive(tmp_path / ".firsttry/archive").mark_pending(a.local_key)
    capsys.readouterr()
    assert (
        run_cli(["archive", "list", "--keys", "--repo", str(tmp_path), "--repo-id", "0badc0de"])
        == 0
    )
    assert capsys.readouterr().out.splitlines() == [b.local_key, f"{a.local_key}  (pending upload)"]
    assert (
        run_cli(
            ["archive", "list", "--keys", "--s3", "--repo", str(tmp_path), "--repo-id", "0badc0de"]
        )
        == 0
    )
    assert capsys.readouterr().out.splitlines() == [b.local_key]
    assert run_cli(["archive", "show", a.local_key, "--repo", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith('{\n  "schema": 1,\n') and Report.from_json(shown) == make_report(1)
    assert run_cli(["archive", "show", "--s3", b.local_key, "--repo", str(tmp_path)]) == 0
    assert Report.from_json(capsys.readouterr().out) == make_report(
        2, timestamp="2025-11-08T05:24:05Z"
    )
    assert (
        run_cli(["archive", "show", "--s3", "benchmarks/x/nope.json", "--repo", str(tmp_path)]) == 5
    )
    err = capsys.readouterr().err
    assert err.startswith("ft-bench: error: no report 'benchmarks/x/nope.json'")
    assert run_cli(["archive", "sync", "--repo", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("Uploaded 1 report(s) to S3, 0 already there")
    assert run_cli(["archive", "sync", "--repo", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "Nothing to upload: no pending reports\n"
    assert run_cli(["doctor", "--repo", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert s3_server.secret_key not in captured.out + captured.err
    for line in (
        "  write   ok",
        "  read    ok",
        "  list    ok",
        "  delete  ok",
        "S3 archive ready: uploads will work",
    ):
        assert line in captured.out.splitlines()
    assert "secret_access_key  ****" in captured.out
    # The probe object is gone.
    assert not [k for k in keys_in(s3_server, s3_env["S3_BUCKET_NAME"]) if "doctor" in k]


@pytest.mark.parametrize("case", ["wrong_secret", "no_bucket", "down"])
def test_doctor_hints(
    seaweed: S3Server,
    tmp_path: Path,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = s3_env_for(seaweed, new_bucket(seaweed), S3_MAX_ATTEMPTS="1")
    if case == "wrong_secret":
        env["S3_SECRET_ACCESS_KEY"] = "not-the-secret-" + "w" * 20
    elif case == "no_bucket":
        env["S3_BUCKET_NAME"] = "missing-bucket-doctor"
    else:
        env["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_ports(1)[0]}"
    set_env(monkeypatch, env)
    assert run_cli(["doctor", "--repo", str(tmp_path)]) == 5
    out = capsys.readouterr().out
    hint = {
        "wrong_secret": archive_cli.HINTS["access_denied"],
        "no_bucket": archive_cli.HINTS["no_bucket"],
        "down": archive_cli.HINTS["connection"],
    }[case]
    assert f"          hint: {hint}" in out.splitlines()
    assert "w" * 20 not in out and seaweed.secret_key not in out


@pytest.mark.slow
def test_ft_bench_run_upload_s3_end_to_end(
    s3_server: S3Server, s3_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**os.environ, **s3_env}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ftbench",
            "run",
            "--cmd",
            "true",
            "--runs",
            "1",
            "--cold-runs",
            "1",
            "--upload-s3",
            "--repo",
            str(tmp_path),
            "--quiet",
            "--progress",
            "never",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    i = lines.index("✓ Benchmark report uploaded to S3")
    assert lines[i + 1].startswith("  Key: benchmarks/")
    assert lines[i + 2].endswith(" bytes") and lines[i + 3].startswith("  URL: http://127.0.0.1:")
    key = lines[i + 1].removeprefix("  Key: ")
    assert keys_in(s3_server, s3_env["S3_BUCKET_NAME"]) == [key]
    assert s3_server.secret_key not in proc.stdout + proc.stderr
    written = [p for p in (tmp_path / ".firsttry").rglob("*") if p.is_file()]
    assert any(p.name.endswith(".json") for p in written)
    for path in written:
        assert s3_server.secret_key.encode() not in path.read_bytes(), path


def test_sync_and_list_without_s3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["archive", "sync", "--repo", str(tmp_path)]) == 5
    assert capsys.readouterr().out == "[SKIP] S3 upload skipped (not configured or unavailable)\n"
    assert run_cli(["archive", "list", "--s3", "--repo", str(tmp_path)]) == 5
    assert capsys.readouterr().err.startswith("ft-bench: error: S3 not configured or unavailable")
    assert run_cli(["archive", "list", "--repo", str(tmp_path), "--repo-id", "../x"]) == 2
    assert capsys.readouterr().err.startswith("ft-bench: error: --repo-id must be")
    assert run_cli(["doctor", "--repo", str(tmp_path)]) == 0
    assert "S3: not configured (local archive only)" in capsys.readouterr().out
