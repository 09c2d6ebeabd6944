"""The comment's "What next": what a reviewer of a judged run can do about it.

* reproduce the verdict locally: the ``ft-bench run`` command of this run's target and
  sampling, ``--against`` the base side's commit (an A/B run's, else the baseline runs': the
  archive a CI job judged against is not on the reviewer's machine);
* a regression not bisected yet: the ``ft-bench bisect`` command finding its commit;
* a slowdown that is intended: the ``Ftbench-Accept`` commit trailer that accepts it
  (``judge/accept.py``), with the tier, the phase and the change rounded up.

No local path is shown (they mean nothing in a pull request); every name goes through
``report/escape.py``.
"""

from __future__ import annotations

import math
import re
import shlex

from ftbench.report.escape import markdown_code as code
from ftbench.report.model import Report, Verdict

#: the verdicts whose comment says what to do next
_JUDGED = ("regression", "inconclusive", "accepted", "no change", "improvement")
#: what a tier name in a trailer may hold (``judge/accept.py``), else the trailer says ``*``
_TRAILER_TIER = re.compile(r"[A-Za-z0-9_.*-]+")
_MODE_COUNTS = {"fast": (3, 5, 1), "normal": (5, 10, 1), "full": (10, 30, 2)}


def next_steps(report: Report) -> list[str]:
    """The section's Markdown lines (a leading blank line), or none when nothing was judged
    (the verdict's own lines say how to get a baseline)."""
    verdict = report.regression
    if verdict is None or verdict.verdict not in _JUDGED:
        return []
    lines = ["", "### What next", ""]
    lines.append(f"- Reproduce it locally: {code(reproduce(report))}")
    lines += _bisect(report)
    trailer = accept_trailer(report, verdict)
    if trailer is not None:
        lines.append(
            f"- Intended? Add this trailer to a commit message of this branch (an empty "
            f"commit will do): {code(trailer)}; the runs after it accept up to that slowdown"
        )
    return lines


def _base_commit(report: Report, verdict: Verdict) -> str | None:
    if report.against is not None:
        return report.against.commit
    if verdict.confirmation is not None:
        return verdict.confirmation.commit
    return verdict.baseline.commit


def reproduce(report: Report) -> str:
    """The ``ft-bench run`` that measures this run's target the same way, against its base."""
    words = ["ft-bench", "run", *_target(report), *_sampling(report)]
    verdict = report.regression
    base = _base_commit(report, verdict) if verdict is not None else None
    if base:
        words += ["--against", base[:12]]
    return shlex.join(words)


def _target(report: Report) -> list[str]:
    """``--cmd CMD [--shell]`` or ``--tier TIER``: what this run measured."""
    target = report.target
    if target.kind == "cmd" and target.steps:
        step = target.steps[0]
        cmd = step.cmd if isinstance(step.cmd, str) else shlex.join(step.cmd)
        return ["--cmd", cmd, *(["--shell"] if step.shell else [])]
    return ["--tier", report.tier]


def _sampling(report: Report) -> list[str]:
    settings = report.settings
    words: list[str] = []
    counts = _MODE_COUNTS.get(report.mode)
    if counts is not None and report.mode != "normal":
        words += ["--mode", report.mode]
    if counts != (settings.cold_runs, settings.warm_runs, settings.warmup):
        words += ["--cold-runs", str(settings.cold_runs), "--runs", str(settings.warm_runs)]
        words += ["--warmup", str(settings.warmup)]
    words += ["--skip-cold"] if settings.skip_cold else []
    words += ["--skip-warm"] if settings.skip_warm else []
    return words


def _bisect(report: Report) -> list[str]:
    """A regression whose base is a known commit and that was not bisected yet: the
    ``ft-bench bisect`` command that finds the commit it came with (worth it when the range
    holds several commits; one commit is its own answer)."""
    verdict = report.regression
    if verdict is None or verdict.verdict != "regression" or verdict.bisect is not None:
        return []
    base, head = _base_commit(report, verdict), report.git.commit
    if not base or not head or base == head:
        return []
    words = ["ft-bench", "bisect", base[:12], head[:12], *_target(report), *_sampling(report)]
    return [
        f"- Which commit? When {code(base[:12] + '..' + head[:12])} holds several commits: "
        f"{code(shlex.join(words))} (or `--bisect` on the A/B run)"
    ]


def accept_trailer(report: Report, verdict: Verdict) -> str | None:
    """``Ftbench-Accept: TIER [PHASE] +PCT%: why`` for the slowdowns found, the change
    rounded up to 5%; None when nothing got slower."""
    if verdict.verdict not in ("regression", "inconclusive"):
        return None
    phases = verdict.confirmation.phases if verdict.confirmation else verdict.phases
    slower = {  # a regression, or an undecided slowdown beyond the threshold
        name: p.pct_change
        for name, p in phases.items()
        if p.pct_change is not None
        and p.pct_change > 0
        and (
            p.verdict == "regression"
            or (p.verdict == "inconclusive" and p.pct_change > verdict.threshold_pct)
        )
    }
    if not slower:
        return None
    pct = max(5, 5 * math.ceil(max(slower.values()) / 5))
    tier = report.tier if _TRAILER_TIER.fullmatch(report.tier) else "*"
    phase = f" {next(iter(slower))}" if len(slower) == 1 else ""
    return f"Ftbench-Accept: {tier}{phase} +{pct}%: why it is slower"
