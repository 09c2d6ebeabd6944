"""Accuracy of the regression judge: false-alarm and detection rates on synthetic noise,
beside the original harness's rule, plus a real end-to-end check with sleeping commands.

    .venv/bin/python benchmarks/verdicts.py [--trials N] [--seed S] [--skip-e2e]

Printed figures, not a test. The synthetic part runs the judge's per-phase decision rule on many
trials at once with numpy/scipy (benchmark-only code, the ``dev`` extra): the median change, the
one-sided Mann-Whitney U p-value with the method the judge picks
(``ftbench.judge.stats.choose_method``: scipy's ``method="auto"`` rule) and the judge's
"too few samples" bound (``ftbench.judge.stats.min_p_value``). A consistency check runs the
judge's own per-phase function (``ftbench.judge.core.judge_phase``, pure Python) on a subset and
requires the same verdicts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any

import numpy as np
from scipy import stats as sps

from ftbench.judge import core, stats
from ftbench.judge.options import DEFAULT_ALPHA, DEFAULT_BASELINE_COUNT, DEFAULT_REGRESS_PCT

# Per-phase decisions of decide_batch.
NO_CHANGE, REGRESSION, IMPROVEMENT, INCONCLUSIVE = 0, 1, 2, 3
VERDICT_CODES = {
    "no change": NO_CHANGE,
    "regression": REGRESSION,
    "improvement": IMPROVEMENT,
    "inconclusive": INCONCLUSIVE,
}

NOISE_CVS = (0.03, 0.05, 0.10, 0.20)
SLOWDOWNS = (0.0, 0.05, 0.10, 0.20, 0.50)
WARM_N, COLD_N = 10, 5  # the core's default (--mode normal) samples per report
REPORTS = DEFAULT_BASELINE_COUNT  # baseline reports pooled
ORIGINAL_PCT = 25.0  # the original harness: 1 warm sample vs the previous report's 1, > 25%


def lognormal(rng: np.random.Generator, cv: float, shape: tuple[int, ...]) -> Any:
    """Multiplicative noise with median 1 and coefficient of variation ``cv``."""
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


def decide_batch(current: Any, baseline: Any, *, alpha: float, regress_pct: float) -> Any:
    """The judge's per-phase rule (``ftbench.judge.core.judge_phase``) on many trials (rows) at
    once: the codes NO_CHANGE, REGRESSION, IMPROVEMENT, INCONCLUSIVE."""
    pct = (np.median(current, axis=1) / np.median(baseline, axis=1) - 1.0) * 100.0
    codes = np.full(pct.shape, NO_CHANGE, dtype=np.int8)
    if stats.min_p_value(current.shape[1], baseline.shape[1]) >= alpha:
        codes[:] = INCONCLUSIVE  # too few samples for any p below alpha
        return codes
    slower, faster = pct > regress_pct, pct < -regress_pct
    codes[slower | faster] = INCONCLUSIVE  # big change, not significant: can't tell
    codes[slower & (mwu_p_values(current, baseline, "greater") < alpha)] = REGRESSION
    codes[faster & (mwu_p_values(current, baseline, "less") < alpha)] = IMPROVEMENT
    return codes


def simulate(
    rng: np.random.Generator,
    cv: float,
    slowdown: float,
    trials: int,
    drift_cv: float = 0.0,
    alpha: float = DEFAULT_ALPHA,
) -> dict[str, Any]:
    """One cell: ``trials`` independent (baseline, current) pairs. Returns alarm flags."""
    factor = 1.0 + slowdown
    # per-report offsets (run-to-run drift of the machine), 0 by default
    base_off = lognormal(rng, drift_cv, (trials, REPORTS, 1)) if drift_cv else 1.0
    cur_off = lognormal(rng, drift_cv, (trials, 1)) if drift_cv else 1.0
    warm_base = (base_off * lognormal(rng, cv, (trials, REPORTS, WARM_N))).reshape(trials, -1)
    cold_base = (3.0 * base_off * lognormal(rng, cv, (trials, REPORTS, COLD_N))).reshape(trials, -1)
    warm_cur = factor * cur_off * lognormal(rng, cv, (trials, WARM_N))
    cold_cur = 3.0 * factor * cur_off * lognormal(rng, cv, (trials, COLD_N))
    pct = DEFAULT_REGRESS_PCT
    # ftbench defaults: both phases judged, alpha split between them, --fail-on any
    warm_codes = decide_batch(warm_cur, warm_base, alpha=alpha / 2, regress_pct=pct)
    cold_codes = decide_batch(cold_cur, cold_base, alpha=alpha / 2, regress_pct=pct)
    # warm phase only (--skip-cold): the whole alpha on one phase
    warm_only = decide_batch(warm_cur, warm_base, alpha=alpha, regress_pct=pct)
    # original rule: first warm sample vs the newest baseline report's first warm sample
    prev = warm_base[:, (REPORTS - 1) * WARM_N]
    original = warm_cur[:, 0] / prev > 1.0 + ORIGINAL_PCT / 100.0
    return {
        "ftbench": (warm_codes == REGRESSION) | (cold_codes == REGRESSION),
        "warm_only": warm_only == REGRESSION,
        "codes": (warm_codes, cold_codes),
        "original": original,
        "warm": (warm_cur, warm_base, cold_cur, cold_base),
    }


def rate(flags: Any) -> float:
    return float(np.mean(flags)) * 100.0


def accuracy_table(
    trials: int, seed: int, drift_cv: float = 0.0, alpha: float = DEFAULT_ALPHA
) -> tuple[list[str], dict[tuple[float, float], dict[str, float]]]:
    rng = np.random.default_rng(seed)
    lines = [
        "| noise CV | slowdown | ftbench, warm+cold (default) | ftbench, warm only "
        "| original rule (1 vs 1 warm, >25%) |",
        "|---:|---:|---:|---:|---:|",
    ]
    results: dict[tuple[float, float], dict[str, float]] = {}
    for cv in NOISE_CVS:
        for slowdown in SLOWDOWNS:
            cell = simulate(rng, cv, slowdown, trials, drift_cv, alpha)
            r = {k: rate(cell[k]) for k in ("ftbench", "warm_only", "original")}
            results[(cv, slowdown)] = r
            kind = "false alarms" if slowdown == 0 else "detected"
            lines.append(
                f"| {cv:.0%} | {slowdown:+.0%} ({kind}) | {r['ftbench']:.2f}% "
                f"| {r['warm_only']:.2f}% | {r['original']:.2f}% |"
            )
    return lines, results


def judge_phase(current: Any, baseline: Any, alpha: float) -> Any:
    """The judge's own per-phase function on one trial: its PhaseVerdict."""
    cur, base = [float(v) for v in current], [float(v) for v in baseline]
    return core.judge_phase(cur, base, phase="warm", alpha=alpha, regress_pct=DEFAULT_REGRESS_PCT)


