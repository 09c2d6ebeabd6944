"""Accuracy of the regression judge: false-alarm and detection rates on synthetic noise with
run-to-run drift, beside the judge of ftbench 0.2 and the original harness's rule, plus a real
end-to-end check with sleeping commands.

    .venv/bin/python benchmarks/verdicts.py [--trials N] [--seed S] [--skip-e2e]

Printed figures, not a test. Every synthetic report has its own condition factor (log-normal,
median 1, coefficient of variation "drift"), shared by all its samples (both phases): the
machine's state during that run. Its samples add i.i.d. log-normal noise ("noise CV") on top.
The real runs of benchmarks/noisy_verdicts.py show why: under a varying load the samples of
one run share that run's conditions, and runs differ far more than samples within a run.

The synthetic part runs the rules on many trials at once with numpy/scipy (benchmark-only code,
the ``dev`` extra):

* the archive judge (``ftbench.judge.phase.archive_metric``): this run's median against the
  baseline runs' medians, a one-sided Student-t prediction bound on the log scale with the
  robust spread between runs (``ftbench.judge.between``), the default baseline count
  (``DEFAULT_BASELINE_COUNT`` reports), threshold and alpha (split over the two phases);
* ftbench 0.2's rule: the current samples against the *pooled* samples of 5 baseline reports,
  a one-sided Mann-Whitney U test with the method the judge picks
  (``ftbench.judge.stats.choose_method``) and its "too few samples" bound (the archive judge
  still uses this rule when fewer than ``between.MIN_RUNS`` baseline runs exist);
* the original harness's rule: the first warm sample against the previous report's first warm
  sample, alarm above 25%.

A consistency check runs the judge's own per-phase function (``archive_metric``, pure Python)
on a subset, with the default baseline count and with 2 baseline runs (the pooled fallback),
and requires the batch rules' verdicts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any

import numpy as np
from scipy import stats as sps

from ftbench.judge import between, paired, phase, stats
from ftbench.judge.options import DEFAULT_ALPHA, DEFAULT_BASELINE_COUNT, DEFAULT_REGRESS_PCT

# Per-phase decisions of the batch rules.
NO_CHANGE, REGRESSION, IMPROVEMENT, INCONCLUSIVE = 0, 1, 2, 3
VERDICT_CODES = {
    "no change": NO_CHANGE,
    "regression": REGRESSION,
    "improvement": IMPROVEMENT,
    "inconclusive": INCONCLUSIVE,
}

NOISE_CVS = (0.03, 0.05, 0.10, 0.20)
DRIFT_CVS = (0.0, 0.02, 0.05, 0.10)
#: Measured by benchmarks/noisy_verdicts.py (a 50 ms CPU-bound command, 0..3 busy processes on
#: 2 CPUs, other work on the machine too; 210 runs of unchanged code): the median within-run
#: spread of the warm samples (standard deviation of the logs: wall 0.165, CPU 0.049) and the
#: spread between the runs' warm medians: wall 0.49; CPU 0.12, but heavy-tailed (a few runs in
#: disturbed moments): 1.4826 * MAD gives 0.03-0.06. As CVs; CPU with both drift figures.
LOADED = {
    "wall under load": (0.17, 0.52),
    "CPU under load, typical drift": (0.05, 0.05),
    "CPU under load, drift with outliers": (0.05, 0.12),
}
SLOWDOWNS = (0.0, 0.05, 0.10, 0.20, 0.35, 0.50)
WARM_N, COLD_N = 10, 5  # the core's default (--mode normal) samples per report
REPORTS = DEFAULT_BASELINE_COUNT  # baseline reports (runs) of the archive judge
OLD_REPORTS = 5  # baseline reports pooled by ftbench 0.2
ORIGINAL_PCT = 25.0  # the original harness: 1 warm sample vs the previous report's 1, > 25%
RULES = ("judge", "warm_only", "pooled", "original")
RULE_NAMES = {
    "judge": "archive judge, warm+cold (default)",
    "warm_only": "archive judge, warm only",
    "pooled": "ftbench 0.2 (pooled samples, Mann-Whitney U)",
    "original": "original rule (1 vs 1 warm, >25%)",
}


def lognormal(rng: np.random.Generator, cv: float, shape: tuple[int, ...]) -> Any:
    """Multiplicative noise with median 1 and coefficient of variation ``cv``."""
    if cv == 0:
        return np.ones(shape)
    sigma = np.sqrt(np.log1p(cv**2))
    return rng.lognormal(0.0, sigma, shape)


def mwu_p_values(current: Any, baseline: Any, alternative: str) -> Any:
    """Row-wise one-sided Mann-Whitney U p-values, each row with the method the judge uses
    (exact when the smaller side has at most 8 values and the row has no ties)."""
    n1, n2 = current.shape[1], baseline.shape[1]
    srt = np.sort(np.concatenate([current, baseline], axis=1), axis=1)
    ties = np.any(srt[:, 1:] == srt[:, :-1], axis=1)
    p = np.empty(current.shape[0])
    for has_ties in (False, True):
        rows = ties == has_ties
        if rows.any():
            method = stats.choose_method(n1, n2, has_ties)
            p[rows] = sps.mannwhitneyu(
                current[rows], baseline[rows], alternative=alternative, method=method, axis=1
            ).pvalue
    return np.clip(p, 0.0, 1.0)


def pct_change(current: Any, pooled: Any) -> Any:
    return (np.median(current, axis=1) / np.median(pooled, axis=1) - 1.0) * 100.0


def decide_pooled(current: Any, runs: Any, *, alpha: float, regress_pct: float) -> Any:
    """ftbench 0.2's per-phase rule (the archive judge's fallback with fewer than
    ``between.MIN_RUNS`` baseline runs) on many trials (rows): ``runs`` is (trials, reports,
    samples), pooled. Codes NO_CHANGE, REGRESSION, IMPROVEMENT, INCONCLUSIVE."""
    baseline = runs.reshape(runs.shape[0], -1)
    pct = pct_change(current, baseline)
    codes = np.full(pct.shape, NO_CHANGE, dtype=np.int8)
    if stats.min_p_value(current.shape[1], baseline.shape[1]) >= alpha:
        codes[:] = INCONCLUSIVE  # too few samples for any p below alpha
        return codes
    slower, faster = pct > regress_pct, pct < -regress_pct
    codes[slower | faster] = INCONCLUSIVE  # big change, not significant: can't tell
    codes[slower & (mwu_p_values(current, baseline, "greater") < alpha)] = REGRESSION
    codes[faster & (mwu_p_values(current, baseline, "less") < alpha)] = IMPROVEMENT
    return codes


def decide_between(current: Any, runs: Any, *, alpha: float, regress_pct: float) -> Any:
    """The archive judge's per-phase rule (``phase.archive_metric`` with at least
    ``between.MIN_RUNS`` runs) on many trials: the current median against the runs' medians
    (their mean and standard deviation, at least ``between.MIN_SPREAD``, on the log scale), the
    Student-t prediction bound (``between.between_runs``)."""
    k = runs.shape[1]
    logs = np.log(np.median(runs, axis=2))
    centre = np.mean(logs, axis=1, keepdims=True)  # mean and standard deviation of the runs
    sd = np.std(logs, axis=1, ddof=1)
    cur_logs = np.log(current)
    mid = np.median(cur_logs, axis=1, keepdims=True)
    mad = np.median(np.abs(cur_logs - mid), axis=1)
    within = paired.MEDIAN_SE_FACTOR * paired.MAD_SIGMA * mad / np.sqrt(current.shape[1])
    scale = np.maximum(np.maximum(sd, within), between.MIN_SPREAD) * np.sqrt(1 + 1 / k)
    t = (np.log(np.median(current, axis=1)) - centre[:, 0]) / scale
    p_slower = sps.t.sf(t, k - 1)
    pct = pct_change(current, runs.reshape(runs.shape[0], -1))
    p = np.where(pct >= 0, p_slower, 1 - p_slower)
    codes = np.full(pct.shape, NO_CHANGE, dtype=np.int8)
    big = np.abs(pct) > regress_pct
    codes[big] = INCONCLUSIVE
    codes[big & (p < alpha) & (pct > 0)] = REGRESSION
    codes[big & (p < alpha) & (pct < 0)] = IMPROVEMENT
    return codes


def reports(
    rng: np.random.Generator, trials: int, count: int, n: int, cv: float, drift: float
) -> Any:
    """(trials, count, n) samples: each report's condition factor times i.i.d. noise."""
    return lognormal(rng, drift, (trials, count, 1)) * lognormal(rng, cv, (trials, count, n))


