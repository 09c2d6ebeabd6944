"""Self-calibrating thresholds: what ``ft-bench calibrate`` measured, stored and found again.

A calibration is an A/A experiment: the target against itself, interleaved, several rounds.
From it come the false-alarm rate at the thresholds in force, the noise floor, and two
recommended thresholds: for ``--against`` (the A/A pair changes) and for the archive judge
(the spread between the rounds' medians, as the archive judge would see it across runs).

It is stored per machine class (CPU model, core count, OS, architecture), target
(configuration hash) and mode, under ``{archive}/.calibration/{repo-id}/``; a run on the same
machine class and target takes its thresholds as defaults (``--regress-pct`` still wins) and
its report says so (``regression.threshold_source``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ftbench import paths
from ftbench.judge.between import t_ppf
from ftbench.judge.options import DEFAULT_ALPHA, DEFAULT_BASELINE_COUNT, Calibration

FORMAT = 1
#: no recommended threshold below this (percent): changes this small are rarely worth a gate
MIN_THRESHOLD_PCT = 1.0


@dataclass(frozen=True)
class Round:
    """One A/A round: the deciding metric's verdict, change and noise floor, and the median
    of each side (for the spread between runs)."""

    verdict: str
    pct_change: float | None
    noise_floor_pct: float | None
    median: float | None
    metric: str


@dataclass(frozen=True)
class Stored:
    format: int
    created: str
    machine: str
    machine_class: dict[str, Any]
    config_hash: str
    mode: str
    tier: str
    metric: str
    rounds: int
    false_alarms: int
    noise_floor_pct: float | None
    against_pct: float
    archive_pct: float


def machine_class(environment: Mapping[str, Any]) -> dict[str, Any]:
    return {k: environment.get(k) for k in ("cpu_model", "cpu_count", "os", "arch")}


def machine_key(environment: Mapping[str, Any]) -> str:
    raw = json.dumps(machine_class(environment), sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()[:12]


def path_for(directory: Path, machine: str, config_hash: str, mode: str) -> Path:
    return directory / f"{machine}-{config_hash}-{mode}.json"


def recommend(rounds: Sequence[Round], *, alpha: float = DEFAULT_ALPHA) -> tuple[float, float]:
    """``(against_pct, archive_pct)`` from the rounds.

    ``--against``: 1.5 times the largest A/A change seen (never below the median noise floor
    of a round); archive: the change at the archive judge's prediction bound (default
    baseline count, the alpha of one of two phases) with the spread between the rounds'
    medians. Both at least :data:`MIN_THRESHOLD_PCT`, rounded up to a whole percent.
    """
    changes = [abs(r.pct_change) for r in rounds if r.pct_change is not None]
    floors = [r.noise_floor_pct for r in rounds if r.noise_floor_pct is not None]
    against = max(
        1.5 * max(changes, default=0.0),
        statistics.median(floors) if floors else 0.0,
        MIN_THRESHOLD_PCT,
    )
    logs = [math.log(r.median) for r in rounds if r.median and r.median > 0]
    archive = MIN_THRESHOLD_PCT
    if len(logs) >= 2:
        k = DEFAULT_BASELINE_COUNT
        bound = t_ppf(1 - alpha / 2, len(logs) - 1) * statistics.stdev(logs) * math.sqrt(1 + 1 / k)
        archive = max(archive, (math.exp(bound) - 1) * 100)
    return float(math.ceil(against)), float(math.ceil(archive))


def save(directory: Path, stored: Stored, anchor: Path | None = None) -> Path:
    """Write atomically; returns the file. No link is allowed between ``anchor`` (the
    archive's, :func:`ftbench.paths.anchor`; default: ``directory`` as named) and the file."""
    directory = paths.directory(directory, directory if anchor is None else anchor)
    path = path_for(directory, stored.machine, stored.config_hash, stored.mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(stored), indent=2) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(
    directory: Path, machine: str, config_hash: str, mode: str
) -> tuple[Calibration | None, str]:
    """The stored calibration for this machine class, target and mode, and a note when a file
    exists but cannot be used."""
    path = path_for(directory, machine, config_hash, mode)
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, ""
    except (OSError, ValueError) as exc:
        return None, f"calibration {path.name} ignored: {exc}"
    try:
        if raw["format"] != FORMAT:
            raise ValueError(f"format {raw['format']!r}")
        against, archive = float(raw["against_pct"]), float(raw["archive_pct"])
        if not all(math.isfinite(v) and v >= 0 for v in (against, archive)):
            raise ValueError("thresholds must be numbers >= 0")
        source = f"calibration of {str(raw['created'])[:10]} ({int(raw['rounds'])} rounds)"
    except (KeyError, TypeError, ValueError) as exc:
        return None, f"calibration {path.name} ignored: bad field ({exc})"
    return Calibration(archive_pct=archive, against_pct=against, source=source), ""
