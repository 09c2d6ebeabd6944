"""``ft-bench compare``: files, keys, sets, table, exit codes, and the input parser."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory import make_report, noisy, sample, ts
from ftbench.archive.base import report_key
from ftbench.archive.local import LocalArchive
from ftbench.archive.repo_id import repo_id
from ftbench.cli.app import main
from ftbench.cli.compare import print_table, split_specs, table_rows
from ftbench.errors import FtbenchError, UsageError
from ftbench.judge.core import judge, pool
from ftbench.judge.options import JudgeOptions
from ftbench.report.codec import to_value
from ftbench.report.files import parse_report
from ftbench.report.model import KeyedReport, Phase, Report, Runs, VerdictName

VERDICTS: tuple[VerdictName, ...] = (
    "regression",
    "improvement",
    "no change",
    "inconclusive",
    "not comparable",
    "no baseline",
)


@pytest.fixture(autouse=True)
def _no_archive_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("FTBENCH_ARCHIVE_DIR", "S3_PREFIX", "S3_BUCKET_NAME", "FT_BENCH_S3_ENABLED"):
        monkeypatch.delenv(var, raising=False)


def write(path: Path, report: Report) -> str:
    path.write_text(report.to_json())
    return str(path)


def reports(
    tmp_path: Path, median: float, count: int, name: str, seed: int = 0, **kw: Any
) -> list[str]:
    return [
        write(
            tmp_path / f"{name}{i}.json",
            make_report(
                noisy(median, 10, seed=seed + i),
                noisy(3 * median, 5, seed=seed + 40 + i),
                timestamp=ts(seed + i),
                **kw,
            ),
        )
        for i in range(count)
    ]


def test_two_files_regression_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = reports(tmp_path, 1.0, 1, "base")[0]
    new = reports(tmp_path, 1.3, 1, "new", seed=20)[0]
    assert main(["compare", base, new]) == 4
    out = capsys.readouterr().out
    header, *rows = out.splitlines()[:3]
    assert header.split()[:2] == ["phase", "baseline"]
    assert rows[0].startswith("warm") and rows[0].endswith("regression")
    assert rows[1].startswith("cold")
    assert "verdict: regression - warm +" in out
    assert f"baseline: {base}" in out and f"new: {new}" in out
    # the other way round the warm phase is an improvement; 5 cold samples a side cannot
    # show a significant change at the level of one phase's metric: inconclusive, exit 0
    assert main(["compare", new, base]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("warm") and out.splitlines()[1].endswith("improvement")
    assert "verdict: inconclusive - warm -23% wall" in out
    assert "cold -23% wall" in out and "too few samples (5 vs 5)" in out


def test_same_distribution_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = reports(tmp_path, 1.0, 3, "base")
    new = reports(tmp_path, 1.0, 1, "new", seed=30)[0]
    assert main(["compare", ",".join(base), new]) == 0
    out = capsys.readouterr().out
    assert "verdict: no change" in out
    assert "(30)" in out  # three pooled baseline reports: 30 warm samples


def test_sets_on_both_sides_pool_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = reports(tmp_path, 1.0, 2, "base")
    new = reports(tmp_path, 1.25, 2, "new", seed=50)
    assert main(["compare", f"{base[0]}, {base[1]}", ",".join(new), "--json"]) == 4
    d = json.loads(capsys.readouterr().out)
    assert d["verdict"] == "regression" and d["exit_code"] == 4
    assert d["phases"]["warm"]["current"]["n"] == 20 and d["phases"]["warm"]["baseline"]["n"] == 20
    assert d["phases"]["cold"]["current"]["n"] == 10 and d["phases"]["cold"]["baseline"]["n"] == 10
    assert d["new"] == new and d["baseline"]["keys"] == base


def test_fail_on_and_threshold_options(tmp_path: Path) -> None:
    base = reports(tmp_path, 1.0, 1, "base")[0]
    new = reports(tmp_path, 1.3, 1, "new", seed=20)[0]
    assert main(["compare", base, new, "--fail-on", "never"]) == 0
    assert main(["compare", base, new, "--fail-on", "warm"]) == 4
    assert main(["compare", base, new, "--regress-pct", "50"]) == 0


def test_archive_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = LocalArchive(tmp_path / "archive", "benchmarks")
    old = make_report(noisy(1.0, 10, seed=1), timestamp=ts(1))
    new = make_report(noisy(1.4, 10, seed=2), timestamp=ts(2))
    old_key = report_key("benchmarks", old.repo_id, old.archive_bytes(), old.timestamp)
    new_key = report_key("benchmarks", new.repo_id, new.archive_bytes(), new.timestamp)
    archive.put(old_key, old.archive_bytes(), {})
    archive.put(new_key, new.archive_bytes(), {})
    args = ["--repo", str(tmp_path), "--archive-dir", str(tmp_path / "archive")]
    # a full key, or BASE's file name within NEW's repository
    assert main(["compare", old_key.rsplit("/", 1)[-1], new_key, *args]) == 4
    out = capsys.readouterr().out
    assert f"baseline: {old_key}" in out and f"new: {new_key}" in out
    assert main(["compare", old_key, new_key, *args]) == 4
    # NEW's file name is looked up under this repository's id: another repository's report
    # needs its full key
    assert main(["compare", old_key, new_key.rsplit("/", 1)[-1], *args]) == 2
    assert "neither a report file nor an archive key" in capsys.readouterr().err


def test_key_file_name_from_a_subdirectory_of_the_repository(
    tmp_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # keys resolve in the repository's archive (git top level), not in the working directory
    own_id = repo_id(tmp_repo)
    archive = LocalArchive(tmp_repo / ".firsttry" / "archive", "benchmarks")
    stored = []
    for i, median in ((1, 1.0), (2, 1.4)):
        report = make_report(noisy(median, 10, seed=i), timestamp=ts(i), repo_id=own_id)
        key = report_key("benchmarks", own_id, report.archive_bytes(), report.timestamp)
        archive.put(key, report.archive_bytes(), {})
        stored.append(key)
    old_key, new_key = stored
    sub = tmp_repo / "src" / "pkg"
    sub.mkdir(parents=True)
    new = write(
        sub / "new.json", make_report(noisy(1.4, 10, seed=2), timestamp=ts(2), repo_id=own_id)
    )
    (tmp_repo / ".firsttry" / "bench_proof.json").write_text(
        make_report(noisy(1.0, 10, seed=3), timestamp=ts(3)).to_json()
    )
    monkeypatch.chdir(sub)
    assert main(["compare", old_key.rsplit("/", 1)[-1], "new.json"]) == 4
    out = capsys.readouterr().out
    assert f"baseline: {old_key}" in out and "new: new.json" in out
    # both sides by file name
    assert main(["compare", old_key.rsplit("/", 1)[-1], new_key.rsplit("/", 1)[-1]]) == 4
    assert f"new: {new_key}" in capsys.readouterr().out
    # a file relative to the repository root also resolves from the subdirectory
    assert main(["compare", ".firsttry/bench_proof.json", new]) == 4
    assert f"baseline: {tmp_repo.resolve() / '.firsttry' / 'bench_proof.json'}" in (
        capsys.readouterr().out
    )


def test_a_run_named_twice_counts_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # pooling one run's samples twice would make any difference look significant
    archive = LocalArchive(tmp_path / "archive", "benchmarks")
    base = make_report(noisy(1.0, 10, seed=1), timestamp=ts(1))
    base_key = report_key("benchmarks", base.repo_id, base.archive_bytes(), base.timestamp)
    archive.put(base_key, base.archive_bytes(), {})
    base_file = write(tmp_path / "base.json", base)
    new = reports(tmp_path, 1.05, 1, "new", seed=20)[0]
    assert (
        main(
            [
                "compare",
                f"{base_file},{base_file},{base_key}",
                f"{new},{new}",
                "--json",
                "--repo",
                str(tmp_path),
                "--archive-dir",
                str(tmp_path / "archive"),
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["baseline"]["keys"] == [base_file] and d["new"] == [new]
    assert d["phases"]["warm"]["baseline"]["n"] == 10 and d["phases"]["warm"]["current"]["n"] == 10
    assert f"BASE: {base_key} is the run of {base_file}, counted once" in d["notes"]
    assert f"NEW: {new} is the run of {new}, counted once" in d["notes"]


def test_machine_differences_are_not_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = reports(tmp_path, 1.0, 1, "base", env={"cpu_model": "Other"})[0]
    new = reports(tmp_path, 2.0, 1, "new", seed=9)[0]
    assert main(["compare", base, new]) == 0
    assert "not comparable (not judged): cpu_model: Other -> Test CPU" in capsys.readouterr().out
    assert main(["compare", base, new, "--allow-incomparable"]) == 4
    assert "NOT comparable: cpu_model: Other -> Test CPU" in capsys.readouterr().out


def test_other_measuring_backend_is_not_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = reports(tmp_path, 1.0, 1, "base", probe="gnu-time")[0]
    new = reports(tmp_path, 2.0, 1, "new", seed=9)[0]
    assert main(["compare", base, new]) == 0
    out = capsys.readouterr().out
    assert "verdict: not comparable" in out
    assert "measurement.probe: gnu-time -> forkserver" in out
    assert main(["compare", base, new, "--allow-incomparable", "--json"]) == 4
    d = json.loads(capsys.readouterr().out)
    assert d["verdict"] == "regression" and d["comparable"] is False
    assert d["differences"] == ["measurement.probe: gnu-time -> forkserver"]


def test_different_tier_mode_or_config_are_named_not_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # issue 10: a pro/fast report against a custom/normal one gave a verdict with no warning
    base = reports(
        tmp_path, 1.0, 1, "base", config_hash="aaaaaaaaaaaaaaaa", tier="cmd", mode="fast"
    )[0]
    new = reports(tmp_path, 1.3, 1, "new", seed=20, config_hash="bbbbbbbbbbbbbbbb")[0]
    assert main(["compare", base, new]) == 0
    out = capsys.readouterr().out
    assert "verdict: not comparable" in out
    for diff in ("tier: cmd -> lite", "mode: fast -> normal", "target.config_hash: aaaa"):
        assert diff in out
    assert main(["compare", base, new, "--allow-incomparable"]) == 4  # asked for: judged
    assert "NOT comparable: tier: cmd -> lite" in capsys.readouterr().out


def test_new_set_must_be_comparable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = reports(tmp_path, 1.0, 1, "base")[0]
    a = reports(tmp_path, 1.0, 1, "a")[0]
    b = reports(tmp_path, 1.0, 1, "b", env={"arch": "arm64"})[0]
    assert main(["compare", base, f"{a},{b}"]) == 2
    err = capsys.readouterr().err
    assert "NEW reports differ" in err and "arch: x86_64 -> arm64" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["compare", base, f"{a},{b}", "--allow-incomparable"]) == 0
    assert "pooled anyway" in capsys.readouterr().out
    # a BASE set is checked too (pooling silently mixed modes)
    c = reports(tmp_path, 1.0, 1, "c", mode="fast")[0]
    assert main(["compare", f"{base},{c}", a]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ft-bench: error: BASE reports differ") and "mode: normal -> fast" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "neither a report file nor an archive key"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"schema": 0, "runs": {}}', "not an ftbench report of schema 1 (schema: 0)"),
        ('{"schema": 1}', "missing field"),
        ("", "not valid JSON"),
    ],
)
def test_bad_inputs_are_one_line_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    good = reports(tmp_path, 1.0, 1, "good")[0]
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    for argv in (["compare", str(bad), good], ["compare", good, str(bad)]):
        assert main([*argv, "--repo", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_report_of_a_newer_ftbench_asks_for_an_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not "corrupt", not a usage error: this ftbench is too old for it (exit 5). A report
    file, and an archive key."""
    good = reports(tmp_path, 1.0, 1, "good")[0]
    newer = json.loads(Path(good).read_text())
    newer["schema"] = 2
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(newer))
    assert main(["compare", str(path), good, "--repo", str(tmp_path)]) == 5
    upgrade = "written by a newer ftbench (schema 2): upgrade ftbench"
    assert capsys.readouterr().err == f"ft-bench: error: {path}: {upgrade}\n"
    local = LocalArchive(tmp_path / ".firsttry" / "archive")
    data = path.read_bytes()
    key = f"benchmarks/{newer['repo_id']}/{newer['timestamp']}-benchmark-0123456789ab.json"
    local.put(key, data)
    assert main(["compare", key, good, "--repo", str(tmp_path)]) == 5
    assert capsys.readouterr().err == f"ft-bench: error: {key}: {upgrade}\n"


