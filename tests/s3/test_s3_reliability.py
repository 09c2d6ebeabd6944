"""Issue 9 with stores: real servers, an endpoint that never answers, one that answers 500,
real signals and real ``ft-bench`` subprocesses."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ftbench.archive.local import LocalArchive
from ftbench.archive.s3 import S3Config, S3Store
from ftbench.archive.sync import archive_report
from procs import committed_repo as make_repo
from procs import ftbench
from s3.hostile import error_server, silent_server
from s3.s3util import admin_client, make_report, s3_env_for
from s3.servers import S3Server

pytestmark = pytest.mark.s3

QUICK = ("--runs", "1", "--cold-runs", "1", "--warmup", "0", "--progress", "never")
#: Short deadlines for the hostile endpoints; every command must end well within MARGIN_S more.
DEADLINES = {"S3_TOTAL_TIMEOUT": "4", "S3_CONNECT_TIMEOUT": "1", "S3_READ_TIMEOUT": "2"}
MARGIN_S = 40.0
FAKE = {
    "S3_BUCKET_NAME": "bkt",
    "S3_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE",
    "S3_SECRET_ACCESS_KEY": "fake-secret-fake-secret",
}


def environ(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def finish(proc: subprocess.Popen[str], within: float) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"still running after {within:.0f} s") from None
    return proc.returncode, out, err


def wait_for(predicate: object, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def local_archive(repo: Path) -> LocalArchive:
    return LocalArchive(repo / ".firsttry" / "archive")


def keys_in(server: S3Server, bucket: str) -> list[str]:
    """The report keys in ``bucket`` (not the archive index's objects)."""
    pages = admin_client(server).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = (o["Key"] for p in pages for o in p.get("Contents", []))
    return sorted(k for k in keys if "-benchmark-" in k)


# --- 2. the report is queued before the upload ------------------------------------------------


def test_a_run_killed_during_its_upload_is_sent_by_the_next_sync(
    tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    with silent_server() as url:
        env = environ(**FAKE, S3_ENDPOINT_URL=url, S3_TOTAL_TIMEOUT="120")
        proc = ftbench(
            repo, "run", "--cmd", "true", *QUICK, "--baseline", "none", "--upload-s3", env=env
        )
        try:
            wait_for(lambda: bool(local_archive(repo).pending_keys()))
            time.sleep(0.3)  # the upload is under way: the endpoint never answers it
            proc.kill()  # SIGKILL: nothing of ftbench runs after this
            proc.communicate()
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    (key,) = local_archive(repo).pending_keys()
    env = environ(**s3_env_for(s3_server, bucket))
    code, out, err = finish(ftbench(repo, "archive", "sync", env=env), MARGIN_S)
    assert code == 0, out + err
    assert "Uploaded 1 report(s)" in out
    assert keys_in(s3_server, bucket) == [key]
    assert local_archive(repo).pending_keys() == []


# --- 3. a signal while the judge reads baselines ----------------------------------------------


@pytest.mark.parametrize("upload", [False, True])
def test_ctrl_c_while_the_judge_reads_s3_still_archives(tmp_path: Path, upload: bool) -> None:
    repo = make_repo(tmp_path / "repo")
    proof = repo / ".firsttry" / "bench_proof.json"
    with silent_server() as url:
        env = environ(**FAKE, S3_ENDPOINT_URL=url, S3_TOTAL_TIMEOUT="120")
        flags = ("--upload-s3",) if upload else ()
        proc = ftbench(repo, "run", "--cmd", "true", *QUICK, *flags, env=env)
        wait_for(proof.exists)  # written right after measuring, before the judge reads S3
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        code, out, err = finish(proc, MARGIN_S)
    assert code == 130, err
    archive = local_archive(repo)
    assert len(archive.all_keys()) == 1  # archived locally all the same
    assert archive.pending_keys() == (archive.all_keys() if upload else [])
    if upload:
        assert "S3 upload queued (interrupted)" in out


# --- 4. one deadline for every command ----------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["silent", "500"])
def test_no_command_waits_on_a_bad_endpoint_beyond_its_deadline(
    tmp_path: Path, endpoint: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    server = silent_server() if endpoint == "silent" else error_server(500)
    with server as url:
        env = environ(**FAKE, **DEADLINES, S3_ENDPOINT_URL=url)
        bound = float(DEADLINES["S3_TOTAL_TIMEOUT"]) + MARGIN_S
        code, out, err = finish(ftbench(repo, "run", "--cmd", "true", *QUICK, env=env), bound)
        assert code == 0, err
        report = json.loads((repo / ".firsttry" / "bench_proof.json").read_text())
        notes = " ".join(report["regression"]["notes"])
        assert "archive s3 unavailable" in notes  # judged against the local archive
        run = ftbench(repo, "run", "--cmd", "true", *QUICK, "--upload-s3", env=env)
        code, out, err = finish(run, bound)
        assert code == 0, err
        assert "[WARN] S3 upload failed" in out
        assert len(local_archive(repo).pending_keys()) == 1
        for argv in (["archive", "list", "--s3"], ["doctor"], ["archive", "sync"], ["trend"]):
            code, out, err = finish(ftbench(repo, *argv, env=env), bound)
            assert "ft-bench: internal error" not in err, argv
            assert code in (0, 5), (argv, err)
        assert len(local_archive(repo).pending_keys()) == 1  # still queued for a later sync


# --- 5. presigned URLs never carry a session token -----------------------------------------------


def test_presigned_urls_with_a_session_token_are_not_reported(s3_server: S3Server) -> None:
    base = s3_env_for(s3_server, "bkt", S3_PRESIGN_EXPIRY="600")
    plain = S3Store(S3Config.from_env(base)).url("benchmarks/x/a.json")
    assert "X-Amz-Signature=" in plain  # presigned: long-lived keys hold no token
    tokened = S3Config.from_env({**base, "S3_SESSION_TOKEN": "canary-session-token"})
    url = S3Store(tokened).url("benchmarks/x/a.json")
    assert "canary" not in url and "Security-Token" not in url
    assert url == f"{s3_server.endpoint}/bkt/benchmarks/x/a.json"


# --- 11. a long prefix is archived, queued and uploaded ------------------------------------------


def test_a_long_prefix_uploads_and_queues(tmp_path: Path, s3_server: S3Server, bucket: str) -> None:
    repo = make_repo(tmp_path / "repo")
    prefix = "p" * 159
    good = environ(**s3_env_for(s3_server, bucket), S3_PREFIX=prefix, S3_REPO_ID="r" * 40)
    code, out, err = finish(
        ftbench(repo, "run", "--cmd", "true", *QUICK, "--upload-s3", env=good), 120
    )
    assert code == 0 and "uploaded to S3" in out, out + err
    down = {**good, "S3_ENDPOINT_URL": "http://127.0.0.1:9", "S3_MAX_ATTEMPTS": "1"}
    code, out, err = finish(
        ftbench(repo, "run", "--cmd", "true", *QUICK, "--upload-s3", env=down), 120
    )
    assert code == 0 and "[WARN] S3 upload failed" in out, out + err
    (pending,) = local_archive(repo).pending_keys()  # a hashed marker holds the long key
    code, out, err = finish(ftbench(repo, "archive", "sync", env=good), 120)
    assert code == 0, out + err
    assert pending in keys_in(s3_server, bucket) and len(keys_in(s3_server, bucket)) == 2


# --- 12. sync --all repairs an object that fails its integrity check -------------------------


def test_sync_all_repairs_a_corrupt_object(
    tmp_path: Path, s3_server: S3Server, s3_env: dict[str, str], bucket: str
) -> None:
    outcome = archive_report(make_report(1), tmp_path, upload_s3=True)
    assert outcome.uploaded
    key = outcome.local_key
    good = (tmp_path / ".firsttry" / "archive" / key).read_bytes()
    admin = admin_client(s3_server)
    bad = good.replace(b'"schema":1', b'"schema":2')
    assert bad != good
    admin.put_object(  # same metadata, other bytes: the stored copy fails its check
        Bucket=bucket, Key=key, Body=bad, Metadata={"sha256": hashlib.sha256(good).hexdigest()}
    )
    store = S3Store(S3Config.from_env())
    with pytest.raises(Exception, match="integrity check failed"):
        store.get(key)
    env = environ(**s3_env)
    code, out, err = finish(
        ftbench(tmp_path, "archive", "sync", "--all", "--repo", str(tmp_path), env=env), 120
    )
    assert code == 0, out + err
    assert "1 repaired" in out
    assert store.get(key) == good
    code, out, err = finish(
        ftbench(tmp_path, "archive", "sync", "--all", "--repo", str(tmp_path), env=env), 120
    )
    assert code == 0 and "repaired" not in out and "1 already there" in out
