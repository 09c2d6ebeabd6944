"""Change points of ``ft-bench trend`` (``ftbench.analyse.changepoints``): accuracy and speed.

Simulated per-report medians (log-normal noise, independent reports). Prints:

1. false change points: share of flat series with at least one change point, at 3% and 10%
   noise, 10 to 5,000 reports (target <= 1%);
2. a +20% step at 3% noise (and smaller ones): share found within one report of the truth,
   and the median placement error;
3. one slow report (+35%) in a flat series: share reported as a change;
4. time against the number of reports: the binary segmentation used, PELT with the same L2
   cost (pure Python, for comparison), and ruptures' PELT with the l1 cost (the previous
   method) when ruptures is installed.

    .venv/bin/python benchmarks/changepoints.py [--trials 400] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ftbench.analyse import DEFAULT_PENALTY
from ftbench.analyse.changepoints import (
    MIN_SIZE,
    change_points,
    clipped,
    noise_scale,
    penalty_for,
)


def flat(n: int, cv: float, rng: random.Random) -> list[float]:
    return [0.1 * math.exp(rng.gauss(0.0, cv)) for _ in range(n)]


def stepped(n: int, cv: float, at: int, size: float, rng: random.Random) -> list[float]:
    return [v * (size if i >= at else 1.0) for i, v in enumerate(flat(n, cv, rng))]


def pelt_l2(values: Sequence[float], beta: float) -> list[int]:
    """PELT (Killick et al. 2012) with the same L2 cost, for the timing comparison."""
    n = len(values)
    s1, s2 = [0.0] * (n + 1), [0.0] * (n + 1)
    for i, v in enumerate(values):
        s1[i + 1], s2[i + 1] = s1[i] + v, s2[i] + v * v
    best, last, cands = [-beta] + [0.0] * n, [0] * (n + 1), [0]
    for t in range(MIN_SIZE, n + 1):
        if t >= 2 * MIN_SIZE:
            cands.append(t - MIN_SIZE)
        scores = [best[s] + s2[t] - s2[s] - (s1[t] - s1[s]) ** 2 / (t - s) for s in cands]
        i = min(range(len(cands)), key=scores.__getitem__)
        best[t], last[t] = scores[i] + beta, cands[i]
        cands = [s for s, c in zip(cands, scores, strict=True) if c <= scores[i] + beta]
    out, t = [], n
    while t > 0:
        t = last[t]
        if t > 0:
            out.append(t)
    return sorted(out)


def pelt_prepared(values: Sequence[float]) -> list[int]:
    log = [math.log(v) for v in values]
    sigma = noise_scale(log)
    return pelt_l2([v / sigma for v in clipped(log, sigma)], penalty_for(len(log), DEFAULT_PENALTY))


def ruptures_l1(values: Sequence[float]) -> list[int]:
    import numpy as np
    import ruptures

    log = np.log(np.asarray(values))
    sigma = noise_scale([float(v) for v in log])
    signal = ((log - float(np.median(log))) / sigma).reshape(-1, 1)
    algo = ruptures.Pelt(model="l1", min_size=2, jump=1).fit(signal)
    return [int(b) for b in algo.predict(pen=7.0)][:-1]


def timing(fn: Callable[[Sequence[float]], object], n: int, rng: random.Random) -> float:
    values = stepped(n, 0.03, int(n * 2 / 3), 1.2, rng)
    start = time.perf_counter()
    fn(values)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pen = DEFAULT_PENALTY

    print(f"1. false change points on flat series (penalty {pen:g}; % of series)")
    print("   reports   3% noise   10% noise   trials")
    for n in (10, 20, 50, 100, 500, 1000, 5000):
        # short series are the hard case (sigma from few differences): more trials there
        trials = (
            args.trials * 5
            if n <= 20
            else args.trials
            if n <= 100
            else max(20, args.trials // (n // 100))
        )
        cells = []
        for cv in (0.03, 0.10):
            hits = sum(1 for _ in range(trials) if change_points(flat(n, cv, rng), pen)[0])
            cells.append(f"{100 * hits / trials:8.2f}%")
        print(f"   {n:7d}  {cells[0]}  {cells[1]}    {trials}")

    print("\n2. a step at 3% noise, two thirds of the way: found within one report, placement")
    print("   reports   step   found   exact   median |error|   trials")
    for size in (1.2, 1.1, 1.06):
        for n in (10, 20, 50, 200, 1000):
            trials = args.trials if n <= 200 else max(20, args.trials // 5)
            found = exact = 0
            errors = []
            for _ in range(trials):
                at = int(n * 2 / 3)
                starts = change_points(stepped(n, 0.03, at, size, rng), pen)[0]
                if starts:
                    err = min(abs(s - at) for s in starts)
                    errors.append(err)
                    found += err <= 1
                    exact += err == 0
            med = statistics.median(errors) if errors else float("nan")
            print(
                f"   {n:7d}  +{(size - 1) * 100:3.0f}%  {100 * found / trials:5.1f}%  "
                f"{100 * exact / trials:5.1f}%   {med:6.1f}            {trials}"
            )

    print("\n3. one slow report (+35%) in a flat series at 3% noise: reported as a change")
    for n in (20, 100, 1000):
        trials = args.trials if n <= 100 else max(20, args.trials // 10)
        hits = 0
        for _ in range(trials):
            values = flat(n, 0.03, rng)
            values[n // 2] *= 1.35
            hits += bool(change_points(values, pen)[0])
        print(f"   {n:7d} reports: {100 * hits / trials:5.2f}% of {trials} series")

    print("\n4. time against the number of reports (a +20% step at 3% noise; one run each)")
    try:
        import ruptures  # noqa: F401

        have_ruptures = True
    except ImportError:
        have_ruptures = False
    print("   reports   binary segmentation   PELT L2 (pure Python)   ruptures PELT l1 (before)")
    for n in (100, 1000, 5000, 20000, 100000):
        binseg = timing(lambda v: change_points(v, pen), n, rng)
        pelt = timing(pelt_prepared, n, rng) if n <= 5000 else None
        rup = timing(ruptures_l1, n, rng) if have_ruptures and n <= 2000 else None
        cell = lambda t: "-" if t is None else f"{t * 1000:.0f} ms"  # noqa: E731
        print(f"   {n:7d}   {cell(binseg):>19}   {cell(pelt):>21}   {cell(rup):>25}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
