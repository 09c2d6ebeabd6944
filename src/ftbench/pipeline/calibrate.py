"""``ft-bench calibrate``: the target against itself, interleaved, several rounds (A/A)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from pathlib import Path

from ftbench import paths
from ftbench.archive.local import default_archive_dir
from ftbench.errors import FtbenchError
from ftbench.judge import calibration
from ftbench.judge.ab import judge_against
from ftbench.measure.worktree import BaseRef
from ftbench.pipeline.ab import interleaved
from ftbench.pipeline.request import RunRequest, calibration_dir, prepared
from ftbench.report.build import base_side, build_report
from ftbench.report.model import Report


@dataclass(frozen=True)
class CalibrationOutcome:
    """What ``ft-bench calibrate`` measured and stored."""

    rounds: tuple[calibration.Round, ...]
    stored: calibration.Stored
    #: where it was stored; None: too few rounds to store (:data:`calibration.MIN_ROUNDS`)
    path: Path | None


def _own_words(error: FtbenchError, number: int, rounds: int) -> FtbenchError:
    """A failure in calibration's words: both sides are this tree (not a "base side")."""
    text = str(error)
    for side in ("base side: ", "current side: "):
        text = text.removeprefix(side)
    return FtbenchError(
        f"calibration round {number} of {rounds} (this tree against itself): {text}",
        exit_code=error.exit_code,
    )


def calibrate(request: RunRequest, rounds: int, *, force: bool = False) -> CalibrationOutcome:
    """A/A: the target against itself, interleaved, ``rounds`` times; the thresholds it
    recommends are stored for this machine class, target and mode (see
    :mod:`ftbench.judge.calibration`). A round that fails ends the calibration."""
    request, facts, rid = prepared(request)
    root, options = request.root, request.judge
    self_ref = BaseRef("A/A", "", "A/A: this tree against itself")
    made: list[calibration.Round] = []
    report: Report | None = None
    for number in range(1, rounds + 1):
        measured, looks = interleaved(request, root)
        if measured.current.error is not None:
            raise _own_words(measured.current.error, number, rounds)
        report = build_report(measured.current, facts, repo_id=rid)
        against = base_side(
            measured.base,
            ref=replace(self_ref, commit=report.git.commit or ""),
            order=measured.order,
            setup=None,
            stopped=measured.stopped,
            tool_versions=dict(report.environment.tool_versions),
        )
        verdict = judge_against(replace(report, against=against), options, looks=looks)
        phase = verdict.phases.get("warm") or next(iter(verdict.phases.values()), None)
        made.append(
            calibration.Round(
                verdict=verdict.verdict,
                pct_change=None if phase is None else phase.pct_change,
                noise_floor_pct=None if phase is None else phase.noise_floor_pct,
                median=None if phase is None else phase.current.median,
                metric=verdict.metric,
            )
        )
    assert report is not None
    found = calibration.recommend(made, alpha=options.alpha, force=force)
    floors = [r.noise_floor_pct for r in made if r.noise_floor_pct is not None]
    machine = facts.klass
    stored = calibration.Stored(
        format=calibration.FORMAT,
        created=report.timestamp,
        machine=machine.key,
        machine_class=machine.as_dict(),
        config_hash=report.target.config_hash,
        mode=report.mode,
        tier=report.tier,
        metric=made[-1].metric,
        rounds=len(made),
        false_alarms=sum(r.verdict == "regression" for r in made),
        noise_floor_pct=round(statistics.median(floors), 2) if floors else None,
        against_pct=found.against_pct,
        archive_pct=found.archive_pct,
        against_measured_pct=found.against_measured_pct,
        archive_measured_pct=found.archive_measured_pct,
        forced=force,
        tool_versions=dict(report.environment.tool_versions),
    )
    if len(made) < calibration.MIN_ROUNDS and not force:
        return CalibrationOutcome(tuple(made), stored, None)
    archive = default_archive_dir(root, request.archive_dir)
    saved = calibration.save(calibration_dir(request), stored, paths.anchor(archive, root))
    return CalibrationOutcome(tuple(made), stored, saved)
