"""The regression judge: is the current report slower than its baseline, beyond noise?

The verdict interface (see ``docs/regression.md``):

* :class:`JudgeOptions` - thresholds and baseline choice (CLI: :func:`add_judge_arguments`);
* :func:`judge` - a pure function of the current report and the baseline reports;
* :func:`evaluate` - the one entry point ``ft-bench run`` calls: picks the baselines from the
  archive (:mod:`ftbench.judge.baseline`) and judges;
* :class:`Verdict` - ``to_dict()`` is ``report["regression"]``, ``summary_line()`` the one line a
  reviewer reads, ``exit_code()`` 4 on a regression of a phase named by ``--fail-on``.

Method, per phase (warm always, cold when both sides measured it), on the wall time of the ok
samples (failed and timed-out samples are left out and counted): the current samples against
the pooled samples of the baseline reports. A phase **regressed** when the median slowdown is
above ``regress_pct`` *and* a one-sided Mann-Whitney U test says "slower" with p below the
per-phase alpha (``alpha`` divided by the number of judged phases, so the whole job's false
alarm rate stays at most ``alpha``). The 95% interval of the change is a percentile bootstrap of
the median ratio (seeded, so the same inputs give the same interval).

scipy and numpy are imported inside the functions that need them (``ft-bench --help`` must not
load them).
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftbench.cli.args import bounded
from ftbench.errors import EXIT_OK, EXIT_REGRESSION, UsageError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ftbench.archive.base import ArchiveStore, StoredReport

    FloatArray = npt.NDArray[np.float64]

# --- defaults (documented in docs/regression.md) -------------------------------------------

#: A slowdown must be estimated above this many percent to count as a regression. 10% is well
#: above the run-to-run noise of a quiet CI runner (CV 3-5%) and small enough to catch a real
#: slowdown a reviewer would care about.
DEFAULT_REGRESS_PCT = 10.0
#: Family-wise significance level of one job (split across the judged phases). 0.005 rather
#: than 0.01: at the default sample counts unchanged runs are flagged at most ~0.5% of the time
#: with i.i.d. noise and stay under 1% with 2% run-to-run drift, while a 20% slowdown at 5%
#: noise is still always caught (benchmarks/verdicts.py, docs/regression.md).
DEFAULT_ALPHA = 0.005
#: How many earlier reports make the baseline (their samples are pooled).
DEFAULT_BASELINE_COUNT = 5
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261125
#: Above this product of the two sample sizes the MWU p-value uses the normal approximation.
EXACT_MWU_MAX_CELLS = 50_000

METRIC = "wall_s"
PHASES = ("warm", "cold")
FAIL_ON_CHOICES = ("warm", "cold", "any", "never")

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NO_CHANGE = "no change"
INCONCLUSIVE = "inconclusive"
NOT_COMPARABLE = "not comparable"
NO_BASELINE = "no baseline"
VERDICTS = (REGRESSION, IMPROVEMENT, NO_CHANGE, INCONCLUSIVE, NOT_COMPARABLE, NO_BASELINE)

# Codes of decide_batch (index into _CODE_VERDICT).
CODE_NO_CHANGE, CODE_REGRESSION, CODE_IMPROVEMENT, CODE_INCONCLUSIVE = 0, 1, 2, 3
_CODE_VERDICT = (NO_CHANGE, REGRESSION, IMPROVEMENT, INCONCLUSIVE)

METHOD = (
    "current vs pooled baseline samples of wall_s (ok samples only); one-sided Mann-Whitney U "
    "(scipy; exact without ties, else normal approximation) at alpha split across the judged "
    "phases; regression when the median slowdown exceeds the threshold and p < alpha; 95% CI: "
    f"percentile bootstrap of the median ratio ({BOOTSTRAP_RESAMPLES} resamples, fixed seed)"
)

# Fields that must match for two reports to be compared.
ENV_FIELDS = ("cpu_model", "cpu_count", "os", "arch")


# --- options -------------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeOptions:
    """How to judge.

    ``baseline``: ``"auto"`` (recent reports of the base or same branch), ``"latest"`` (the most
    recent matching report of any branch), ``"none"`` (do not judge), or a report file path or
    an archive key.
    """

    regress_pct: float = DEFAULT_REGRESS_PCT
    alpha: float = DEFAULT_ALPHA
    baseline: str = "auto"
    baseline_branch: str | None = None
    baseline_count: int = DEFAULT_BASELINE_COUNT
    fail_on: str = "any"
    allow_incomparable: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.regress_pct) and self.regress_pct >= 0):
            raise UsageError(f"--regress-pct must be a number >= 0, not {self.regress_pct}")
        if not (0 < self.alpha < 1):
            raise UsageError(f"--alpha must be between 0 and 1 (exclusive), not {self.alpha}")
        if self.baseline_count < 1:
            raise UsageError(f"--baseline-count must be at least 1, not {self.baseline_count}")
        if self.fail_on not in FAIL_ON_CHOICES:
            raise UsageError(
                f"--fail-on must be one of {', '.join(FAIL_ON_CHOICES)}, not {self.fail_on!r}"
            )
        if not self.baseline:
            raise UsageError("--baseline must not be empty (use 'none' to skip the judge)")

    @classmethod
    def from_args(cls, ns: argparse.Namespace) -> JudgeOptions:
        """Options from a namespace filled by :func:`add_judge_arguments` (missing -> default)."""
        d = cls()
        return cls(
            regress_pct=_get(ns, "regress_pct", d.regress_pct),
            alpha=_get(ns, "alpha", d.alpha),
            baseline=_get(ns, "baseline", d.baseline),
            baseline_branch=_get(ns, "baseline_branch", d.baseline_branch),
            baseline_count=_get(ns, "baseline_count", d.baseline_count),
            fail_on=_get(ns, "fail_on", d.fail_on),
            allow_incomparable=bool(_get(ns, "allow_incomparable", d.allow_incomparable)),
        )


def _get(ns: argparse.Namespace, name: str, default: Any) -> Any:
    value = getattr(ns, name, None)
    return default if value is None else value


_positive_float = bounded(float, low=0)
_alpha = bounded(float, low=0, high=1, open_low=True, open_high=True)
_count = bounded(int, low=1)


def add_judge_arguments(parser: argparse.ArgumentParser, *, selection: bool = True) -> None:
    """Add the judge's options. ``selection=False`` leaves out the baseline-choice options
    (``ft-bench compare`` names its baseline explicitly)."""
    group = parser.add_argument_group("regression judge (see docs/regression.md)")
    group.add_argument(
        "--regress-pct", type=_positive_float, default=None, metavar="PCT",
        help=f"smallest slowdown (percent of the median) that counts as a regression "
             f"(default {DEFAULT_REGRESS_PCT:g})",
    )
    group.add_argument(
        "--alpha", type=_alpha, default=None, metavar="P",
        help=f"significance level of the one-sided Mann-Whitney U test for the whole job, "
             f"split across phases (default {DEFAULT_ALPHA:g})",
    )
    if selection:
        group.add_argument(
            "--baseline", default=None, metavar="auto|latest|none|FILE|KEY",
            help="baseline: recent reports of the base/same branch (auto, default), the most "
                 "recent matching report (latest), none, a report file or an archive key",
        )
        group.add_argument(
            "--baseline-branch", default=None, metavar="BRANCH",
            help="branch whose reports form the baseline (default: the PR/MR target branch "
                 "from GITHUB_BASE_REF or CI_MERGE_REQUEST_TARGET_BRANCH_NAME, else this branch)",
        )
        group.add_argument(
            "--baseline-count", type=_count, default=None, metavar="N",
            help=f"number of recent reports pooled into the baseline "
                 f"(default {DEFAULT_BASELINE_COUNT})",
        )
    group.add_argument(
        "--fail-on", choices=FAIL_ON_CHOICES, default=None,
        help="which phase's regression exits 4 (default any)",
    )
    group.add_argument(
        "--allow-incomparable", action="store_true", default=None,
        help="judge even against reports from another machine class or tool versions",
    )


# --- verdicts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SideStats:
    """One side (current or baseline) of a phase."""

    n: int
    median: float | None
    failed: int = 0
    timed_out: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "median": self.median, "failed": self.failed,
                "timed_out": self.timed_out}


@dataclass(frozen=True)
class PhaseVerdict:
    phase: str
    verdict: str
    current: SideStats
    baseline: SideStats
    pct_change: float | None = None
    ci95_pct: tuple[float, float] | None = None
    p_value: float | None = None
    alternative: str | None = None  # "greater" (slower) or "less" (faster): the tested side
    alpha: float | None = None  # per-phase level actually used
    reason: str = ""
    metric: str = METRIC

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "metric": self.metric,
            "current": self.current.to_dict(),
            "baseline": self.baseline.to_dict(),
            "pct_change": _round(self.pct_change, 3),
            "ci95_pct": None if self.ci95_pct is None else [_round(v, 3) for v in self.ci95_pct],
            "p_value": self.p_value,
            "alternative": self.alternative,
            "alpha": self.alpha,
            "reason": self.reason,
        }

    def summary(self) -> str:
        """``warm +18% (95% CI +12%..+24%), p=0.0004: regression``."""
        if self.pct_change is None:
            return f"{self.phase}: {self.verdict} ({self.reason})"
        text = f"{self.phase} {_pct(self.pct_change)}"
        if self.ci95_pct is not None:
            text += f" (95% CI {_pct(self.ci95_pct[0])}..{_pct(self.ci95_pct[1])})"
        if self.p_value is not None:
            text += f", {_p(self.p_value)}"
        text += f": {self.verdict}"
        if self.verdict == INCONCLUSIVE and self.reason:
            text += f" ({self.reason})"
        return text


@dataclass(frozen=True)
class Verdict:
    verdict: str
    phases: tuple[PhaseVerdict, ...] = ()
    regress_pct: float = DEFAULT_REGRESS_PCT
    alpha: float = DEFAULT_ALPHA
    fail_on: str = "any"
    baseline_keys: tuple[str, ...] = ()
    baseline_selection: str = ""
    comparable: bool = True
    differences: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    reason: str = ""
    method: str = METHOD
    metric: str = METRIC
    extra: Mapping[str, Any] = field(default_factory=dict)

    def phase(self, name: str) -> PhaseVerdict | None:
        return next((p for p in self.phases if p.phase == name), None)

    def regressed_phases(self) -> list[str]:
        return [p.phase for p in self.phases if p.verdict == REGRESSION]

    def exit_code(self) -> int:
        """4 when a phase named by ``fail_on`` regressed, else 0."""
        if self.fail_on == "never":
            return EXIT_OK
        for name in self.regressed_phases():
            if self.fail_on in ("any", name):
                return EXIT_REGRESSION
        return EXIT_OK

    def summary_line(self) -> str:
        """One line a reviewer understands."""
        if self.verdict == NO_BASELINE:
            return f"no baseline: {self.reason}" if self.reason else "no baseline"
        if self.verdict == NOT_COMPARABLE:
            return "not comparable (not judged): " + "; ".join(self.differences)
        text = "; ".join(p.summary() for p in self.phases) or f"{self.verdict}: {self.reason}"
        tail = []
        if self.baseline_selection:
            tail.append(f"baseline: {self.baseline_selection}")
        if not self.comparable:
            tail.append("NOT comparable: " + "; ".join(self.differences))
        return text + (" - " + ", ".join(tail) if tail else "")

    def to_dict(self) -> dict[str, Any]:
        """The report's ``regression`` block."""
        samples = {p.phase: p.baseline.n for p in self.phases}
        out: dict[str, Any] = {
            "verdict": self.verdict,
            "summary": self.summary_line(),
            "reason": self.reason,
            "metric": self.metric,
            "method": self.method,
            "alpha": self.alpha,
            "threshold_pct": self.regress_pct,
            "fail_on": self.fail_on,
            "exit_code": self.exit_code(),
            "baseline": {
                "keys": list(self.baseline_keys),
                "reports": len(self.baseline_keys),
                "selection": self.baseline_selection,
                "samples": samples,
            },
            "comparable": self.comparable,
            "differences": list(self.differences),
            "notes": list(self.notes),
            "phases": {p.phase: p.to_dict() for p in self.phases},
        }
        out.update(self.extra)
        return out


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _pct(value: float) -> str:
    digits = 1 if abs(value) < 10 else 0
    text = f"{value:+.{digits}f}"
    if text in ("+0", "-0", "+0.0", "-0.0"):
        text = "+0" if digits == 0 else "+0.0"
    return text + "%"