def simulate(
    rng: np.random.Generator,
    cv: float,
    slowdown: float,
    trials: int,
    drift_cv: float = 0.0,
    alpha: float = DEFAULT_ALPHA,
) -> dict[str, Any]:
    """One cell: ``trials`` independent (baseline, current) sets. Returns alarm flags."""
    factor = 1.0 + slowdown
    # REPORTS baseline reports and the current one; each report's factor is shared by its
    # warm and cold samples (cold samples take 3x as long)
    drift = lognormal(rng, drift_cv, (trials, REPORTS + 1, 1))
    warm = drift * lognormal(rng, cv, (trials, REPORTS + 1, WARM_N))
    cold = 3.0 * drift * lognormal(rng, cv, (trials, REPORTS + 1, COLD_N))
    warm_base, cold_base = warm[:, :REPORTS], cold[:, :REPORTS]
    warm_cur, cold_cur = factor * warm[:, REPORTS], factor * cold[:, REPORTS]
    pct = DEFAULT_REGRESS_PCT
    # ftbench defaults: both phases judged, alpha split between them, --fail-on any
    warm_codes = decide_between(warm_cur, warm_base, alpha=alpha / 2, regress_pct=pct)
    cold_codes = decide_between(cold_cur, cold_base, alpha=alpha / 2, regress_pct=pct)
    # warm phase only (--skip-cold): the whole alpha on one phase
    warm_only = decide_between(warm_cur, warm_base, alpha=alpha, regress_pct=pct)
    # ftbench 0.2: the newest OLD_REPORTS reports pooled, both phases
    old = slice(REPORTS - OLD_REPORTS, REPORTS)
    old_warm = decide_pooled(warm_cur, warm_base[:, old], alpha=alpha / 2, regress_pct=pct)
    old_cold = decide_pooled(cold_cur, cold_base[:, old], alpha=alpha / 2, regress_pct=pct)
    # original rule: first warm sample vs the newest baseline report's first warm sample
    original = warm_cur[:, 0] / warm_base[:, -1, 0] > 1.0 + ORIGINAL_PCT / 100.0
    return {
        "judge": (warm_codes == REGRESSION) | (cold_codes == REGRESSION),
        "warm_only": warm_only == REGRESSION,
        "pooled": (old_warm == REGRESSION) | (old_cold == REGRESSION),
        "original": original,
        "codes": (warm_codes, cold_codes),
        "samples": (warm_cur, warm_base, cold_cur, cold_base),
    }


