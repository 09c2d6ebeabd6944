"""Generated archives for the scale benchmarks (``benchmarks/scale_bench.py``,
``benchmarks/query_bench.py``): copies of a real 0.1.0 report (``tier-judged.json``: 5 cold
and 5 warm samples of 2 steps, ~9 KB) with their own run id, time, commit, branch and
medians (a level that steps +20% two thirds of the way, 3% noise).

Not a benchmark itself: imported by them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
from collections.abc import Iterator
from pathlib import Path

from ftbench.archive.base import report_key
from ftbench.report.model import Phase, Report, Stats

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = Report.from_json((REPO / "tests/fixtures/reports/v1/tier-judged.json").read_bytes())
VERDICTS = ("no change",) * 4 + ("inconclusive", "regression")


def _scaled_stats(stats: Stats, f: float) -> Stats:
    def m(v: float | None) -> float | None:
        return None if v is None else v * f

    ci = stats.ci95
    return dataclasses.replace(
        stats,
        median=m(stats.median),
        mean=m(stats.mean),
        min=m(stats.min),
        max=m(stats.max),
        stdev=m(stats.stdev),
        mad=m(stats.mad),
        ci95=None if ci is None else (ci[0] * f, ci[1] * f),
    )


def _scaled(phase: Phase, f: float) -> Phase:
    return dataclasses.replace(
        phase,
        elapsed_s=None if phase.elapsed_s is None else phase.elapsed_s * f,
        stats=_scaled_stats(phase.stats, f),
        steps={k: _scaled_stats(v, f) for k, v in phase.steps.items()},
    )


def timestamp(i: int, start: int = 1_735_689_600, spacing_s: int = 3600) -> str:
    """The i-th report time: hourly from 2025-01-01 (5,000 reports: about 7 months)."""
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + i * spacing_s))


def reports(
    n: int, repo_id: str = "fleet001", *, seed: int = 0, step_at: float = 2 / 3
) -> Iterator[Report]:
    """``n`` reports of one repository, oldest first."""
    rng = random.Random(seed)
    runs = TEMPLATE.runs
    assert runs.warm is not None and runs.cold is not None
    reg = TEMPLATE.regression
    for i in range(n):
        level = 1.2 if i >= int(n * step_at) else 1.0
        f = level * math.exp(rng.gauss(0.0, 0.03))
        commit = hashlib.sha1(f"{repo_id}-{i}".encode()).hexdigest()
        verdict = VERDICTS[i % len(VERDICTS)]
        yield dataclasses.replace(
            TEMPLATE,
            run_id=hashlib.md5(f"{repo_id}/{seed}/{i}".encode()).hexdigest(),
            timestamp=timestamp(i),
            repo_id=repo_id,
            runs=dataclasses.replace(
                runs, warm=_scaled(runs.warm, f), cold=_scaled(runs.cold, f * 1.1)
            ),
            git=dataclasses.replace(
                TEMPLATE.git, commit=commit, branch="main" if i % 5 else "feature"
            ),
            regression=None if reg is None else dataclasses.replace(reg, verdict=verdict),
            archive=None,
        )


def write_archive(root: Path, n: int, repo_id: str = "fleet001", prefix: str = "benchmarks") -> int:
    """Write ``n`` reports into a local archive directory (as ``ft-bench run`` would)."""
    from ftbench.archive.local import LocalArchive

    local = LocalArchive(root, prefix)
    for report in reports(n, repo_id):
        data = report.archive_bytes()
        local.put(report_key(prefix, repo_id, data, report.timestamp), data)
    return n
