"""The local archive: atomic single writes, concurrency, listing, pending markers, keys;
archiving a report without S3, object metadata, ``open_archives`` and ``archive show``."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import multiprocessing
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factory import make_report
from ftbench.archive.base import report_key
from ftbench.archive.local import LocalArchive, check_key, default_archive_dir
from ftbench.archive.metadata import metadata_for_key, report_metadata
from ftbench.archive.sync import archive_report, open_archives, parse_key
from ftbench.cli.app import main
from ftbench.errors import SetupError
from ftbench.report.model import ArchiveRef, Report


def key(ts: str, digest: str = "0" * 12, rid: str = "abcd1234") -> str:
    return f"benchmarks/{rid}/{ts}-benchmark-{digest}.json"


def test_put_get_exists_and_no_overwrite(tmp_path: Path) -> None:
    store = LocalArchive(tmp_path)
    k = key("2025-11-07T05:24:05Z")
    assert store.get(k) is None and not store.exists(k)
    assert store.put(k, b"one", {}) is True
    assert store.put(k, b"two", {}) is False  # never overwritten
    assert store.get(k) == b"one" and store.exists(k)
    assert [p.name for p in (tmp_path / "benchmarks/abcd1234").iterdir()] == [k.split("/")[-1]]


def test_list_newest_first_with_limit(tmp_path: Path) -> None:
    store = LocalArchive(tmp_path)
    stamps = ["2025-11-08T10:15:30Z", "2025-11-07T05:24:05Z", "2025-11-09T15:45:22Z"]
    for i, ts in enumerate(stamps):
        store.put(key(ts, f"{i:012x}"), b"{}", {})
    store.put(key("2030-01-01T00:00:00Z", rid="other"), b"{}", {})
    (tmp_path / "benchmarks/abcd1234/notes.txt").write_text("x")
    expected = [key(ts, f"{stamps.index(ts):012x}") for ts in sorted(stamps, reverse=True)]
    assert store.list_keys("abcd1234") == expected
    assert store.list_keys("abcd1234", limit=2) == expected[:2]
    assert store.list_keys("abcd1234", limit=0) == []
    assert store.list_keys("nothing") == []
    assert store.repo_ids() == ["abcd1234", "other"]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "/abs/x.json",
        "a/../b.json",
        "a//b.json",
        "./a.json",
        ".pending/x",
        "a\\b.json",
        "a\x00b",
    ],
)
def test_bad_keys_rejected(tmp_path: Path, bad: str) -> None:
    with pytest.raises(SetupError):
        LocalArchive(tmp_path).put(bad, b"x", {})
    with pytest.raises(SetupError):
        check_key(bad)


def _writer(args: tuple[str, str, int]) -> list[bool]:
    root, k, n = args
    store = LocalArchive(Path(root))
    results = [store.put(k, b"same bytes", {})]
    for i in range(n):
        results.append(
            store.put(key("2025-11-07T05:24:05Z", f"{os.getpid():06x}{i:06x}"), b"x" * 1000, {})
        )
    return results


def test_concurrent_processes(tmp_path: Path) -> None:
    shared = key("2025-11-07T05:24:05Z", "f" * 12)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_writer, [(str(tmp_path), shared, 25)] * 4)
    assert sum(r[0] for r in results) == 1  # exactly one process created the shared key
    assert all(all(r[1:]) for r in results)
    store = LocalArchive(tmp_path)
    assert len(store.list_keys("abcd1234")) == 1 + 4 * 25
    assert store.get(shared) == b"same bytes"
    leftovers = [
        p for p in (tmp_path / "benchmarks/abcd1234").iterdir() if p.name.startswith(".tmp-")
    ]
    assert leftovers == []


def test_pending_markers(tmp_path: Path) -> None:
    store = LocalArchive(tmp_path)
    a, b = key("2025-11-08T00:00:00Z"), key("2025-11-07T00:00:00Z", rid="zzzz0000")
    assert store.pending_keys() == []
    store.mark_pending(a)
    store.mark_pending(b)
    store.mark_pending(a)  # idempotent
    assert store.pending_keys() == [b, a]  # oldest first
    store.clear_pending(a)
    store.clear_pending(a)  # idempotent
    assert store.pending_keys() == [b]
    assert store.list_keys("abcd1234") == []  # markers are not reports


def test_default_archive_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FTBENCH_ARCHIVE_DIR", raising=False)
    assert default_archive_dir(tmp_path) == tmp_path / ".firsttry/archive"
    monkeypatch.setenv("FTBENCH_ARCHIVE_DIR", "store")
    assert default_archive_dir(tmp_path) == tmp_path / "store"
    monkeypatch.setenv("FTBENCH_ARCHIVE_DIR", str(tmp_path / "abs"))
    assert default_archive_dir(tmp_path) == tmp_path / "abs"
    assert default_archive_dir(tmp_path, tmp_path / "flag") == tmp_path / "flag"


_ts = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")).filter(lambda s: len(s) == 20)
_seg = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True).filter(
    lambda s: ".." not in s
)


@given(
    prefix=st.lists(_seg, max_size=3).map("/".join),
    rid=_seg,
    ts=_ts,
    run_type=st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
    body=st.binary(),
)
def test_report_key_parses_back(prefix: str, rid: str, ts: str, run_type: str, body: bytes) -> None:
    k = report_key(prefix, rid, body, ts, run_type)
    parts = parse_key(k)
    assert parts is not None
    assert (parts.prefix, parts.repo_id, parts.timestamp, parts.run_type) == (
        prefix,
        rid,
        ts,
        run_type,
    )
    assert len(parts.digest) == 12
    check_key(k)


@given(st.text(max_size=80))
def test_parse_key_rejects_or_parses(text: str) -> None:
    parts = parse_key(text)
    if parts is not None:
        assert text.endswith(f"-{parts.run_type}-{parts.digest}.json")


@pytest.fixture
def no_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("S3_", "FTBENCH_")):
            monkeypatch.delenv(name)


def report(i: int = 1, **kwargs: object) -> Report:
    """A report as a run has it before archiving (the factory's template has an archive)."""
    made = make_report([1.0, 1.1, 1.2], run_id=f"{i:032x}", **kwargs)  # type: ignore[arg-type]
    return dataclasses.replace(made, archive=None)


def test_same_report_same_key_different_reports_differ() -> None:
    r1, r2 = report(1), report(2)
    k1 = report_key("benchmarks", "abcd1234", r1.archive_bytes(), r1.timestamp)
    assert k1 != report_key("benchmarks", "abcd1234", r2.archive_bytes(), r2.timestamp)
    # The archive block is not part of the archived bytes: attaching it keeps the key.
    attached = dataclasses.replace(r1, archive=ArchiveRef(local_key=k1, s3_key=None, s3_url=None))
    assert attached.archive_bytes() == r1.archive_bytes()


def test_archive_report_locally(tmp_path: Path, no_s3: None) -> None:
    r = report(1, timestamp="2025-11-07T05:24:05Z")
    out = io.StringIO()
    first = archive_report(r, tmp_path, out=out)
    data = r.archive_bytes()
    assert first.local_key == (
        "benchmarks/abcd1234/2025-11-07T05:24:05Z-benchmark-"
        f"{hashlib.sha256(data).hexdigest()[:12]}.json"
    )
    assert first.local_path == tmp_path / ".firsttry/archive" / first.local_key
    assert first.local_path.read_bytes() == data
    assert first.ref == ArchiveRef(local_key=first.local_key, s3_key=None, s3_url=None)
    assert not first.uploaded and not first.pending and out.getvalue() == ""
    # Idempotent: the same report again gets the same key and one file.
    again = archive_report(r, tmp_path, out=out)
    assert again.local_key == first.local_key
    assert len(list(first.local_path.parent.iterdir())) == 1
    # The archived bytes read back as the same report.
    assert Report.from_json(first.local_path.read_bytes()) == r
    # --repo-id and --archive-dir; another run type.
    other = archive_report(
        r, tmp_path, archive_dir=Path("elsewhere"), repo_id_override="x-1", run_type="nightly"
    )
    assert other.local_key.startswith("benchmarks/x-1/2025-11-07T05:24:05Z-nightly-")
    assert (tmp_path / "elsewhere" / other.local_key).is_file()


def test_archive_report_unwritable_archive_is_a_setup_error(tmp_path: Path, no_s3: None) -> None:
    (tmp_path / "blocked").write_text("a file where the archive should be")
    with pytest.raises(SetupError, match=r"cannot write the local archive .*blocked"):
        archive_report(report(), tmp_path, archive_dir=Path("blocked"))


def test_report_metadata_from_the_model() -> None:
    r = report(3, timestamp="2025-11-07T05:24:05Z", branch="feat/x y", commit="c" * 40)
    data = r.archive_bytes()
    meta = report_metadata(r, data, repo_id="abcd1234", run_type="benchmark")
    assert meta == {
        "repository": r.repository.name,
        "repo-id": "abcd1234",
        "tier": "lite",
        "mode": "normal",
        "commit": "c" * 40,
        "branch": "feat/x y",
        "timestamp": "2025-11-07T05:24:05Z",
        "run-type": "benchmark",
        "schema": "1",
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    unicode_branch = dataclasses.replace(r, git=dataclasses.replace(r.git, branch="ü"))
    assert report_metadata(unicode_branch, data, repo_id="a", run_type="b")["branch"] == "%C3%BC"
    no_branch = dataclasses.replace(r, git=dataclasses.replace(r.git, branch=None))
    assert "branch" not in report_metadata(no_branch, data, repo_id="a", run_type="b")
    key = report_key("benchmarks", "abcd1234", data, r.timestamp, "nightly")
    assert metadata_for_key(key, data) == {**meta, "run-type": "nightly"}


def test_metadata_of_a_file_that_is_not_a_report_comes_from_its_key() -> None:
    key = "benchmarks/abcd1234/2025-11-07T05:24:05Z-benchmark-0123456789ab.json"
    for data in (b"{}", b"not json", b'{"schema": 1}'):
        assert metadata_for_key(key, data) == {
            "repo-id": "abcd1234",
            "timestamp": "2025-11-07T05:24:05Z",
            "run-type": "benchmark",
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    assert metadata_for_key("odd/name.json", b"{}") == {
        "run-type": "benchmark",
        "sha256": hashlib.sha256(b"{}").hexdigest(),
    }


def test_open_archives_without_s3(tmp_path: Path, no_s3: None) -> None:
    archived = [
        archive_report(report(i, timestamp=f"2025-11-0{i}T00:00:00Z"), tmp_path) for i in (1, 2)
    ]
    archives, notes = open_archives(tmp_path)
    assert [s.name for s in archives.stores] == ["local"] and notes == []
    found = list(archives.newest("abcd1234", notes))
    assert [k.key for k in found] == [archived[1].local_key, archived[0].local_key]
    assert found[0].report == report(2, timestamp="2025-11-02T00:00:00Z")
    assert open_archives(tmp_path, scan_limit=1)[0].scan_limit == 1


def test_cli_show_and_list(tmp_path: Path, no_s3: None, capsys: pytest.CaptureFixture[str]) -> None:
    r = report(1)
    outcome = archive_report(r, tmp_path)
    assert main(["archive", "show", outcome.local_key, "--repo", str(tmp_path)]) == 0
    shown = capsys.readouterr()
    assert Report.from_json(shown.out) == r and shown.out.startswith('{\n  "schema": 1,\n')
    # A stored file that is not a report is said to be corrupt (exit 5), and shown as stored.
    bad_key = "benchmarks/abcd1234/2025-11-07T05:24:05Z-benchmark-0123456789ab.json"
    (tmp_path / ".firsttry/archive" / bad_key).write_bytes(b'{"schema": 1}')
    assert main(["archive", "show", bad_key, "--repo", str(tmp_path)]) == 5
    shown = capsys.readouterr()
    assert shown.out == '{"schema": 1}\n'
    assert shown.err.startswith(f"[ERROR] corrupt report: {bad_key}: ")
    assert shown.err.endswith("; shown as stored\n")
    # Bytes that are not even text, and a directory where the report's file should be.
    (tmp_path / ".firsttry/archive" / bad_key).write_bytes(b"\x00\xff\xfe garbage")
    assert main(["archive", "show", bad_key, "--repo", str(tmp_path)]) == 5
    assert "corrupt report" in capsys.readouterr().err
    dir_key = "benchmarks/abcd1234/2025-11-08T05:24:05Z-benchmark-0123456789ab.json"
    (tmp_path / ".firsttry/archive" / dir_key).mkdir()
    assert main(["archive", "show", dir_key, "--repo", str(tmp_path)]) == 5
    assert "corrupt report" in capsys.readouterr().err
    assert main(["archive", "show", "benchmarks/x/none.json", "--repo", str(tmp_path)]) == 5
    assert capsys.readouterr().err.startswith(
        "ft-bench: error: no report 'benchmarks/x/none.json' in "
    )
    assert (
        main(
            [
                "archive",
                "list",
                "--keys",
                "--repo",
                str(tmp_path),
                "--repo-id",
                "abcd1234",
                "--limit",
                "1",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.splitlines() == [outcome.local_key]
    with pytest.raises(SystemExit) as exit_info:  # argparse's usage error
        main(["archive", "list", "--repo", str(tmp_path), "--limit", "-1"])
    assert exit_info.value.code == 2
    assert "argument --limit: expected a whole number >= 0" in capsys.readouterr().err
    assert main(["archive", "list", "--repo", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.startswith("ft-bench: error: --repo: not a directory")


def test_cli_unreadable_archive_is_exit_5(
    tmp_path: Path, no_s3: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """File-system errors are one line and exit 5, not an internal error (a symlink loop:
    an OSError even for root)."""
    loops = tmp_path / "arch" / "benchmarks" / "loop"
    loops.parent.mkdir(parents=True)
    loops.symlink_to(loops)
    common = ["--repo", str(tmp_path), "--archive-dir", str(tmp_path / "arch")]
    assert main(["archive", "list", "--repo-id", "loop", *common]) == 5
    err = capsys.readouterr().err
    assert err.startswith("ft-bench: error: cannot read the local archive ")
    assert err.count("\n") == 1
    assert main(["archive", "show", "benchmarks/loop/x.json", *common]) == 5
    err = capsys.readouterr().err
    assert err.startswith("ft-bench: error: cannot read the local archive ")
    blocked = tmp_path / "blocked"
    blocked.write_text("x")
    with pytest.raises(SetupError, match="cannot write the local archive"):
        LocalArchive(blocked).mark_pending("benchmarks/abcd1234/x.json")
