"""Self-calibrating thresholds: what ``ft-bench calibrate`` measured, stored and found again.

A calibration is an A/A experiment: the target against itself, interleaved, several rounds.
From it come the false-alarm rate at the thresholds in force, the noise floor, and two
recommended thresholds: for ``--against`` (the A/A pair changes) and for the archive judge
(the spread between the rounds' medians, as the archive judge would see it across runs).

It is stored per machine class (CPU model, core count, OS, architecture), target
(configuration hash) and mode, under ``{archive}/.calibration/{repo-id}/``; a run on the same
machine class and target takes its thresholds as defaults (``--regress-pct`` still wins) and
its report says so (``regression.threshold_source``).

A calibration must not silence the gate (issue 21: three rounds once stored an archive
threshold of 69%, and a significant +21% change then passed as "no change"). So: a threshold
comes from an upper confidence bound on the noise, never a point estimate (the spread between
the rounds' medians at its 95% chi-square bound); fewer than :data:`MIN_ROUNDS` rounds store
nothing; a threshold is capped at :data:`CAP_FACTOR` times the default unless ``--force``
(checked again when a calibration is read); a run that uses one names it, with its age, in the
verdict's notes; and it is ignored once the tool versions it was measured with change (the
machine class is part of its file name).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ftbench import paths
from ftbench.judge.between import t_ppf
from ftbench.judge.options import (
    DEFAULT_AB_REGRESS_PCT,
    DEFAULT_ALPHA,
    DEFAULT_BASELINE_COUNT,
    DEFAULT_REGRESS_PCT,
    Calibration,
)

#: 2: tool versions, the cap and the bound (format 1 files are ignored: measure again)
FORMAT = 2
#: no recommended threshold below this (percent): changes this small are rarely worth a gate
MIN_THRESHOLD_PCT = 1.0
#: fewer rounds than this store nothing: the bound on the noise is too wide to use
MIN_ROUNDS = 5
#: a stored threshold is at most this many times the default, unless ``--force``
CAP_FACTOR = 2.0
#: the confidence of the upper bound on the noise between rounds
NOISE_CONFIDENCE = 0.95


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
    #: what the rounds asked for, before the cap
    against_measured_pct: float
    archive_measured_pct: float
    #: ``--force``: stored above the cap
    forced: bool
    #: the tool versions measured (a change makes the calibration stale)
    tool_versions: dict[str, str | None]


@dataclass(frozen=True)
class Recommendation:
    """The thresholds the rounds ask for (``measured``) and those stored (capped)."""

    against_pct: float
    archive_pct: float
    against_measured_pct: float
    archive_measured_pct: float

    @property
    def capped(self) -> bool:
        return (self.against_pct, self.archive_pct) != (
            self.against_measured_pct,
            self.archive_measured_pct,
        )


def path_for(directory: Path, machine: str, config_hash: str, mode: str) -> Path:
    return directory / f"{machine}-{config_hash}-{mode}.json"


def chi2_ppf(q: float, df: int) -> float:
    """The ``q`` quantile of the chi-square distribution (bisection on its CDF, the series of
    the regularised lower incomplete gamma function; q below 0.5 as used here)."""

    def cdf(x: float) -> float:
        a, y = df / 2, x / 2
        if y <= 0:
            return 0.0
        term = total = 1 / a
        n = 0
        while abs(term) > 1e-15 * abs(total) and n < 10_000:
            n += 1
            term *= y / (a + n)
            total += term
        return min(1.0, math.exp(a * math.log(y) - y - math.lgamma(a)) * total)

    lo, hi = 0.0, float(df)
    while cdf(hi) < q:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return (lo + hi) / 2


def noise_bound(logs: Sequence[float]) -> float:
    """The :data:`NOISE_CONFIDENCE` upper bound of the standard deviation of ``logs`` (the
    rounds' log medians): ``s * sqrt((k - 1) / chi2_{1 - confidence}(k - 1))``; 3 rounds
    multiply their ``s`` by 4.4, 5 by 2.4, 10 by 1.7."""
    k = len(logs)
    return statistics.stdev(logs) * math.sqrt((k - 1) / chi2_ppf(1 - NOISE_CONFIDENCE, k - 1))


def recommend(
    rounds: Sequence[Round], *, alpha: float = DEFAULT_ALPHA, force: bool = False
) -> Recommendation:
    """The thresholds the rounds ask for, and those to store.

    ``--against``: 1.5 times the largest A/A change seen (never below the median noise floor
    of a round); archive: the change at the archive judge's prediction bound (default
    baseline count, the alpha of one of two phases) with the :func:`noise_bound` of the
    spread between the rounds' medians. Both at least :data:`MIN_THRESHOLD_PCT`, rounded up to
    a whole percent; stored at most :data:`CAP_FACTOR` times the default unless ``force``.
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
        bound = t_ppf(1 - alpha / 2, len(logs) - 1) * noise_bound(logs) * math.sqrt(1 + 1 / k)
        archive = max(archive, (math.exp(bound) - 1) * 100)
    against, archive = float(math.ceil(against)), float(math.ceil(archive))
    if force:
        return Recommendation(against, archive, against, archive)
    return Recommendation(
        min(against, CAP_FACTOR * DEFAULT_AB_REGRESS_PCT),
        min(archive, CAP_FACTOR * DEFAULT_REGRESS_PCT),
        against,
        archive,
    )