def test_empty_set_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = reports(tmp_path, 1.0, 1, "good")[0]
    assert main(["compare", " , ", good]) == 2
    assert "no report named" in capsys.readouterr().err


def test_split_specs() -> None:
    assert split_specs("a.json, b.json,,") == ["a.json", "b.json"]
    with pytest.raises(UsageError):
        split_specs(" , ")


def test_pool_keeps_phases_and_metadata() -> None:
    a = make_report([1.0, 2.0], [5.0], branch="a")
    b = make_report([3.0], None, branch="b")
    c = make_report(None, [6.0], branch="c")
    pooled = pool([a, b, c])
    assert pooled.git.branch == "a" and pooled.run_id == a.run_id
    assert pooled.runs.warm is not None and pooled.runs.cold is not None
    assert pooled.runs.warm.walls() == [1.0, 2.0, 3.0]
    assert pooled.runs.cold.walls() == [5.0, 6.0]
    assert pool([b]).runs.cold is None  # a phase no report measured stays absent
    warm_only = pool([b, c])  # the first lacks cold: taken from the others
    assert warm_only.runs.cold is not None and warm_only.runs.cold.walls() == [6.0]


def test_pool_keeps_failed_and_timed_out_counts() -> None:
    a = make_report([1.0], None, warm_failed=[0.1])
    b = make_report([2.0], None, warm_timed_out=[9.0])
    warm = pool([a, b]).runs.warm
    assert warm is not None and (warm.walls(), warm.failed, warm.timed_out) == ([1.0, 2.0], 1, 1)