def _p(value: float) -> str:
    if value < 0.0001:
        return "p<0.0001"
    return f"p={value:.2g}" if value < 0.01 else f"p={value:.2f}"


# --- samples and comparability -------------------------------------------------------------


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and value > 0 else None


def phase_samples(report: Mapping[str, Any], phase: str) -> tuple[list[float], int, int]:
    """``(wall times of ok samples, failed count, timed-out count)`` of one phase.

    Tolerates any junk (a malformed report just yields fewer samples). A sample counts when it
    is not timed out, is ok (``ok`` true, or no ``ok`` field and exit code 0) and has a finite
    positive ``wall_s``.
    """
    runs = report.get("runs")
    block = runs.get(phase) if isinstance(runs, Mapping) else None
    samples = block.get("samples") if isinstance(block, Mapping) else None
    if not isinstance(samples, list):
        return [], 0, 0
    values: list[float] = []
    failed = timed_out = 0
    for sample in samples:
        if not isinstance(sample, Mapping):
            continue
        if sample.get("timed_out") is True:
            timed_out += 1
            continue
        ok = sample.get("ok")
        if ok is None:
            ok = sample.get("exit_code", 0) == 0
        if ok is not True:
            failed += 1
            continue
        wall = _num(sample.get(METRIC))
        if wall is None:
            failed += 1
            continue
        values.append(wall)
    return values, failed, timed_out


