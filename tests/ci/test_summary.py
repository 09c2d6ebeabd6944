"""What a reviewer and a terminal read: the Markdown comment (report/markdown.py), the plain-text
summary (report/text.py), ``ft-bench run --format``, and the loud "no baseline" in CI."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from ftbench import cli
from ftbench.report.markdown import render
from ftbench.report.model import BaseSide, Environment, Report
from ftbench.report.text import no_baseline_warning, render_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reports" / "v1"


def _load(name: str) -> Report:
    return Report.from_json((FIXTURES / f"{name}.json").read_bytes())


def _cells(markdown: str) -> list[str]:
    return [
        cell.strip()
        for line in markdown.splitlines()
        if line.startswith("|") and not line.startswith("|---")
        for cell in line.strip().strip("|").split("|")
    ]


def _with_ci(report: Report, **env: str) -> Report:
    environment: Environment = dataclasses.replace(
        report.environment, ci="github-actions", env={**report.environment.env, **env}
    )
    return dataclasses.replace(report, environment=environment)


def test_regression_comment_is_verdict_first_and_honest() -> None:
    md = render(_load("cmd-regression"))
    first = md.splitlines()[0]
    assert first.startswith("## 🔴 Regression")
    judged = [line for line in md.splitlines() if line.startswith(("| warm |", "| cold |"))][:2]
    assert all("🔴 regression" in line and "✅" not in line for line in judged)
    header = md.splitlines()[md.splitlines().index(judged[0]) - 2]
    for column in ("status", "base", "current", "change", "95% CI of change"):
        assert f"| {column} |" in header
    assert "22.6 ms (n=20)" in judged[0] and "42.4 ms (n=10)" in judged[0]
    assert "**+88%**" in judged[0] and "+86% .. +90%" in judged[0]
    assert "**exit 4**" in md


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_nothing_is_empty(path: Path) -> None:
    md = render(Report.from_json(path.read_bytes()))
    assert "" not in _cells(md)
    assert "| | |" not in md


def test_new_fields_are_rendered() -> None:
    report = _load("cmd-regression")
    verdict = report.regression
    assert verdict is not None and report.runs.warm is not None
    phases = {
        name: dataclasses.replace(p, noise_floor_pct=3.25) for name, p in verdict.phases.items()
    }
    against = BaseSide(
        ref="main",
        commit="0123456789abcdef0123",
        how="git worktree",
        order="ABBA",
        setup=None,
        stopped={},
        tool_versions={},
        runs=report.runs,
    )
    warm = dataclasses.replace(report.runs.warm, speed_ref_ms=2.5, speed_ref_spread_pct=4.0)
    report = dataclasses.replace(
        report,
        regression=dataclasses.replace(verdict, phases=phases),
        against=against,
        runs=dataclasses.replace(report.runs, warm=warm),
    )
    md = render(report)
    assert "| noise floor |" in md and "±3.2%" in md
    assert "base: `main` at `0123456789ab` measured in this job (ABBA)" in md
    assert "| Machine speed (reference loop) | warm 2.50 ms (varied 4%) |" in md
    text = render_text(report)
    assert "±3.2%" in text and "noise" in text


def test_failed_run_says_so_first() -> None:
    md = render(_load("cmd-failed"))
    assert md.startswith("## ❌ Failed")
    assert "❌ exit 3" in md and "not judged" in md


def test_links_to_the_ci_run() -> None:
    report = _with_ci(_load("tier-judged"), GITHUB_REPOSITORY="o/r", GITHUB_RUN_ID="77")
    md = render(report)
    assert "[workflow run](https://github.com/o/r/actions/runs/77)" in md
    assert "(https://github.com/o/r/actions/runs/77#artifacts)" in md
    gitlab = _with_ci(_load("tier-judged"), CI_JOB_URL="https://gl.example/g/p/-/jobs/5")
    assert "(https://gl.example/g/p/-/jobs/5/artifacts/browse)" in render(gitlab)
    assert "workflow run" not in render(_load("tier-judged"))


def test_no_baseline_is_loud_in_ci_only() -> None:
    report = _load("tier-first")
    assert report.regression is not None and report.regression.verdict == "no baseline"
    assert no_baseline_warning(report) is None  # on a laptop: just the verdict
    assert "Nothing was gated" not in render(report)
    in_ci = _with_ci(report)
    warning = no_baseline_warning(in_ci)
    assert warning is not None and "nothing was gated" in warning
    for fix in ("cache", "S3", "--against"):
        assert fix in warning
    assert "Nothing was gated in CI" in render(in_ci)
    assert render(in_ci).startswith("## ⚠️ No baseline: nothing was gated")


def test_text_summary_is_plain() -> None:
    text = render_text(_load("cmd-regression"))
    assert text.splitlines()[0] == "ftbench: Regression · cmd tier (custom mode)"
    assert not re.search(r"<details>|\|---|\*\*", text)
    assert re.search(r"warm\s+42\.4 ms .*\+88%", text)


def test_cli_prints_text_markdown_and_warns_without_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    for var in ("GITHUB_ACTIONS", "GITLAB_CI", "CI", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)
    fast = ["run", "--cmd", "true", "--runs", "2", "--cold-runs", "1", "--warmup", "0"]
    assert cli.main([*fast, "--progress", "never"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ftbench: ") and "<details>" not in out
    assert "no baseline in CI" not in err
    for flag in (["--markdown"], ["--format", "markdown"]):
        assert cli.main([*fast, "--baseline", "none", *flag]) == 0
        out, _ = capsys.readouterr()
        assert out.startswith("## ") and "<details>" in out
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    assert cli.main([*fast, "--archive-dir", str(tmp_path / "empty")]) == 0
    out, err = capsys.readouterr()
    assert "[WARN] no baseline in CI" in err
    assert "::warning title=ftbench: no baseline::" in out
    assert "Nothing was gated in CI" in (tmp_path / "summary.md").read_text()