def test_table_rows() -> None:
    base = [KeyedReport("b", make_report(noisy(1.0, 10, seed=1), None))]
    verdict = judge(make_report(noisy(1.3, 10, seed=2), None), base, JudgeOptions())
    header, warm = table_rows(verdict)
    assert header[0] == "phase" and header[-1] == "verdict"
    p = verdict.phases["warm"]
    assert warm[0] == "warm" and warm[-1] == "regression"
    assert warm[1].endswith("(10)") and warm[2].endswith("(10)")
    assert warm[3] == f"{p.pct_change:+.1f}%" and warm[3].startswith("+")
    no_samples = judge(make_report([], None, warm_failed=[1.0]), base, JudgeOptions())
    assert table_rows(no_samples)[1][3:6] == ["-", "-", "-"]


# --- property tests of the input parser and the judge --------------------------------------

TEMPLATE_VALUE: dict[str, Any] = to_value(make_report([1.0, 1.1], [3.0], run_id="a" * 32))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _is_one_line_usage_error(exc: FtbenchError) -> bool:
    return exc.exit_code == 2 and "\n" not in str(exc)


@given(st.binary(max_size=200))
def test_parse_report_never_crashes_on_bytes(data: bytes) -> None:
    try:
        parsed = parse_report(data, "x")
    except FtbenchError as exc:
        assert _is_one_line_usage_error(exc)
    else:
        assert parsed.schema == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(
        [
            "runs",
            "runs.warm",
            "runs.warm.samples",
            "runs.cold.samples.0",
            "runs.warm.samples.1.wall_s",
            "runs.warm.samples.0.ok",
            "environment",
            "environment.tool_versions",
            "measurement.probe",
            "schema",
        ]
    ),
    json_values,
)
def test_parse_report_rejects_any_bad_field_in_one_line(path: str, value: Any) -> None:
    doc = json.loads(json.dumps(TEMPLATE_VALUE))
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    try:
        parsed = parse_report(json.dumps(doc, allow_nan=True).encode(), "r")
    except FtbenchError as exc:
        newer = path == "schema" and isinstance(value, int) and value > 1  # not bad input
        if newer:
            assert exc.exit_code == 5 and "upgrade ftbench" in str(exc), exc
        else:
            assert _is_one_line_usage_error(exc)
    else:  # accepted: then the judge copes with it
        verdict = judge(parsed, [KeyedReport("b", make_report([1.0, 1.2], [3.0]))], JudgeOptions())
        assert verdict.verdict in VERDICTS