def _dig(report: Mapping[str, Any], *path: str) -> Any:
    node: Any = report
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def differences(current: Mapping[str, Any], other: Mapping[str, Any], *,
                same_target: bool = True) -> list[str]:
    """What makes ``other`` (a baseline) not comparable with ``current``: target (tier, mode,
    configuration hash; only with ``same_target``), machine class (CPU model, core count, OS,
    architecture) and tool versions. Each entry reads ``field: baseline-value -> current``."""
    out: list[str] = []
    pairs: list[tuple[str, Any, Any]] = [
        ("tier", _dig(other, "tier"), _dig(current, "tier")),
        ("mode", _dig(other, "mode"), _dig(current, "mode")),
        ("target.config_hash", _dig(other, "target", "config_hash"),
         _dig(current, "target", "config_hash")),
    ] if same_target else []
    pairs += [(name, _dig(other, "environment", name), _dig(current, "environment", name))
              for name in ENV_FIELDS]
    cur_tools = _dig(current, "environment", "tool_versions")
    base_tools = _dig(other, "environment", "tool_versions")
    cur_tools = cur_tools if isinstance(cur_tools, Mapping) else {}
    base_tools = base_tools if isinstance(base_tools, Mapping) else {}
    for step in sorted(set(cur_tools) | set(base_tools), key=str):
        pairs.append((f"tool_versions.{step}", base_tools.get(step), cur_tools.get(step)))
    for name, base_value, cur_value in pairs:
        if base_value != cur_value:
            out.append(f"{name}: {_show(base_value)} -> {_show(cur_value)}")
    return out