def save(directory: Path, stored: Stored, anchor: Path | None = None) -> Path:
    """Write atomically; returns the file. No link is allowed between ``anchor`` (the
    archive's, :func:`ftbench.paths.anchor`; default: ``directory`` as named) and the file."""
    directory = paths.directory(directory, directory if anchor is None else anchor)
    path = path_for(directory, stored.machine, stored.config_hash, stored.mode)
    return paths.write(path, json.dumps(asdict(stored), indent=2) + "\n", directory)


def load(
    directory: Path,
    machine: str,
    config_hash: str,
    mode: str,
    versions: Callable[[], Mapping[str, str | None]] | None = None,
    today: date | None = None,
) -> tuple[Calibration | None, str]:
    """The stored calibration for this machine class, target and mode, and a note: the one a
    run prints when it uses it (source, age, file), or why a file that exists is not used.
    ``versions``: the tool versions now (asked only when a file exists)."""
    path = path_for(directory, machine, config_hash, mode)
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, ""
    except (OSError, ValueError) as exc:
        return None, f"calibration {path.name} ignored: {exc}"
    try:
        if raw["format"] != FORMAT:
            return None, (
                f"calibration {path.name} ignored: made by an older ftbench (format "
                f"{raw['format']!r}, no bound on the noise); run ft-bench calibrate again"
            )
        against, archive = float(raw["against_pct"]), float(raw["archive_pct"])
        if not all(math.isfinite(v) and v >= 0 for v in (against, archive)):
            raise ValueError("thresholds must be numbers >= 0")
        rounds, forced, created = int(raw["rounds"]), raw["forced"] is True, str(raw["created"])
        stored_versions = dict(raw["tool_versions"])
        made = date.fromisoformat(created[:10])
    except (KeyError, TypeError, ValueError) as exc:
        return None, f"calibration {path.name} ignored: bad field ({exc})"
    if rounds < MIN_ROUNDS and not forced:
        return None, f"calibration {path.name} ignored: {rounds} rounds (at least {MIN_ROUNDS})"
    now = dict(versions()) if versions is not None else stored_versions
    changed = [
        f"{name}: {stored_versions.get(name)} -> {now.get(name)}"
        for name in sorted(set(stored_versions) | set(now))
        if stored_versions.get(name) != now.get(name)
    ]
    if changed:
        return None, (
            f"calibration {path.name} ignored: the tools changed since it was measured "
            f"({'; '.join(changed)}); run ft-bench calibrate again"
        )
    if not forced:
        against = min(against, CAP_FACTOR * DEFAULT_AB_REGRESS_PCT)
        archive = min(archive, CAP_FACTOR * DEFAULT_REGRESS_PCT)
    age = ((today or datetime.now(UTC).date()) - made).days
    old = f"{age} day{'s' if age != 1 else ''} old"
    source = f"calibration of {created[:10]} ({rounds} rounds, {old}{', forced' if forced else ''})"
    note = (
        f"thresholds from {source}: archive {archive:g}%, --against {against:g}% "
        f"(defaults {DEFAULT_REGRESS_PCT:g}% and {DEFAULT_AB_REGRESS_PCT:g}%; {path})"
    )
    return Calibration(archive_pct=archive, against_pct=against, source=source), note
