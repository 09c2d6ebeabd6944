"""The local archive: atomic single writes, concurrency, listing, pending markers, keys."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ftbench.archive.base import canonical_report_bytes, report_key
from ftbench.archive.local import LocalArchive, check_key, default_archive_dir
from ftbench.archive.sync import parse_key
from ftbench.errors import SetupError


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


@pytest.mark.parametrize("bad", ["", "/abs/x.json", "a/../b.json", "a//b.json", "./a.json",
                                 ".pending/x", "a\\b.json", "a\x00b"])
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
        results.append(store.put(key("2025-11-07T05:24:05Z", f"{os.getpid():06x}{i:06x}"),
                                 b"x" * 1000, {}))
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
    leftovers = [p for p in (tmp_path / "benchmarks/abcd1234").iterdir()
                 if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_pending_markers(tmp_path: Path) -> None:
    store = LocalArchive(tmp_path)
    a, b = key("2025-11-08T00:00:00Z"), key("2025-11-07T00:00:00Z", rid="zzzz0000")
    assert store.pending_keys() == []
    store.mark_pending(a)
    store.mark_pending(b)
    store.mark_pending(a)  # idempotent
    assert store.pending_keys() == [b, a]  # oldest first
    assert store.is_pending(a)
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


_ts = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")).filter(
    lambda s: len(s) == 20)
_seg = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True).filter(
    lambda s: ".." not in s)


@given(prefix=st.lists(_seg, max_size=3).map("/".join), rid=_seg, ts=_ts,
       run_type=st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True), body=st.binary())
def test_report_key_parses_back(prefix: str, rid: str, ts: str, run_type: str,
                                body: bytes) -> None:
    k = report_key(prefix, rid, body, ts, run_type)
    parts = parse_key(k)
    assert parts is not None
    assert (parts.prefix, parts.repo_id, parts.timestamp, parts.run_type) == (
        prefix, rid, ts, run_type)
    assert len(parts.digest) == 12
    check_key(k)


@given(st.text(max_size=80))
def test_parse_key_rejects_or_parses(text: str) -> None:
    parts = parse_key(text)
    if parts is not None:
        assert text.endswith(f"-{parts.run_type}-{parts.digest}.json")


def test_same_report_same_key_different_reports_differ() -> None:
    r1 = canonical_report_bytes({"timestamp": "2025-11-07T05:24:05Z", "run_id": "a"})
    r2 = canonical_report_bytes({"timestamp": "2025-11-07T05:24:05Z", "run_id": "b"})
    k1 = report_key("benchmarks", "abcd1234", r1, "2025-11-07T05:24:05Z")
    assert k1 == report_key("benchmarks", "abcd1234", r1, "2025-11-07T05:24:05Z")
    assert k1 != report_key("benchmarks", "abcd1234", r2, "2025-11-07T05:24:05Z")
