"""The commands that read the archive, on an archive they cannot use (exit 5, one line) and on
a report written by a newer ftbench (said so, never "corrupt" or "failed")."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest

from factory import make_report, noisy, ts
from ftbench.archive.base import Archives, report_key
from ftbench.archive.local import LocalArchive
from ftbench.cli.app import main

RID = "abcd1234"
UPGRADE = "written by a newer ftbench (schema 2): upgrade ftbench"


@pytest.fixture(autouse=True)
def _no_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("S3_") or name == "FTBENCH_ARCHIVE_DIR":
            monkeypatch.delenv(name)


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


READERS = {
    "archive list": ["archive", "list", "--repo-id", RID],
    "archive list --keys": ["archive", "list", "--keys", "--repo-id", RID],
    "archive show": ["archive", "show", f"benchmarks/{RID}/x.json"],
    "trend": ["trend", "--repo-id", RID],
    "query": ["query", "select count(*) from runs"],
    "dashboard": ["dashboard", "--repo-id", RID],
    "compare": ["compare", f"benchmarks/{RID}/a.json", f"benchmarks/{RID}/b.json"],
}


def _regular_file(repo: Path) -> str:
    (repo / ".firsttry").mkdir()
    (repo / ".firsttry" / "archive").write_text("not a directory")
    return "is not a directory"


def _under_a_file(repo: Path) -> str:
    (repo / ".firsttry").write_text("a file where the directory goes")
    return "lies under a file"


def _prefix_is_a_file(repo: Path) -> str:
    (repo / ".firsttry" / "archive").mkdir(parents=True)
    (repo / ".firsttry" / "archive" / "benchmarks").write_text("x")
    return "is not a directory"


def _a_symlink_loop(repo: Path) -> str:  # cannot be listed, even by root
    (repo / ".firsttry").mkdir()
    (repo / ".firsttry" / "archive").symlink_to(repo / ".firsttry" / "archive")
    return "Too many levels of symbolic links"


UNUSABLE = {
    "a regular file": _regular_file,
    "under a file": _under_a_file,
    "prefix directory is a file": _prefix_is_a_file,
    "cannot be listed": _a_symlink_loop,
}


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("unusable", sorted(UNUSABLE))
def test_an_unusable_archive_is_exit_5_with_one_line(
    tmp_path: Path, reader: str, unusable: str
) -> None:
    if reader == "query":
        pytest.importorskip("duckdb")
    why = UNUSABLE[unusable](tmp_path)
    site = ["--out", str(tmp_path / "site")] if reader == "dashboard" else []
    code, out, err = cli(*READERS[reader], *site, "--repo", str(tmp_path))
    assert code == 5 and out == ""
    assert err.startswith(f"ft-bench: error: cannot read the local archive {tmp_path}/")
    assert why in err and err.count("\n") == 1


def test_a_missing_archive_is_an_empty_one(tmp_path: Path) -> None:
    code, _out, err = cli("archive", "list", "--repo", str(tmp_path), "--repo-id", RID)
    assert code == 0 and err.startswith(f"No reports for repository {RID} in ")
    assert cli("trend", "--repo", str(tmp_path), "--repo-id", RID)[0] == 0


# --- a report of a newer schema ----------------------------------------------------------------


def newer_archive(repo: Path) -> tuple[LocalArchive, str]:
    """Three reports; the newest written by a newer ftbench (schema 2)."""
    local = LocalArchive(repo / ".firsttry" / "archive")
    for i in range(3):
        r = make_report(warm=noisy(0.1, 5, seed=i), timestamp=ts(i), run_id=f"{i:032x}")
        data = r.archive_bytes()
        if i == 2:
            value = json.loads(data)
            value["schema"] = 2
            data = json.dumps(value).encode()
        key = report_key("benchmarks", RID, data, ts(i))
        local.put(key, data)
    return local, key


def test_archive_list_and_show_say_newer_ftbench(tmp_path: Path) -> None:
    _local, key = newer_archive(tmp_path)
    code, out, err = cli("archive", "list", "--repo", str(tmp_path), "--repo-id", RID)
    assert code == 0
    (row,) = [line for line in out.splitlines() if key in line]
    assert " newer schema 2 " in row and " failed " not in row
    assert sum(" ok " in line for line in out.splitlines()) == 2
    assert err == f"note: could not read {key} from local: {UPGRADE}\n"
    code, out, err = cli("archive", "show", key, "--repo", str(tmp_path))
    assert code == 5 and json.loads(out)["schema"] == 2
    assert err == f"[ERROR] {key}: {UPGRADE}; shown as stored\n" and "corrupt" not in err


def test_trend_and_baseline_notes_say_newer_ftbench(tmp_path: Path) -> None:
    local, key = newer_archive(tmp_path)
    code, out, _err = cli("trend", "--repo", str(tmp_path), "--repo-id", RID, "--json")
    found = json.loads(out)
    assert code == 0 and len(found["points"]) == 2
    assert found["notes"][0] == f"could not read {key} from local: {UPGRADE}"
    for use_index in (True, False):  # from the index's reports table, or the report itself
        notes: list[str] = []
        got = [k.report.run_id for k in Archives([local], use_index=use_index).newest(RID, notes)]
        assert got == [f"{i:032x}" for i in (1, 0)]
        assert notes == [f"could not read {key} from local: {UPGRADE}"]
