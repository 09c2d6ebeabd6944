"""ftbench.report.build / markdown / stats: schema-1 reports, Markdown, dotenv."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factory import TEMPLATE
from ftbench import paths, redact
from ftbench.measure import machine
from ftbench.measure.config import Step, Target
from ftbench.measure.runner import BenchResult, Runner, RunSettings
from ftbench.report.build import build_report
from ftbench.report.files import REPORT_NAMES, dotenv_lines, write_reports
from ftbench.report.formats import fmt_s
from ftbench.report.markdown import render
from ftbench.report.model import ArchiveRef, Report, Runs
from ftbench.report.summary import median_ci, summarize

Validate = Callable[[Any], dict[str, Any]]


def measure(root: Path, *steps: Step, kind: str = "tier", **overrides: Any) -> BenchResult:
    options: dict[str, Any] = {"mode": "custom", "cold_runs": 2, "warm_runs": 2, "warmup": 0}
    options.update(overrides)
    target = Target(kind, "lite" if kind == "tier" else "cmd", steps, "ftbench.toml")
    return Runner(
        target, RunSettings(**options), root, root / ".firsttry" / "bench_artifacts"
    ).run()


def report_of(result: BenchResult, root: Path) -> Report:
    """The report of ``result``, measured in ``root``, as the pipeline builds it."""
    return build_report(
        result, machine.read(root, result.target, result.settings.mode), repo_id="deadbeef"
    )


def test_building_a_report_runs_nothing(tmp_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 19: the machine, git and the tool versions are read once, before measuring
    (``measure/machine.py``); building the report only maps values."""
    result = measure(tmp_repo, Step("lint", ("true",)), cold_runs=1, warm_runs=1)
    facts = machine.read(tmp_repo, result.target, result.settings.mode)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process started while building the report: {args}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    built = build_report(result, facts, repo_id="deadbeef")
    assert built.environment is facts.environment and built.git is facts.git
    assert built.repository is facts.repository


