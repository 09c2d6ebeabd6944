"""Baseline selection from the archive: branches, explicit choices, filtering, dedupe."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from factory import BrokenStore, MemoryStore, make_report, noisy, ts
from ftbench.archive.base import Archives
from ftbench.errors import EXIT_REGRESSION, UsageError
from ftbench.judge.baseline import Selection, base_branch, evaluate, find_baselines
from ftbench.judge.options import JudgeOptions
from ftbench.report.codec import to_value
from ftbench.report.model import Report

NO_ENV: dict[str, str] = {}


def fill(
    store: MemoryStore, branch: str, first: int, count: int, median: float = 1.0, **kw: Any
) -> list[str]:
    return [
        store.add(
            make_report(
                noisy(median, 10, seed=first + i),
                noisy(3 * median, 5),
                branch=branch,
                timestamp=ts(first + i),
                **kw,
            )
        )
        for i in range(count)
    ]


def cur(branch: str | None = "feature", median: float = 1.0, **kw: Any) -> Report:
    return make_report(
        noisy(median, 10, seed=77),
        noisy(3 * median, 5, seed=78),
        branch=branch,
        timestamp=ts(500),
        **kw,
    )


def select(report: Report, *stores: MemoryStore, repo_root: Path, **options: Any) -> Selection:
    return find_baselines(
        report, Archives(stores), JudgeOptions(**options), repo_root=repo_root, environ=NO_ENV
    )


def keys(selection: Selection) -> list[str]:
    return [g.key for g in selection.reports]


@pytest.fixture(autouse=True)
def _no_ci_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"):
        monkeypatch.delenv(var, raising=False)


def test_same_branch_most_recent_n(tmp_path: Path) -> None:
    store = MemoryStore()
    main = fill(store, "main", 0, 8)
    feature = fill(store, "feature", 10, 7)
    sel = select(cur("feature"), store, repo_root=tmp_path, baseline_count=5)
    assert keys(sel) == feature[::-1][:5]
    assert sel.description == "5 report(s) of branch feature (same branch)"
    sel = select(cur("main"), store, repo_root=tmp_path, baseline_count=3)
    assert keys(sel) == main[::-1][:3]


def test_unknown_branch_takes_any_branch(tmp_path: Path) -> None:
    store = MemoryStore()
    main = fill(store, "main", 0, 2)
    other = fill(store, "other", 5, 2)
    sel = select(cur(None), store, repo_root=tmp_path)
    assert keys(sel) == (main + other)[::-1]
    assert sel.description == "4 report(s) of any branch (current branch unknown)"


def test_stops_reading_once_enough_reports_are_found(tmp_path: Path) -> None:
    # on a fresh CI runner every read is an S3 request: the newest matches suffice
    store = MemoryStore()
    stored = fill(store, "main", 0, 40)
    sel = select(cur("main"), store, repo_root=tmp_path, baseline_count=5)
    assert keys(sel) == stored[::-1][:5]
    assert store.gets == 5


@pytest.mark.parametrize("var", ["GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"])
def test_base_branch_from_ci_env(var: str, tmp_path: Path) -> None:
    store = MemoryStore()
    main = fill(store, "main", 0, 6)
    fill(store, "feature", 10, 6)
    sel = find_baselines(
        cur("feature"),
        Archives([store]),
        JudgeOptions(baseline_count=5),
        repo_root=tmp_path,
        environ={var: "main"},
    )
    assert keys(sel) == main[::-1][:5]
    assert sel.description == f"5 report(s) of branch main ({var})"


def test_base_branch_defaults_to_the_process_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = MemoryStore()
    main = fill(store, "main", 0, 2)
    fill(store, "feature", 10, 2)
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    sel = find_baselines(cur("feature"), Archives([store]), JudgeOptions(), repo_root=tmp_path)
    assert keys(sel) == main[::-1]


def test_baseline_branch_option_beats_env_and_empty_env_is_ignored() -> None:
    report = cur("feature")
    env = {"GITHUB_BASE_REF": "main", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "develop"}
    assert base_branch(report, JudgeOptions(baseline_branch="release"), env) == (
        "release",
        "--baseline-branch",
    )
    assert base_branch(report, JudgeOptions(), env) == ("main", "GITHUB_BASE_REF")
    assert base_branch(
        report, JudgeOptions(), {"GITHUB_BASE_REF": " ", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": ""}
    ) == ("feature", "same branch")
    assert base_branch(cur(None), JudgeOptions(), NO_ENV) == (None, "branch unknown")


def test_filters_target_repo_success_and_current_run(tmp_path: Path) -> None:
    store = MemoryStore()
    good = fill(store, "main", 0, 2)
    fill(store, "main", 10, 1, tier="pro")
    fill(store, "main", 11, 1, mode="fast")
    fill(store, "main", 12, 1, config_hash="ffffffffffffffff")
    fill(store, "main", 13, 1, repo_id="99999999")
    fill(store, "main", 14, 1, ok=False)  # a failed run is no baseline
    current = cur("main")
    store.add(current)  # the current report, already archived: never its own baseline
    assert keys(select(current, store, repo_root=tmp_path)) == good[::-1]


def test_dedupes_across_stores_and_reads_s3_only_reports(tmp_path: Path) -> None:
    local, s3 = MemoryStore("local"), MemoryStore("s3")
    shared = fill(local, "main", 0, 3)
    for key in shared:
        s3.put(key, local.data[key], {})
    s3_only = fill(s3, "main", 5, 2)  # uploaded by other CI runs, not in this checkout
    sel = select(cur("main"), local, s3, repo_root=tmp_path)
    assert keys(sel) == s3_only[::-1] + shared[::-1]
    # a fresh checkout (empty local archive) still has a baseline
    sel = select(cur("main"), MemoryStore("local"), s3, repo_root=tmp_path)
    assert len(sel.reports) == 5


def test_same_run_under_two_keys_counts_once(tmp_path: Path) -> None:
    store = MemoryStore()
    report = make_report([1.0, 1.1], branch="main", run_id="1" * 32, timestamp=ts(1))
    first = store.add(report)
    second = store.add(dataclasses.replace(report, speedup=2.0))  # other bytes, same run
    assert first != second
    assert len(select(cur("main"), store, repo_root=tmp_path).reports) == 1


def test_unreachable_store_is_a_note_not_an_error(tmp_path: Path) -> None:
    store = MemoryStore()
    fill(store, "main", 0, 2)
    sel = select(cur("main"), BrokenStore("s3"), store, repo_root=tmp_path)
    assert len(sel.reports) == 2
    assert any("s3 unavailable: ConnectionError" in n for n in sel.notes)


def test_unreadable_report_is_a_note_and_skipped(tmp_path: Path) -> None:
    store = MemoryStore()
    good = fill(store, "main", 0, 2)
    store.data["benchmarks/abcd1234/2026-11-05T00:00:00Z-benchmark-000000000000.json"] = b"{"
    sel = select(cur("main"), store, repo_root=tmp_path)
    assert keys(sel) == good[::-1]
    assert any("could not read" in n and "not valid JSON" in n for n in sel.notes)


def test_latest_is_newest_of_any_branch(tmp_path: Path) -> None:
    store = MemoryStore()
    fill(store, "main", 0, 3)
    other = fill(store, "other", 5, 1)
    sel = select(cur("feature"), store, repo_root=tmp_path, baseline="latest")
    assert keys(sel) == other
    assert sel.description == "most recent report of any branch"


def test_none_selects_nothing(tmp_path: Path) -> None:
    store = MemoryStore()
    fill(store, "feature", 0, 3)
    sel = select(cur(), store, repo_root=tmp_path, baseline="none")
    assert sel.reports == [] and "--baseline none" in sel.why_empty
    assert store.gets == 0


def test_nothing_found_explains_why(tmp_path: Path) -> None:
    sel = select(cur("feature"), MemoryStore(), repo_root=tmp_path)
    assert sel.reports == []
    assert sel.why_empty == (
        "no earlier successful report of branch feature (same branch) "
        "with this tier, mode and target in local"
    )
    sel = select(
        cur("feature"), MemoryStore(), MemoryStore("s3"), repo_root=tmp_path, baseline="latest"
    )
    assert sel.why_empty == (
        "no earlier successful report of any branch with this tier, mode and target in local, s3"
    )


def test_explicit_file_relative_to_repo_root_and_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.json"
    path.write_text(make_report([1.0, 1.1], branch="x").to_json())
    (tmp_path / "sub").mkdir()
    for cwd, spec in (("/", "old.json"), ("/", str(path)), (tmp_path / "sub", "../old.json")):
        monkeypatch.chdir(cwd)
        sel = select(cur(), repo_root=tmp_path, baseline=spec)
        assert len(sel.reports) == 1 and sel.reports[0].report.git.branch == "x"
        assert sel.description == f"explicit {sel.reports[0].key}"


def test_explicit_file_that_is_no_report_is_usage_error(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text('{"schema": 1}')
    with pytest.raises(UsageError, match=r"old\.json: report: missing field") as exc:
        select(cur(), repo_root=tmp_path, baseline="old.json")
    assert exc.value.exit_code == 2 and "\n" not in str(exc.value)


def test_explicit_key_full_or_file_name(tmp_path: Path) -> None:
    store = MemoryStore()
    stored = fill(store, "other", 0, 3)
    for spec in (stored[1], stored[1].rsplit("/", 1)[-1]):
        sel = select(cur(), store, repo_root=tmp_path, baseline=spec)
        assert keys(sel) == [stored[1]]


def test_explicit_key_of_another_repository_needs_the_full_key(tmp_path: Path) -> None:
    store = MemoryStore()
    (other,) = fill(store, "main", 0, 1, repo_id="99999999")
    assert keys(select(cur(), store, repo_root=tmp_path, baseline=other)) == [other]
    with pytest.raises(UsageError):
        select(cur(), store, repo_root=tmp_path, baseline=other.rsplit("/", 1)[-1])


def test_explicit_missing_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="neither a report file nor an archive key") as exc:
        select(cur(), MemoryStore(), repo_root=tmp_path, baseline="nope.json")
    assert exc.value.exit_code == 2


def test_prefers_comparable_reports(tmp_path: Path) -> None:
    store = MemoryStore()
    good = fill(store, "main", 0, 3)
    fill(store, "main", 10, 2, env={"cpu_model": "Big CPU"})  # newer, other machine
    sel = select(cur("main"), store, repo_root=tmp_path, baseline_count=3)
    assert keys(sel) == good[::-1]
    assert any("skipped 2 newer report(s)" in n for n in sel.notes)
    allowed = select(
        cur("main"), store, repo_root=tmp_path, baseline_count=3, allow_incomparable=True
    )
    assert len(allowed.reports) == 3
    assert allowed.reports[0].report.environment.cpu_model == "Big CPU"


def test_prefers_reports_of_the_same_measuring_backend(tmp_path: Path) -> None:
    store = MemoryStore()
    good = fill(store, "main", 0, 3)
    fill(store, "main", 10, 2, probe="gnu-time")  # newer, measured another way
    sel = select(cur("main"), store, repo_root=tmp_path, baseline_count=3)
    assert keys(sel) == good[::-1]
    assert any("skipped 2 newer report(s)" in n for n in sel.notes)


def test_evaluate_end_to_end(tmp_path: Path) -> None:
    store = MemoryStore()
    stored = fill(store, "main", 0, 5)
    history = Archives([store])
    v = evaluate(
        cur("main", median=1.3), history, JudgeOptions(), repo_root=tmp_path, environ=NO_ENV
    )
    assert v.verdict == "regression" and v.exit_code == EXIT_REGRESSION
    assert set(v.baseline.keys) == set(stored)
    d = to_value(v)
    assert d["baseline"]["selection"] == "5 report(s) of branch main (same branch)"
    assert "baseline: 5 report(s) of branch main" in d["summary"]
    assert (
        evaluate(
            cur("main", median=1.0), history, JudgeOptions(), repo_root=tmp_path, environ=NO_ENV
        ).exit_code
        == 0
    )


def test_evaluate_keeps_notes_of_caller_and_selection(tmp_path: Path) -> None:
    store = MemoryStore()
    fill(store, "main", 0, 5)
    v = evaluate(
        cur("main"),
        Archives([BrokenStore("s3"), store]),
        JudgeOptions(),
        repo_root=tmp_path,
        notes=["S3 archive unavailable: boto3 not installed"],
        environ=NO_ENV,
    )
    assert v.notes[0] == "S3 archive unavailable: boto3 not installed"
    assert any("s3 unavailable: ConnectionError" in n for n in v.notes[1:])


def test_evaluate_explicit_baseline_is_still_checked_for_comparability(tmp_path: Path) -> None:
    store = MemoryStore()
    (key,) = fill(store, "main", 0, 1, env={"os": "Darwin"})
    v = evaluate(
        cur("main", median=2.0),
        Archives([store]),
        JudgeOptions(baseline=key),
        repo_root=tmp_path,
        environ=NO_ENV,
    )
    assert v.verdict == "not comparable" and v.exit_code == 0
    assert v.differences == ("os: Darwin -> Linux",)


def test_evaluate_not_comparable_only(tmp_path: Path) -> None:
    store = MemoryStore()
    fill(store, "main", 0, 5, env={"cpu_count": 2})
    v = evaluate(
        cur("main", median=2.0),
        Archives([store]),
        JudgeOptions(),
        repo_root=tmp_path,
        environ=NO_ENV,
    )
    assert v.verdict == "not comparable" and v.exit_code == 0
    assert "cpu_count: 2 -> 4" in v.summary
    assert len(v.baseline.keys) == 5


def test_evaluate_other_backend_only(tmp_path: Path) -> None:
    store = MemoryStore()
    fill(store, "main", 0, 5, probe="gnu-time")
    history = Archives([store])
    v = evaluate(
        cur("main", median=2.0), history, JudgeOptions(), repo_root=tmp_path, environ=NO_ENV
    )
    assert v.verdict == "not comparable" and v.exit_code == 0
    assert "measurement.probe: gnu-time -> forkserver" in v.summary
    allowed = evaluate(
        cur("main", median=2.0),
        history,
        JudgeOptions(allow_incomparable=True),
        repo_root=tmp_path,
        environ=NO_ENV,
    )
    assert allowed.verdict == "regression" and allowed.exit_code == EXIT_REGRESSION


def test_evaluate_no_baseline_reason(tmp_path: Path) -> None:
    v = evaluate(
        cur("feature"),
        Archives([MemoryStore()]),
        JudgeOptions(),
        repo_root=tmp_path,
        environ=NO_ENV,
    )
    assert v.verdict == "no baseline" and v.exit_code == 0
    assert "branch feature" in v.summary