def _show(value: Any) -> str:
    return "(none)" if value is None else str(value)


# --- statistics (numpy/scipy imported lazily) ----------------------------------------------


def min_p_value(n_current: int, n_baseline: int) -> float:
    """The smallest one-sided MWU p-value these sample sizes can give (complete separation).

    When it is not below alpha, no data could show a significant change: "inconclusive".
    """
    if n_current < 1 or n_baseline < 1:
        return 1.0
    return float(mwu_p_values(
        _as_rows([float(n_baseline + i + 1) for i in range(n_current)]),
        _as_rows([float(i + 1) for i in range(n_baseline)]),
        "greater",
    )[0])


def _as_rows(values: Sequence[float]) -> FloatArray:
    import numpy as np

    return np.asarray(values, dtype=np.float64).reshape(1, -1)


def mwu_p_values(current: FloatArray, baseline: FloatArray, alternative: str) -> FloatArray:
    """Row-wise one-sided Mann-Whitney U p-values (``greater``: current slower).

    Exact when there are no ties and the samples are small, else the normal approximation with
    tie and continuity correction.
    """
    import numpy as np
    from scipy import stats

    n1, n2 = current.shape[1], baseline.shape[1]
    both = np.concatenate([current, baseline], axis=1)
    srt = np.sort(both, axis=1)
    ties = bool(np.any(srt[:, 1:] == srt[:, :-1]))
    method = "exact" if not ties and n1 * n2 <= EXACT_MWU_MAX_CELLS else "asymptotic"
    result = stats.mannwhitneyu(current, baseline, alternative=alternative, method=method, axis=1)
    p: FloatArray = np.clip(np.asarray(result.pvalue, dtype=np.float64), 0.0, 1.0)
    return p