def consistency_check(seed: int, count: int = 150) -> tuple[int, int]:
    """The judge's per-phase function (pure Python) must give the batch's verdicts on every
    phase of ``count`` trials of three cells."""
    rng = np.random.default_rng(seed + 1)
    agree = total = 0
    for cv, slowdown in ((0.05, 0.2), (0.2, 0.2), (0.1, 0.0)):
        cell = simulate(rng, cv, slowdown, count)
        warm_cur, warm_base, cold_cur, cold_base = cell["warm"]
        warm_codes, cold_codes = cell["codes"]
        for i in range(count):
            for cur, base, codes in (
                (warm_cur, warm_base, warm_codes),
                (cold_cur, cold_base, cold_codes),
            ):
                verdict = judge_phase(cur[i], base[i], DEFAULT_ALPHA / 2).verdict
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
    base = [w for _ in range(REPORTS) for w in time_command(0.05, WARM_N)]
    lines = [
        f"baseline: {REPORTS} reports x {WARM_N} warm samples of "
        "`python -c 'import time; time.sleep(0.05)'` (real subprocess wall time), pooled"
    ]
    for seconds, want in ((0.06, "regression"), (0.05, None)):
        cur = time_command(seconds, WARM_N)
        p = judge_phase(cur, base, DEFAULT_ALPHA)
        ok = p.verdict == want if want else p.verdict != "regression"
        ci = "" if p.ci95_pct is None else f" (95% CI {p.ci95_pct[0]:+.1f}%..{p.ci95_pct[1]:+.1f}%)"
        lines.append(
            f"- sleep {seconds} judged against it: warm {p.pct_change:+.1f}%{ci}, "
            f"p={p.p_value:.2g}: {p.verdict}  [{'OK' if ok else 'UNEXPECTED'}]"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--trials", type=int, default=20000, help="trials per cell")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument(
        "--alpha",
        type=float,
        default=DEFAULT_ALPHA,
        help="try another alpha (the consistency and end-to-end checks keep the default)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print("# ftbench regression judge: accuracy on synthetic noise\n")
    print(
        f"Assumptions: each report has the core's default --mode normal samples, {COLD_N} cold "
        f"+ {WARM_N} warm; the baseline pools {REPORTS} reports ({REPORTS * WARM_N} warm, "
        f"{REPORTS * COLD_N} cold samples); threshold {DEFAULT_REGRESS_PCT:g}%, alpha "
        f"{args.alpha:g} (split over the 2 phases), --fail-on any. Noise: i.i.d. log-normal "
        f"with the given coefficient of variation; the slowdown multiplies every current "
        f"sample of both phases. {args.trials} trials per cell, seed {args.seed}. Original "
        f"rule: the first warm sample against the previous report's first warm sample, alarm "
        f"above {ORIGINAL_PCT:g}%, on the same trials. Rates are alarms / trials.\n"
    )
    lines, results = accuracy_table(args.trials, args.seed, alpha=args.alpha)
    print("\n".join(lines))
    print()
    checks = []
    for cv in NOISE_CVS:
        fa = results[(cv, 0.0)]
        checks.append(
            (f"false alarms <= 1% at CV {cv:.0%}: {fa['ftbench']:.2f}%", fa["ftbench"] <= 1.0)
        )
        checks.append(
            (
                f"false alarms not above the original rule's at CV {cv:.0%}: "
                f"{fa['ftbench']:.2f}% vs {fa['original']:.2f}%"
                + (" (both zero)" if fa["original"] == 0 == fa["ftbench"] else ""),
                fa["ftbench"] <= fa["original"]
                and (fa["ftbench"] < fa["original"] or fa["original"] == 0),
            )
        )
    det = results[(0.05, 0.20)]["ftbench"]
    checks.append((f"20% slowdown detected >= 95% at CV 5%: {det:.2f}%", det >= 95.0))
    print("Targets:")
    for text, ok in checks:
        print(f"- [{'PASS' if ok else 'FAIL'}] {text}")

    drift_lines, _ = accuracy_table(
        max(args.trials // 4, 1000), args.seed + 7, drift_cv=0.02, alpha=args.alpha
    )
    print(
        "\nSensitivity (not a target): the same with run-to-run drift, each report's samples "
        "sharing a log-normal offset of CV 2% (the pooled test assumes none):\n"
    )
    print("\n".join(drift_lines))

    agree, total = consistency_check(args.seed)
    print(
        f"\nConsistency: the judge's per-phase function agrees with the batch rule on "
        f"{agree}/{total} phases."
    )
    if not args.skip_e2e:
        print("\n## End to end (real commands)\n")
        print("\n".join(end_to_end()))
    print(f"\n(run time {time.perf_counter() - started:.0f} s)")
    return 0 if all(ok for _, ok in checks) and agree == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