def rate(flags: Any) -> float:
    return float(np.mean(flags)) * 100.0


Cell = tuple[float, float, float]  # noise CV, drift CV, slowdown


def accuracy_table(
    trials: int,
    seed: int,
    settings: list[tuple[str, float, float]],
    alpha: float = DEFAULT_ALPHA,
) -> tuple[list[str], dict[Cell, dict[str, float]]]:
    """One row per (setting, rule), one column per slowdown."""
    rng = np.random.default_rng(seed)
    heads = " | ".join("+0% (false alarms)" if s == 0 else f"{s:+.0%}" for s in SLOWDOWNS)
    lines = [
        f"| noise CV | drift CV | rule | {heads} |",
        "|---:|---:|---|" + "---:|" * len(SLOWDOWNS),
    ]
    results: dict[Cell, dict[str, float]] = {}
    for label, cv, drift in settings:
        cells = [simulate(rng, cv, s, trials, drift, alpha) for s in SLOWDOWNS]
        for s, cell in zip(SLOWDOWNS, cells, strict=True):
            results[(cv, drift, s)] = {k: rate(cell[k]) for k in RULES}
        for rule in RULES:
            row = " | ".join(f"{results[(cv, drift, s)][rule]:.2f}%" for s in SLOWDOWNS)
            lines.append(f"| {label or f'{cv:.0%}'} | {drift:.0%} | {RULE_NAMES[rule]} | {row} |")
    return lines, results


def judge_phase(current: Any, runs: Any, alpha: float) -> Any:
    """The judge's own per-phase function on one trial: its MetricVerdict."""
    return phase.archive_metric(
        [float(v) for v in current],
        [[float(v) for v in run] for run in runs],
        alpha=alpha,
        threshold=DEFAULT_REGRESS_PCT,
    )


def consistency_check(seed: int, count: int = 100) -> tuple[int, int]:
    """The judge's per-phase function (pure Python) must give the batch rules' verdicts on
    every phase of ``count`` trials of four cells: with the default baseline count (the
    between-runs rule) and with 2 baseline runs (the pooled fallback)."""
    rng = np.random.default_rng(seed + 1)
    agree = total = 0
    for cv, drift, slowdown in (
        (0.05, 0.0, 0.2),
        (0.2, 0.05, 0.2),
        (0.1, 0.1, 0.0),
        (0.05, 0.1, 0.35),
    ):
        cell = simulate(rng, cv, slowdown, count, drift)
        warm_cur, warm_base, cold_cur, cold_base = cell["samples"]
        for cur, base in ((warm_cur, warm_base), (cold_cur, cold_base)):
            alpha = DEFAULT_ALPHA / 2
            few = base[:, -(between.MIN_RUNS - 1) :]
            full_codes = decide_between(cur, base, alpha=alpha, regress_pct=DEFAULT_REGRESS_PCT)
            few_codes = decide_pooled(cur, few, alpha=alpha, regress_pct=DEFAULT_REGRESS_PCT)
            for i in range(count):
                for runs, codes in ((base[i], full_codes), (few[i], few_codes)):
                    verdict = judge_phase(cur[i], runs, alpha).verdict
                    agree += VERDICT_CODES[verdict] == codes[i]
                    total += 1
    return agree, total


# --- end to end -------------------------------------------------------------------------------