def decide_batch(current: FloatArray, baseline: FloatArray, *, alpha: float,
                 regress_pct: float) -> tuple[FloatArray, FloatArray, FloatArray, Any]:
    """The decision rule on many trials at once (rows): used by :func:`judge` (one row) and by
    ``benchmarks/verdicts.py`` (thousands), so both run the same code.

    Returns ``(pct_change, p_slower, p_faster, codes)``; codes are ``CODE_*``.
    """
    import numpy as np

    ratio = np.median(current, axis=1) / np.median(baseline, axis=1)
    pct = (ratio - 1.0) * 100.0
    p_slower = mwu_p_values(current, baseline, "greater")
    p_faster = mwu_p_values(current, baseline, "less")
    codes = np.full(ratio.shape, CODE_NO_CHANGE, dtype=np.int8)
    if min_p_value(current.shape[1], baseline.shape[1]) >= alpha:
        codes[:] = CODE_INCONCLUSIVE
        return pct, p_slower, p_faster, codes
    slower = pct > regress_pct
    faster = pct < -regress_pct
    codes[slower | faster] = CODE_INCONCLUSIVE  # big change, not significant: can't tell
    codes[slower & (p_slower < alpha)] = CODE_REGRESSION
    codes[faster & (p_faster < alpha)] = CODE_IMPROVEMENT
    return pct, p_slower, p_faster, codes