def test_report_of_a_successful_run(tmp_repo: Path, validate_report: Validate) -> None:
    result = measure(
        tmp_repo, Step("a", ("true",), cache=(".c",)), Step("b", (sys.executable, "-c", "pass"))
    )
    report = validate_report(report_of(result, tmp_repo))
    assert report["schema"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", report["timestamp"])
    assert report["tool"]["name"] == "ftbench"
    assert report["tier"] == "lite" and report["mode"] == "custom"
    assert report["ok"] is True and report["error"] is None
    assert report["target"]["config_hash"] == result.target.config_hash()
    assert [s["name"] for s in report["target"]["steps"]] == ["a", "b"]
    for phase in ("cold", "warm"):
        run = report["runs"][phase]
        assert run["ok"] and run["exit_code"] == 0
        assert len(run["samples"]) == run["planned"] == 2
        walls = [s["wall_s"] for s in run["samples"]]
        assert run["elapsed_s"] == pytest.approx(statistics.median(walls), abs=1e-6)
        assert run["stats"]["n"] == 2
        assert set(run["steps"]) == {"a", "b"}
        assert run["cache"] == {"bytes": 0, "files": 0}
        for sample in run["samples"]:
            assert [s["name"] for s in sample["steps"]] == ["a", "b"]
            for step in sample["steps"]:
                assert (tmp_repo / step["log"]).is_file()
    assert report["speedup"] == pytest.approx(
        report["runs"]["cold"]["elapsed_s"] / report["runs"]["warm"]["elapsed_s"], rel=1e-2
    )
    assert report["environment"]["tool_versions"]["b"].startswith("Python ")
    assert report["git"]["commit"] == report["git"]["commit"].strip()
    assert report["git"]["dirty"] is False
    assert report["repository"]["fingerprint_method"] == "git-tree"
    assert report["regression"] is None
    json.dumps(report)


def test_report_of_a_failed_run_keeps_the_failed_sample(
    tmp_repo: Path, validate_report: Validate
) -> None:
    result = measure(tmp_repo, Step("bad", ("sh", "-c", "exit 9")), cold_runs=3)
    report = validate_report(report_of(result, tmp_repo))
    cold = report["runs"]["cold"]
    assert report["ok"] is False
    assert "exited with code 9" in report["error"]
    assert cold["ok"] is False and cold["exit_code"] == 9
    assert cold["failed_samples"] == 1 and len(cold["samples"]) == 1
    assert cold["elapsed_s"] is None  # no ok sample, no median
    assert cold["samples"][0]["ok"] is False
    assert "warm" not in report["runs"]
    assert report["speedup"] is None


def test_report_with_allow_failure_and_timeouts(tmp_repo: Path, validate_report: Validate) -> None:
    result = measure(
        tmp_repo, Step("slow", ("sleep", "5")), allow_failure=True, timeout_s=0.2, skip_warm=True
    )
    report = validate_report(report_of(result, tmp_repo))
    cold = report["runs"]["cold"]
    assert cold["timed_out_samples"] == 2
    assert all(s["timed_out"] and s["exit_code"] == -1 for s in cold["samples"])
    assert report["ok"] is False


def test_skipped_phase_is_absent(tmp_repo: Path, validate_report: Validate) -> None:
    result = measure(tmp_repo, Step("t", ("true",)), skip_cold=True)
    report = validate_report(report_of(result, tmp_repo))
    assert list(report["runs"]) == ["warm"]
    assert report["speedup"] is None


def test_rss_figures_in_the_report(
    tmp_repo: Path, validate_report: Validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FTBENCH_PROBE", "direct")
    result = measure(tmp_repo, Step("t", ("/bin/true",)), skip_warm=True)
    built = report_of(result, tmp_repo)
    report = validate_report(built)
    step = report["runs"]["cold"]["samples"][0]["steps"][0]
    assert step["max_rss_kb"] is None and step["rss_exact"] is False
    assert step["rss_floor_kb"] > 0
    assert report["measurement"]["probe"] == "direct"
    assert "unknown" in render(built)


def test_report_contains_no_secrets(
    tmp_repo: Path,
    validate_report: Validate,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    run_git: Callable[..., str],
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_reportsecret123")
    monkeypatch.setenv("S3_SECRET_ACCESS_KEY", "s3reportsecretXYZ")
    monkeypatch.setenv("CI", "true")
    run_git(tmp_repo, "remote", "add", "origin", "https://user:tok3n@example.com/o/r.git")
    step = Step(
        "s",
        ("echo", "--password=hunter2xyz", "ghp_reportsecret123"),
        env={"API_TOKEN": "envtoken999", "PLAIN": "--token=abc123456"},
    )
    result = measure(tmp_repo, step)
    built = report_of(result, tmp_repo)
    report = validate_report(built)
    write_reports(built, tmp_path / "out")
    paths = {name: tmp_path / "out" / name for name in REPORT_NAMES}
    assert report["git"]["remote"] == "https://example.com/o/r.git"
    recorded = report["environment"]["env"]
    assert recorded["CI"] == "true"
    assert set(recorded) <= redact.ENV_ALLOWLIST
    assert "GITHUB_TOKEN" not in recorded and "S3_SECRET_ACCESS_KEY" not in recorded
    for path in paths.values():
        text = path.read_text()
        for secret in (
            "tok3n",
            "hunter2xyz",
            "ghp_reportsecret123",
            "s3reportsecretXYZ",
            "abc123456",
        ):
            assert secret not in text, (path.name, secret)


def test_write_reports(tmp_repo: Path, tmp_path: Path, validate_report: Validate) -> None:
    built = report_of(measure(tmp_repo, Step("t", ("true",))), tmp_repo)
    report = validate_report(built)
    out = tmp_path / "out"
    markdown = write_reports(built, out)
    validate_report(out / "bench_proof.json")
    assert json.loads((out / "bench_proof.json").read_text()) == report
    assert (out / "bench_proof.md").read_text() == markdown == render(built)
    env = dict(line.split("=", 1) for line in (out / "bench_report.env").read_text().splitlines())
    assert env["FT_BENCH_REPORT"] == "out/bench_proof.json"
    assert env["FT_BENCH_WARM_MEDIAN_S"] == str(report["runs"]["warm"]["elapsed_s"])
    assert env["FT_BENCH_OK"] == "true"
    assert env["FT_BENCH_VERDICT"] == "not judged"
    assert sorted(p.name for p in out.iterdir()) == [
        "bench_proof.json",
        "bench_proof.md",
        "bench_report.env",
    ]  # no temp files


def test_atomic_write_leaves_old_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        paths.write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_markdown_tables(tmp_repo: Path, validate_report: Validate) -> None:
    built = report_of(
        measure(tmp_repo, Step("lint", ("true",)), cold_runs=6, warm_runs=6), tmp_repo
    )
    report = validate_report(built)
    verdict = TEMPLATE.regression
    assert verdict is not None
    md = render(
        dataclasses.replace(
            built, regression=dataclasses.replace(verdict, summary="no regression (test)")
        )
    )
    assert md.startswith("## ")
    assert "`lite` tier" in md
    assert "| cold |" in md and "| warm |" in md
    assert "6/6" in md
    assert "| lint |" in md
    assert "**Verdict:** no regression (test)" in md
    assert "Cold → warm speedup" in md
    assert report["run_id"] in md
    assert report["runs"]["warm"]["stats"]["ci95"] is not None
    assert "n/a (n<6)" not in md


def test_fmt_s() -> None:
    assert fmt_s(None) == "–"
    assert fmt_s(0.0504) == "50.4 ms"
    assert fmt_s(2.5) == "2.500 s"


# --- dotenv: always valid NAME=value single lines -------------------------------------------

_text = st.text()
_number = st.none() | st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(
    run_id=_text,
    tier=_text,
    ok=st.booleans(),
    cold=_number,
    warm=_number,
    speedup=_number,
    judged=st.booleans(),
    local_key=st.none() | _text,
    s3_key=st.none() | _text,
    s3_url=st.none() | _text,
    path=st.text(),
)
def test_dotenv_lines_are_valid_single_lines(
    run_id: str,
    tier: str,
    ok: bool,
    cold: float | None,
    warm: float | None,
    speedup: float | None,
    judged: bool,
    local_key: str | None,
    s3_key: str | None,
    s3_url: str | None,
    path: str,
) -> None:
    runs = TEMPLATE.runs
    assert runs.cold is not None and runs.warm is not None
    report = dataclasses.replace(
        TEMPLATE,
        run_id=run_id,
        tier=tier,
        ok=ok,
        speedup=speedup,
        runs=Runs(
            cold=dataclasses.replace(runs.cold, elapsed_s=cold),
            warm=dataclasses.replace(runs.warm, elapsed_s=warm),
        ),
        regression=TEMPLATE.regression if judged else None,
        archive=ArchiveRef(local_key=local_key, s3_key=s3_key, s3_url=s3_url),
    )
    lines = dotenv_lines(report, path)
    names = [line.split("=", 1)[0] for line in lines]
    assert len(set(names)) == len(names)
    assert "FT_BENCH_OK" in names
    text = "\n".join(lines) + "\n"
    assert text.splitlines() == lines  # no line breaks of any kind inside a value
    for line in lines:
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", line), line
        assert "\n" not in line and "\r" not in line
        assert line == line.strip() or line.endswith("=")


# --- stats ------------------------------------------------------------------------------------


def test_summarize() -> None:
    s = summarize([3.0, 1.0, 2.0, 10.0])
    assert s.n == 4 and s.median == 2.5 and s.min == 1.0 and s.max == 10.0
    assert s.mean == 4.0
    assert s.mad == pytest.approx(1.0)
    assert s.ci95 is None  # fewer than 6 samples
    empty = summarize([])
    assert empty.n == 0 and empty.median is None and empty.ci95 is None
    assert summarize([5.0]).stdev == 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0.001, max_value=100, allow_nan=False), min_size=6, max_size=60)
)
def test_median_ci_matches_scipy_quantile_test(values: list[float]) -> None:
    from scipy import stats

    ci = median_ci(values)
    expected = stats.quantile_test(values, q=statistics.median(values), p=0.5).confidence_interval(
        confidence_level=0.95
    )
    assert ci is not None
    assert ci[0] == pytest.approx(float(expected.low))
    assert ci[1] == pytest.approx(float(expected.high))
    assert ci[0] <= statistics.median(values) <= ci[1]