def time_command(seconds: float, n: int) -> list[float]:
    code = f"import time; time.sleep({seconds})"
    walls = []
    for _ in range(n + 1):  # first run is a warm-up, not recorded
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        walls.append(time.perf_counter() - start)
    return walls[1:]


def end_to_end() -> list[str]:
    """Warm phase only, as ``ft-bench run --skip-cold`` judges it: the whole alpha on it."""
    runs = [time_command(0.05, WARM_N) for _ in range(REPORTS)]
    lines = [
        f"baseline: {REPORTS} reports x {WARM_N} warm samples of "
        "`python -c 'import time; time.sleep(0.05)'` (real subprocess wall time)"
    ]
    for seconds, want in ((0.06, "regression"), (0.05, None)):
        cur = time_command(seconds, WARM_N)
        p = judge_phase(cur, runs, DEFAULT_ALPHA)
        ok = p.verdict == want if want else p.verdict != "regression"
        ci = "" if p.ci95_pct is None else f" (95% CI {p.ci95_pct[0]:+.1f}%..{p.ci95_pct[1]:+.1f}%)"
        lines.append(
            f"- sleep {seconds} judged against it: warm {p.pct_change:+.1f}%{ci}, "
            f"p={p.p_value:.2g}, noise floor {p.noise_floor_pct:.1f}%: {p.verdict}  "
            f"[{'OK' if ok else 'UNEXPECTED'}]"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--trials", type=int, default=20000, help="trials per cell")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument(
        "--drift",
        type=float,
        nargs="+",
        default=list(DRIFT_CVS),
        help="drift CVs of the table (each with every noise CV)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=DEFAULT_ALPHA,
        help="try another alpha (the consistency and end-to-end checks keep the default)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print("# ftbench regression judge: accuracy on synthetic noise with run-to-run drift\n")
    print(
        f"Assumptions: each report has the core's default --mode normal samples, {COLD_N} cold "
        f"+ {WARM_N} warm; the archive judge's baseline is {REPORTS} reports (ftbench 0.2 "
        f"pooled the newest {OLD_REPORTS}); threshold {DEFAULT_REGRESS_PCT:g}%, alpha "
        f"{args.alpha:g} (split over the 2 phases), --fail-on any. Every report has its own "
        "condition factor, log-normal with the drift CV, shared by all its samples; each "
        "sample adds i.i.d. log-normal noise of the noise CV; the slowdown multiplies every "
        f"current sample of both phases. {args.trials} trials per cell, seed {args.seed}; "
        "every rule on the same trials. Rates are alarms / trials. The last rows use the "
        "spreads measured under load by benchmarks/noisy_verdicts.py (noise = within-run, "
        "drift = between-run).\n"
    )
    settings = [("", cv, drift) for cv in NOISE_CVS for drift in args.drift]
    settings += [(label, cv, drift) for label, (cv, drift) in LOADED.items()]
    lines, results = accuracy_table(args.trials, args.seed, settings, alpha=args.alpha)
    print("\n".join(lines))
    print()
    checks = []
    for label, cv, drift in settings:
        fa = results[(cv, drift, 0.0)]
        where = label or f"noise CV {cv:.0%}, drift {drift:.0%}"
        checks.append((f"false alarms <= 1% at {where}: {fa['judge']:.2f}%", fa["judge"] <= 1.0))
    for cv in NOISE_CVS:
        fa = results[(cv, 0.0, 0.0)]
        checks.append(
            (
                f"false alarms not above the original rule's at CV {cv:.0%} without drift: "
                f"{fa['judge']:.2f}% vs {fa['original']:.2f}%"
                + (" (both zero)" if fa["original"] == 0 == fa["judge"] else ""),
                fa["judge"] <= fa["original"]
                and (fa["judge"] < fa["original"] or fa["original"] == 0),
            )
        )
    det = results[(0.05, 0.0, 0.20)]["judge"]
    checks.append((f"20% slowdown detected >= 95% at CV 5%, no drift: {det:.2f}%", det >= 95.0))
    cpu = LOADED["CPU under load, typical drift"]
    det = results[(*cpu, 0.35)]["judge"]
    checks.append(
        (f"35% slowdown detected >= 90% with CPU under load, typical drift: {det:.2f}%", det >= 90)
    )
    print("Targets:")
    for text, ok in checks:
        print(f"- [{'PASS' if ok else 'FAIL'}] {text}")

    agree, total = consistency_check(args.seed)
    print(
        f"\nConsistency: the judge's per-phase function agrees with the batch rules on "
        f"{agree}/{total} phases."
    )
    if not args.skip_e2e:
        print("\n## End to end (real commands)\n")
        print("\n".join(end_to_end()))
    print(f"\n(run time {time.perf_counter() - started:.0f} s)")
    return 0 if all(ok for _, ok in checks) and agree == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
