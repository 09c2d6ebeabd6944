"""Speed of the judge's statistics (``ftbench.judge.stats``, pure Python) per judged phase:
both one-sided Mann-Whitney U p-values plus the 2000-resample bootstrap interval.

    .venv/bin/python benchmarks/stats_speed.py [--repeat N]

Printed figures, not a test. Beside them: the textbook pure-Python bootstrap (draw n values,
sort, take the median; what the module avoids) and, when installed, the numpy/scipy code the
judge used before (``scipy.stats.mannwhitneyu`` and a numpy bootstrap).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from ftbench.judge.stats import bootstrap_ratio_ci, mann_whitney

RESAMPLES = 2000
SEED = 20261125
SIZES = ((5, 25), (10, 50), (8, 300), (100, 100), (300, 300))


def best_ms(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``repeat`` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def naive_bootstrap(current: list[float], baseline: list[float]) -> tuple[float, float]:
    rng = random.Random(SEED)
    ratios = sorted(
        statistics.median(rng.choices(current, k=len(current)))
        / statistics.median(rng.choices(baseline, k=len(baseline)))
        for _ in range(RESAMPLES)
    )
    return ratios[int(0.025 * RESAMPLES)], ratios[int(0.975 * RESAMPLES)]


def numpy_stats(current: list[float], baseline: list[float]) -> None:
    import numpy as np
    from scipy import stats

    stats.mannwhitneyu(current, baseline, alternative="greater")
    stats.mannwhitneyu(current, baseline, alternative="less")
    rng = np.random.default_rng(SEED)
    cur, base = np.asarray(current), np.asarray(baseline)
    cm = np.median(cur[rng.integers(0, cur.size, size=(RESAMPLES, cur.size))], axis=1)
    bm = np.median(base[rng.integers(0, base.size, size=(RESAMPLES, base.size))], axis=1)
    np.percentile(cm / bm, [2.5, 97.5])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="calls timed per cell (median)")
    args = parser.parse_args()
    try:
        import numpy  # noqa: F401
        import scipy  # noqa: F401

        have_numpy = True
    except ImportError:
        have_numpy = False
    rng = random.Random(1)
    print(
        f"# ftbench.judge.stats: time of one phase's statistics (median of {args.repeat} "
        f"calls; log-normal wall times, CV 10%, current 5% slower)\n"
    )
    print(
        "| current vs baseline | MWU (both sides) | method | bootstrap, 2000 | total "
        "| naive pure-Python bootstrap | numpy/scipy (old code) |"
    )
    print("|---|---:|---|---:|---:|---:|---:|")
    for n1, n2 in SIZES:
        cur = [1.05 * rng.lognormvariate(0.0, 0.1) for _ in range(n1)]
        base = [rng.lognormvariate(0.0, 0.1) for _ in range(n2)]
        method = mann_whitney(cur, base).method
        mwu = best_ms(partial(mann_whitney, cur, base), args.repeat)
        boot = best_ms(
            partial(bootstrap_ratio_ci, cur, base, resamples=RESAMPLES, seed=SEED), args.repeat
        )
        naive = best_ms(partial(naive_bootstrap, cur, base), max(3, args.repeat // 5))
        old = (
            f"{best_ms(partial(numpy_stats, cur, base), args.repeat):.1f} ms"
            if have_numpy
            else "(numpy not installed)"
        )
        print(
            f"| {n1} vs {n2} | {mwu:.2f} ms | {method} | {boot:.1f} ms | {mwu + boot:.1f} ms "
            f"| {naive:.0f} ms | {old} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