walls = st.floats(min_value=0.0, max_value=1e3, allow_nan=False)
samples_strategy = st.lists(st.tuples(walls, st.booleans(), st.booleans()), max_size=12)
phase_strategy = st.none() | samples_strategy


def _phase(spec: list[tuple[float, bool, bool]]) -> Phase:
    base = make_report([1.0], None).runs.warm
    assert base is not None
    return dataclasses.replace(
        base,
        samples=tuple(
            sample(i + 1, wall, ok=ok, timed_out=timed_out)
            for i, (wall, ok, timed_out) in enumerate(spec)
        ),
    )


def _report(
    warm: list[tuple[float, bool, bool]] | None, cold: list[tuple[float, bool, bool]] | None
) -> Report:
    report = make_report(None, None)
    return dataclasses.replace(
        report,
        runs=Runs(
            warm=None if warm is None else _phase(warm), cold=None if cold is None else _phase(cold)
        ),
    )


@settings(max_examples=150, deadline=None)
@given(
    phase_strategy,
    phase_strategy,
    phase_strategy,
    phase_strategy,
    st.sampled_from(["any", "warm", "cold", "never"]),
    st.booleans(),
)
def test_judge_survives_any_runs(
    cur_warm: Any, cur_cold: Any, base_warm: Any, base_cold: Any, fail_on: str, allow: bool
) -> None:
    cur, base = _report(cur_warm, cur_cold), _report(base_warm, base_cold)
    verdict = judge(
        pool([cur]),
        [KeyedReport("b", base)],
        JudgeOptions(fail_on=fail_on, allow_incomparable=allow),
    )
    assert verdict.verdict in VERDICTS
    assert verdict.exit_code in (0, 4)
    assert (verdict.exit_code == 4) == any(
        p.verdict == "regression" and fail_on in ("any", name) for name, p in verdict.phases.items()
    )
    json.dumps(to_value(verdict), allow_nan=False)
    assert "\n" not in verdict.summary
    # the block is one a report can carry: written and read back unchanged
    assert (
        Report.from_json(dataclasses.replace(cur, regression=verdict).to_json()).regression
        == verdict
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0.001, max_value=100.0), min_size=1, max_size=30),
    st.lists(st.floats(min_value=0.001, max_value=100.0), min_size=1, max_size=30),
)
def test_report_round_trip_keeps_samples(cur: list[float], base: list[float]) -> None:
    report = make_report(cur, None)
    parsed = parse_report(report.to_json().encode(), "r")
    assert parsed.runs.warm is not None and parsed.runs.warm.walls() == cur
    verdict = judge(parsed, [KeyedReport("b", make_report(base, None))], JudgeOptions())
    warm = verdict.phases["warm"]
    assert warm.current.n == len(cur) and warm.baseline.n == len(base)
    if warm.verdict == "regression":  # never without the size and the significance
        assert warm.pct_change is not None and warm.pct_change > 10
        assert warm.p_value is not None and warm.alpha is not None and warm.p_value < warm.alpha


