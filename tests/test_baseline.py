"""Baseline selection from the archive: branches, explicit choices, filtering, dedupe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ftbench.errors import EXIT_REGRESSION, UsageError
from ftbench.judge.baseline import base_branch, find_baselines, select_baselines
from ftbench.judge.core import JudgeOptions, evaluate
from judge_factory import BrokenStore, MemoryStore, make_report, noisy, ts

NO_ENV: dict[str, str] = {}


def fill(store: MemoryStore, branch: str, first: int, count: int, median: float = 1.0,
         **kw: Any) -> list[str]:
    return [store.add(make_report(noisy(median, 10, seed=first + i), noisy(3 * median, 5),
                                  branch=branch, timestamp=ts(first + i), **kw))
            for i in range(count)]


def cur(branch: str | None = "feature", median: float = 1.0, **kw: Any) -> dict[str, Any]:
    return make_report(noisy(median, 10, seed=77), noisy(3 * median, 5, seed=78),
                       branch=branch, timestamp=ts(500), **kw)


@pytest.fixture(autouse=True)
def _no_ci_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"):
        monkeypatch.delenv(var, raising=False)


def test_same_branch_most_recent_n(tmp_path: Path) -> None:
    store = MemoryStore()
    main = fill(store, "main", 0, 8)
    feature = fill(store, "feature", 10, 7)
    got = select_baselines(cur("feature"), [store], JudgeOptions(), repo_root=tmp_path)
    assert [g.key for g in got] == feature[::-1][:5]
    assert not set(main) & {g.key for g in got}
    got = select_baselines(cur("main"), [store], JudgeOptions(baseline_count=3),
                           repo_root=tmp_path)
    assert [g.key for g in got] == main[::-1][:3]


def test_stops_reading_once_enough_reports_are_found(tmp_path: Path) -> None:
    # on a fresh CI runner every read is an S3 request: the newest matches suffice
    store = MemoryStore()
    keys = fill(store, "main", 0, 40)
    got = select_baselines(cur("main"), [store], JudgeOptions(baseline_count=5),
                           repo_root=tmp_path)
    assert [g.key for g in got] == keys[::-1][:5]
    assert store.gets == 5


@pytest.mark.parametrize("var", ["GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"])
def test_base_branch_from_ci_env(var: str, monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path) -> None:
    store = MemoryStore()
    main = fill(store, "main", 0, 6)
    fill(store, "feature", 10, 6)
    monkeypatch.setenv(var, "main")
    sel = find_baselines(cur("feature"), [store], JudgeOptions(), repo_root=tmp_path)
    assert [g.key for g in sel.reports] == main[::-1][:5]
    assert sel.description == f"5 report(s) of branch main ({var})"


def test_baseline_branch_option_beats_env_and_empty_env_is_ignored() -> None:
    report = cur("feature")
    env = {"GITHUB_BASE_REF": "main"}
    assert base_branch(report, JudgeOptions(baseline_branch="release"), env) == (
        "release", "--baseline-branch")
    assert base_branch(report, JudgeOptions(), env) == ("main", "GITHUB_BASE_REF")
    assert base_branch(report, JudgeOptions(), {"GITHUB_BASE_REF": ""}) == (
        "feature", "same branch")
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
    got = select_baselines(current, [store], JudgeOptions(), repo_root=tmp_path)
    assert [g.key for g in got] == good[::-1]


def test_dedupes_across_stores_and_reads_s3_only_reports(tmp_path: Path) -> None:
    local, s3 = MemoryStore("local"), MemoryStore("s3")
    shared = fill(local, "main", 0, 3)
    for key in shared:
        s3.put(key, local.data[key], {})
    s3_only = fill(s3, "main", 5, 2)  # uploaded by other CI runs, not in this checkout
    got = select_baselines(cur("main"), [local, s3], JudgeOptions(), repo_root=tmp_path)
    assert [g.key for g in got] == s3_only[::-1] + shared[::-1]
    assert len({g.key for g in got}) == 5
    # a fresh checkout (empty local archive) still has a baseline
    got = select_baselines(cur("main"), [MemoryStore("local"), s3], JudgeOptions(),
                           repo_root=tmp_path)
    assert len(got) == 5


def test_same_run_under_two_keys_counts_once(tmp_path: Path) -> None:
    store = MemoryStore()
    report = make_report([1.0, 1.1], branch="main", run_id="r1", timestamp=ts(1))
    store.add(report)
    store.add({**report, "speedup": 2.0})  # other bytes, other key, same run
    assert len(select_baselines(cur("main"), [store], JudgeOptions(), repo_root=tmp_path)) == 1


def test_unreachable_store_is_a_note_not_an_error(tmp_path: Path) -> None:
    store = MemoryStore()
    fill(store, "main", 0, 2)
    sel = find_baselines(cur("main"), [BrokenStore("s3"), store], JudgeOptions(),
                         repo_root=tmp_path)
    assert len(sel.reports) == 2
    assert any("s3 unavailable: ConnectionError" in n for n in sel.notes)


def test_latest_is_newest_of_any_branch(tmp_path: Path) -> None:
    store = MemoryStore()
    fill(store, "main", 0, 3)
    other = fill(store, "other", 5, 1)
    sel = find_baselines(cur("feature"), [store], JudgeOptions(baseline="latest"),
                         repo_root=tmp_path)
    assert [g.key for g in sel.reports] == other


def test_none_selects_nothing(tmp_path: Path) -> None:
    store = MemoryStore()
    fill(store, "feature", 0, 3)
    assert select_baselines(cur(), [store], JudgeOptions(baseline="none"),
                            repo_root=tmp_path) == []
    assert store.gets == 0


def test_nothing_found_explains_why(tmp_path: Path) -> None:
    sel = find_baselines(cur("feature"), [MemoryStore()], JudgeOptions(), repo_root=tmp_path)
    assert sel.reports == []
    assert "branch feature" in sel.why_empty and "local" in sel.why_empty


def test_explicit_file_relative_to_repo_root_and_cwd(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    path = tmp_path / "old.json"
    path.write_text(json.dumps(make_report([1.0, 1.1], branch="x")))
    monkeypatch.chdir("/")
    for spec in ("old.json", str(path)):
        got = select_baselines(cur(), [], JudgeOptions(baseline=spec), repo_root=tmp_path)
        assert len(got) == 1 and got[0].report["git"]["branch"] == "x"


def test_explicit_key_full_or_file_name(tmp_path: Path) -> None:
    store = MemoryStore()
    keys = fill(store, "other", 0, 3)
    for spec in (keys[1], keys[1].rsplit("/", 1)[-1]):
        got = select_baselines(cur(), [store], JudgeOptions(baseline=spec), repo_root=tmp_path)
        assert [g.key for g in got] == [keys[1]]


def test_explicit_missing_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="neither a report file nor an archive key") as exc:
        select_baselines(cur(), [MemoryStore()], JudgeOptions(baseline="nope.json"),
                         repo_root=tmp_path)
    assert exc.value.exit_code == 2


def test_prefers_comparable_reports(tmp_path: Path) -> None:
    store = MemoryStore()
    good = fill(store, "main", 0, 3)
    fill(store, "main", 10, 2, env={"cpu_model": "Big CPU"})  # newer, other machine
    sel = find_baselines(cur("main"), [store], JudgeOptions(baseline_count=3),
                         repo_root=tmp_path)
    assert [g.key for g in sel.reports] == good[::-1]
    assert any("skipped 2 newer report(s)" in n for n in sel.notes)
    allowed = select_baselines(cur("main"), [store],
                               JudgeOptions(baseline_count=3, allow_incomparable=True),
                               repo_root=tmp_path)
    assert len(allowed) == 3 and allowed[0].report["environment"]["cpu_model"] == "Big CPU"


def test_evaluate_end_to_end(tmp_path: Path) -> None:
    store = MemoryStore()
    keys = fill(store, "main", 0, 5)
    v = evaluate(cur("main", median=1.3), tmp_path, JudgeOptions(), [store])
    assert v.verdict == "regression" and v.exit_code() == EXIT_REGRESSION
    assert set(v.baseline_keys) == set(keys)
    d = v.to_dict()
    assert d["baseline"]["selection"] == "5 report(s) of branch main (same branch)"
    assert "baseline: 5 report(s) of branch main" in d["summary"]
    assert evaluate(cur("main", median=1.0), tmp_path, JudgeOptions(), [store]).exit_code() == 0


def test_evaluate_not_comparable_only(tmp_path: Path) -> None:
    store = MemoryStore()
    fill(store, "main", 0, 5, env={"cpu_count": 2})
    v = evaluate(cur("main", median=2.0), tmp_path, JudgeOptions(), [store])
    assert v.verdict == "not comparable" and v.exit_code() == 0
    assert "cpu_count: 2 -> 4" in v.summary_line()


def test_evaluate_no_baseline_reason(tmp_path: Path) -> None:
    v = evaluate(cur("feature"), tmp_path, JudgeOptions(), [MemoryStore()])
    assert v.verdict == "no baseline"
    assert "branch feature" in v.summary_line()


def test_evaluate_opens_default_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ftbench.archive.sync as sync

    store = MemoryStore()
    fill(store, "main", 0, 5)
    seen: list[Path] = []

    def fake_open(repo_root: Path, archive_dir: Path | None = None) -> list[MemoryStore]:
        seen.append(repo_root)
        return [store]

    monkeypatch.setattr(sync, "open_stores", fake_open)
    v = evaluate(cur("main", median=1.3), tmp_path, JudgeOptions())
    assert seen == [tmp_path] and v.verdict == "regression"