def bootstrap_ci_pct(current: Sequence[float], baseline: Sequence[float],
                     resamples: int = BOOTSTRAP_RESAMPLES,
                     seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the median ratio, as percent change."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cur = np.asarray(current, dtype=np.float64)
    base = np.asarray(baseline, dtype=np.float64)
    cur_med = np.median(cur[rng.integers(0, cur.size, size=(resamples, cur.size))], axis=1)
    base_med = np.median(base[rng.integers(0, base.size, size=(resamples, base.size))], axis=1)
    lo, hi = np.percentile(cur_med / base_med, [2.5, 97.5])
    return (float(lo) - 1.0) * 100.0, (float(hi) - 1.0) * 100.0


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def judge_phase(phase: str, current: Sequence[float], baseline: Sequence[float], *,
                alpha: float, regress_pct: float,
                current_failed: int = 0, current_timed_out: int = 0,
                baseline_failed: int = 0, baseline_timed_out: int = 0) -> PhaseVerdict:
    """Judge one phase from raw wall times (``alpha`` is this phase's level)."""
    cur_side = SideStats(len(current), _median(current), current_failed, current_timed_out)
    base_side = SideStats(len(baseline), _median(baseline), baseline_failed, baseline_timed_out)
    if not current or not baseline:
        which = "current run" if not current else "baseline"
        return PhaseVerdict(phase, INCONCLUSIVE, cur_side, base_side, alpha=alpha,
                            reason=f"no ok {phase} samples in the {which}")
    pct, p_slower, p_faster, codes = decide_batch(
        _as_rows(current), _as_rows(baseline), alpha=alpha, regress_pct=regress_pct)
    change = float(pct[0])
    verdict = _CODE_VERDICT[int(codes[0])]
    alternative = "greater" if change >= 0 else "less"
    p_value = float(p_slower[0] if alternative == "greater" else p_faster[0])
    ci = bootstrap_ci_pct(current, baseline)
    direction = "slower" if change >= 0 else "faster"
    if verdict == INCONCLUSIVE and min_p_value(len(current), len(baseline)) >= alpha:
        reason = (f"too few samples ({len(current)} vs {len(baseline)}) for p < {alpha:g}")
    elif verdict == INCONCLUSIVE:
        reason = f"{abs(change):.1f}% {direction} but not significant (p >= {alpha:g})"
    elif verdict in (REGRESSION, IMPROVEMENT):
        reason = (f"{abs(change):.1f}% {direction} (> {regress_pct:g}%) and significant "
                  f"(p < {alpha:g})")
    else:
        reason = f"change within {regress_pct:g}%"
    return PhaseVerdict(phase, verdict, cur_side, base_side, pct_change=change, ci95_pct=ci,
                        p_value=p_value, alternative=alternative, alpha=alpha, reason=reason)


# --- the verdict ---------------------------------------------------------------------------


def _overall(phases: Sequence[PhaseVerdict]) -> str:
    verdicts = {p.verdict for p in phases}
    for candidate in (REGRESSION, IMPROVEMENT, INCONCLUSIVE):
        if candidate in verdicts:
            return candidate
    return NO_CHANGE if phases else INCONCLUSIVE


def _base(options: JudgeOptions, verdict: str, **kw: Any) -> Verdict:
    return Verdict(verdict=verdict, regress_pct=options.regress_pct, alpha=options.alpha,
                   fail_on=options.fail_on, **kw)


def judge(current: Mapping[str, Any], baselines: Sequence[StoredReport],
          options: JudgeOptions | None = None, *, same_target: bool = True) -> Verdict:
    """Judge ``current`` against ``baselines`` (their samples pooled). Pure: no I/O.

    ``same_target=False`` (``ft-bench compare``: the user picked both sides on purpose)
    compares different commands or tiers; machine class and tool versions still count.
    """
    options = options or JudgeOptions()
    if not baselines:
        return _base(options, NO_BASELINE, reason="no baseline report")
    notes: list[str] = []
    diffs = {b.key: differences(current, b.report, same_target=same_target)
             for b in baselines}
    comparable = [b for b in baselines if not diffs[b.key]]
    all_diffs = tuple(dict.fromkeys(d for b in baselines for d in diffs[b.key]))
    keys = tuple(b.key for b in baselines)
    if options.allow_incomparable:
        used = list(baselines)
        is_comparable = not all_diffs
        if all_diffs:
            notes.append("judged although not comparable (--allow-incomparable)")
    elif comparable:
        used = comparable
        is_comparable = True
        skipped = [b for b in baselines if diffs[b.key]]
        if skipped:
            notes.append(
                f"left out {len(skipped)} baseline report(s) that are not comparable: "
                + "; ".join(all_diffs))
        all_diffs = ()
    else:
        return _base(options, NOT_COMPARABLE, baseline_keys=keys, comparable=False,
                     differences=all_diffs,
                     reason="baseline from a different machine class, tool versions or target")

    measured = [ph for ph in PHASES
                if _has_phase(current, ph) and any(_has_phase(b.report, ph) for b in used)]
    phase_alpha = options.alpha / max(1, len(measured))
    verdicts: list[PhaseVerdict] = []
    for ph in measured:
        cur, cur_failed, cur_to = phase_samples(current, ph)
        base: list[float] = []
        base_failed = base_to = 0
        for b in used:
            values, failed, timed_out = phase_samples(b.report, ph)
            base += values
            base_failed += failed
            base_to += timed_out
        verdicts.append(judge_phase(
            ph, cur, base, alpha=phase_alpha, regress_pct=options.regress_pct,
            current_failed=cur_failed, current_timed_out=cur_to,
            baseline_failed=base_failed, baseline_timed_out=base_to))
        if cur_failed or cur_to:
            notes.append(f"{ph}: left out {cur_failed} failed and {cur_to} timed-out current "
                         "sample(s)")
    reason = "" if measured else "no phase measured by both the current run and the baseline"
    return _base(options, _overall(verdicts), phases=tuple(verdicts),
                 baseline_keys=tuple(b.key for b in used), comparable=is_comparable,
                 differences=all_diffs, notes=tuple(notes), reason=reason)


def _has_phase(report: Mapping[str, Any], phase: str) -> bool:
    runs = report.get("runs")
    return isinstance(runs, Mapping) and isinstance(runs.get(phase), Mapping)


def evaluate(report: Mapping[str, Any], repo_root: Path, options: JudgeOptions,
             stores: Sequence[ArchiveStore] | None = None, *,
             archive_dir: Path | None = None) -> Verdict:
    """Pick the baseline (from ``stores``, default: the configured archives) and judge
    ``report``. The result's ``to_dict()`` goes to ``report["regression"]``."""
    from ftbench.judge.baseline import find_baselines

    if options.baseline == "none":
        return _base(options, NO_BASELINE, reason="disabled (--baseline none)")
    notes: list[str] = []
    if stores is None:
        from ftbench.archive.sync import open_stores_safely

        stores, notes = open_stores_safely(repo_root, archive_dir)
    selection = find_baselines(report, stores, options, repo_root=repo_root)
    verdict = judge(report, selection.reports, options)
    extra_notes = tuple(notes) + tuple(selection.notes)
    reason = verdict.reason
    if verdict.verdict == NO_BASELINE:
        reason = selection.why_empty or reason
    return replace(verdict, baseline_selection=selection.description, reason=reason,
                   notes=verdict.notes + extra_notes)