def test_rich_table_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    base = [KeyedReport("b", make_report(noisy(1.0, 10, seed=1), None))]
    verdict = judge(make_report(noisy(1.3, 10, seed=2), None), base, JudgeOptions())
    out = Tty()
    print_table(verdict, ["new.json"], ["a note"], out)
    text = out.getvalue()
    assert "┃" in text or "│" in text  # a rich box table, not the plain one
    assert "regression" in text and "note: a note" in text


def test_plain_table_off_a_terminal() -> None:
    base = [KeyedReport("b", make_report(noisy(1.0, 10, seed=1), None))]
    verdict = judge(make_report(noisy(1.3, 10, seed=2), None), base, JudgeOptions())
    out = io.StringIO()
    print_table(verdict, ["new.json"], [], out)
    text = out.getvalue()
    assert "│" not in text and "┃" not in text
    assert "verdict: regression - warm +" in text and "new: new.json" in text


def test_messages_name_the_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = reports(tmp_path, 1.0, 1, "base")[0]
    missing = str(tmp_path / "nope.json")
    assert main(["compare", base, missing, "--repo", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ft-bench: error: NEW {missing!r} is neither a report file")
    assert main(["compare", missing, base, "--repo", str(tmp_path)]) == 2
    assert f"error: BASE {missing!r} is neither" in capsys.readouterr().err


@pytest.mark.parametrize("field", ["user_s", "wall_s"])
def test_baselines_that_read_zero_are_judged_never_a_crash(field: str) -> None:
    """A baseline whose samples read 0 s of CPU (or wall: a hand-made or damaged report, a
    platform whose getrusage is coarse) is no usable sample: a verdict, never an internal
    error (ZeroDivisionError before)."""

    def zeroed(report: Report) -> Report:
        warm = report.runs.warm
        assert warm is not None
        zero: dict[str, Any] = {field: 0.0, "sys_s": 0.0}
        samples = tuple(dataclasses.replace(s, **zero) for s in warm.samples)
        return dataclasses.replace(
            report, runs=Runs(warm=dataclasses.replace(warm, samples=samples), cold=None)
        )

    base = [KeyedReport(f"b{i}", zeroed(make_report([1.0, 1.1, 1.2]))) for i in range(3)]
    verdict = judge(pool([make_report([1.0, 1.1, 1.2])]), base, JudgeOptions())
    assert verdict.verdict in VERDICTS and verdict.exit_code == 0
