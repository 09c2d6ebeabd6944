"""Issue 21, item 6: a calibration cannot silence the gate. Its threshold comes from an upper
confidence bound on the noise; three rounds store nothing; a stored threshold is capped at
twice the default (unless --force); every run that uses one says which and how old; a change
of the tool versions makes it stale."""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ftbench.cli import app as cli
from ftbench.judge import calibration
from ftbench.report.model import Report, Verdict

#: the rounds' warm medians of a noisy machine: a point estimate of the spread between them
#: asks for an archive threshold far above the default (as the issue's 69%)
NOISY = [1.0, 1.35, 0.8, 1.2, 0.9]
#: the module (``ftbench.pipeline.calibrate`` the name is the function it exports)
pipeline_calibrate = importlib.import_module("ftbench.pipeline.calibrate")


@pytest.fixture
def noisy_rounds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every A/A round judged as measured, its median set from :data:`NOISY` in turn."""
    real = pipeline_calibrate.judge_against
    medians = iter(NOISY * 4)

    def judged(report: Report, *args: Any, **kwargs: Any) -> Verdict:
        verdict: Verdict = real(report, *args, **kwargs)
        median = next(medians)
        phases = {
            name: dataclasses.replace(
                p,
                current=dataclasses.replace(p.current, median=median),
                pct_change=3.0,
                noise_floor_pct=2.0,
            )
            for name, p in verdict.phases.items()
        }
        return dataclasses.replace(verdict, phases=phases)

    monkeypatch.setattr(pipeline_calibrate, "judge_against", judged)
    yield


def run(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, Report]:
    code = cli.main(
        ["run", "--repo", str(repo), "--mode", "fast", "--skip-cold", "--progress", "never", *args]
    )
    out = capsys.readouterr().out
    return code, out, Report.from_json((repo / ".firsttry" / "bench_proof.json").read_bytes())


def calibrate(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = cli.main(["calibrate", "--repo", str(repo), "--mode", "fast", "--skip-cold", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def stored(repo: Path) -> list[Path]:
    return list((repo / ".firsttry/archive/.calibration").rglob("*.json"))


def test_a_three_round_calibration_cannot_raise_the_threshold(
    tmp_repo: Path, capsys: pytest.CaptureFixture[str], noisy_rounds: None
) -> None:
    out = calibrate(tmp_repo, capsys, "--rounds", "3")
    measured = float(out.split("measured: --regress-pct ")[1].split()[0])
    assert measured > 20  # what these rounds ask for: it would silence the gate
    assert "capped at 2x the defaults: 20 (archive judge)" in out
    assert "not stored: 3 rounds give too wide a bound on the noise" in out
    assert stored(tmp_repo) == []
    _, _, report = run(tmp_repo, capsys)
    assert report.regression is not None
    assert (report.regression.threshold_pct, report.regression.threshold_source) == (
        10.0,
        "default",
    )


def test_a_stored_threshold_is_capped_said_on_every_run_and_stale_with_new_tools(
    tmp_repo: Path, capsys: pytest.CaptureFixture[str], noisy_rounds: None
) -> None:
    out = calibrate(tmp_repo, capsys, "--rounds", "5")
    assert "capped at 2x the defaults: 20 (archive judge)" in out and "stored: " in out
    (path,) = stored(tmp_repo)
    data = json.loads(path.read_text())
    assert data["archive_pct"] == 20.0 and data["archive_measured_pct"] > 20
    assert data["forced"] is False and data["rounds"] == 5
    _, out, report = run(tmp_repo, capsys)
    verdict = report.regression
    assert verdict is not None and verdict.threshold_pct == 20.0
    assert (
        verdict.threshold_source == f"calibration of {data['created'][:10]} (5 rounds, 0 days old)"
    )
    (note,) = [n for n in verdict.notes if n.startswith("thresholds from calibration")]
    assert "archive 20%, --against 5% (defaults 10% and 5%;" in note and str(path) in note
    assert "note: thresholds from calibration of" in out  # on the terminal too
    # a file edited above the cap is capped when read
    path.write_text(json.dumps({**data, "archive_pct": 69.0}))
    _, _, report = run(tmp_repo, capsys)
    assert report.regression is not None and report.regression.threshold_pct == 20.0
    # the tools changed since: stale
    path.write_text(json.dumps({**data, "tool_versions": {"true": "true 1.0"}}))
    _, _, report = run(tmp_repo, capsys)
    verdict = report.regression
    assert verdict is not None and verdict.threshold_source == "default"
    assert any(
        "the tools changed since it was measured (true: true 1.0 -> None)" in n
        for n in verdict.notes
    )
    # a calibration of an older ftbench (a point estimate, no tool versions): ignored
    path.write_text(json.dumps({**data, "format": 1}))
    _, _, report = run(tmp_repo, capsys)
    assert report.regression is not None and report.regression.threshold_source == "default"


def test_force_stores_what_was_measured(
    tmp_repo: Path, capsys: pytest.CaptureFixture[str], noisy_rounds: None
) -> None:
    calibrate(tmp_repo, capsys, "--rounds", "3", "--force")
    (path,) = stored(tmp_repo)
    data = json.loads(path.read_text())
    assert data["forced"] is True and data["archive_pct"] == data["archive_measured_pct"] > 20
    _, _, report = run(tmp_repo, capsys)
    assert report.regression is not None
    assert (report.regression.threshold_source or "").endswith("rounds, 0 days old, forced)")


def test_the_bound_on_the_noise_is_an_upper_confidence_bound() -> None:
    # chi-square quantiles (scipy.stats.chi2.ppf(0.05, df))
    for df, expected in [(2, 0.10259), (4, 0.71072), (9, 3.32511), (29, 17.70837)]:
        assert math.isclose(calibration.chi2_ppf(0.05, df), expected, rel_tol=1e-4)
    logs = [math.log(m) for m in NOISY]
    import statistics

    assert calibration.noise_bound(logs) > 2 * statistics.stdev(logs)  # 5 rounds: x2.4
    rounds = [calibration.Round("no change", 1.0, 2.0, m, "wall") for m in NOISY]
    found = calibration.recommend(rounds)
    assert found.capped and found.archive_pct == 20.0 and found.archive_measured_pct > 20
    assert calibration.recommend(rounds, force=True).archive_pct == found.archive_measured_pct


def test_age_is_counted_from_the_day_it_was_made(tmp_path: Path) -> None:
    rounds = [
        calibration.Round("no change", 0.5, 1.0, 1.0 + d, "wall")
        for d in (0, 0.01, -0.01, 0.005, 0)
    ]
    found = calibration.recommend(rounds)
    record = calibration.Stored(
        format=calibration.FORMAT,
        created="2026-11-26T10:00:00Z",
        machine="m",
        machine_class={},
        config_hash="h",
        mode="fast",
        tier="t",
        metric="wall",
        rounds=5,
        false_alarms=0,
        noise_floor_pct=1.0,
        against_pct=found.against_pct,
        archive_pct=found.archive_pct,
        against_measured_pct=found.against_measured_pct,
        archive_measured_pct=found.archive_measured_pct,
        forced=False,
        tool_versions={"ruff": "ruff 0.17.6"},
    )
    calibration.save(tmp_path, record)
    same: Callable[[], dict[str, str | None]] = lambda: {"ruff": "ruff 0.17.6"}  # noqa: E731
    got, note = calibration.load(tmp_path, "m", "h", "fast", same, today=date(2026, 12, 5))
    assert got is not None and got.source == "calibration of 2026-11-26 (5 rounds, 9 days old)"
    assert note.startswith("thresholds from calibration of 2026-11-26 (5 rounds, 9 days old)")


@pytest.mark.parametrize("extra", [["--cache", "x"], ["--shell"]])
def test_calibrate_refuses_cmd_options_without_cmd_as_run_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    """Issue 19: calibrate's copy of run's arguments had lost this check (``--cache`` was
    dropped without a word); both read the one argument group now."""
    for command in ("run", "calibrate"):
        code = cli.main([command, "--repo", str(tmp_path), "--tier", "lite", *extra])
        assert code == 2
        assert "--cache and --shell only apply to --cmd" in capsys.readouterr().err
