"""The verdict's part of the Markdown: the headline, the judge's lines, the judged phases
(the archive's, and the A/B run that decided them), every metric's own verdict.

Every name a pull request controls goes through ``report/escape.py`` where it is inserted.
"""

from __future__ import annotations

from collections.abc import Mapping

from ftbench.report import bisect_view
from ftbench.report.escape import markdown_code as code
from ftbench.report.escape import markdown_text as md
from ftbench.report.formats import fmt_change, fmt_ci, fmt_pct, p_text, table, value
from ftbench.report.model import (
    Confirmation,
    MetricVerdict,
    Phase,
    PhaseVerdict,
    Report,
    Verdict,
)

#: heading words per verdict (the Markdown's first line)
HEADLINES = {
    "regression": "🔴 Regression",
    "improvement": "🟢 Faster",
    "no change": "✅ No change",
    "inconclusive": "⚠️ Inconclusive",
    "accepted": "🟡 Accepted slowdown",
    "not comparable": "⚠️ Not comparable: not judged",
    "no baseline": "⚠️ No baseline: nothing was gated",
}
#: the status cell of a judged phase
STATUS = {
    "regression": "🔴 regression",
    "improvement": "🟢 faster",
    "no change": "✅ no change",
    "inconclusive": "⚠️ inconclusive",
    "accepted": "🟡 accepted",
    "not comparable": "⚠️ not comparable",
    "no baseline": "⚠️ no baseline",
}
#: how to get a baseline in CI (also printed on the terminal, ``report/text.py``)
NO_BASELINE_FIX = (
    "keep `.firsttry/archive/` between CI runs (actions/cache, GitLab `cache:`), upload "
    "reports to S3 (`--upload-s3` with the `S3_*` variables), or measure the base side in "
    "the same job with `--against REF`"
)


def headline(report: Report) -> str:
    """The verdict in a few words: what the first line of the Markdown and the terminal say."""
    verdict = report.regression
    if not report.succeeded or (report.error and verdict is None):
        return "❌ Failed" + (": not judged" if verdict is None else "")
    if verdict is None:
        return "⚪ Not judged"
    words = HEADLINES.get(verdict.verdict, verdict.verdict)
    if verdict.verdict == "inconclusive":
        return words + _largest_suspected(verdict)
    return words


def _largest_suspected(verdict: Verdict) -> str:
    """``: warm +14% wall (not significant)``: the largest undecided change of a gated
    metric, and why it was not decided; the A/B's when one decided."""
    phases = verdict.confirmation.phases if verdict.confirmation else verdict.phases
    found = []
    for name, p in phases.items():
        # reports of 0.2 and older: the phase's own figures, one metric
        figures: Mapping[str, MetricVerdict | PhaseVerdict] = p.metrics or {p.metric: p}
        for metric in p.gates or (p.metric,):
            m = figures.get(metric)
            if m is not None and m.verdict == "inconclusive" and m.pct_change is not None:
                found.append(
                    (abs(m.pct_change), f"{name} {fmt_pct(m.pct_change)} {metric}", m.reason)
                )
    if not found:
        return ""
    _, what, why = max(found)
    return f": {what}" + (f" ({why})" if why else "")


def verdict_lines(report: Report, verdict: Verdict | None) -> list[str]:
    if verdict is None:
        why = "the run stopped before the judge" if report.error else "judge not run"
        return [f"**Verdict:** not judged ({why})."]
    out = [f"**Verdict:** {md(verdict.summary or verdict.verdict)}"]
    facts = [f"regression threshold {verdict.threshold_pct:g}%"]
    if verdict.threshold_source:
        facts[0] += f" ({md(verdict.threshold_source)})"
    facts.append(f"α {verdict.alpha:g}")
    facts.append(f"fails on: {md(verdict.fail_on)}")
    if verdict.exit_code:
        facts.append(f"**exit {verdict.exit_code}**")
    if report.against is not None:
        a = report.against
        ref = a.ref if a.ref != a.commit else a.commit[:12]
        facts.insert(
            0, f"base: {code(ref)} at {code(a.commit[:12])} measured in this job ({md(a.order)})"
        )
    out += ["", " · ".join(facts)]
    if verdict.verdict == "no baseline" and report.environment.ci:
        out += ["", f"> ⚠️ Nothing was gated in CI. To get a baseline, {NO_BASELINE_FIX}."]
    if verdict.notes:
        out += ["", *(f"- {md(note)}" for note in verdict.notes)]
    if verdict.bisect is not None:  # --bisect (report/bisect_view.py)
        out += ["", *bisect_view.verdict_lines(verdict.bisect)]
    return out


def confirmation_lines(report: Report, c: Confirmation) -> list[str]:
    """The A/B run that decided what the archive judge suspected."""
    stopped = ", ".join(f"{name} {why}" for name, why in c.stopped.items())
    out = [
        f"**Decided by an A/B run** against {code(c.commit[:12])} ({md(c.how)}), both trees "
        f"measured interleaved in this job because the archive judge suspected "
        f"{md(c.suspicion)}: {STATUS.get(c.verdict, c.verdict)} ({c.elapsed_s:.0f} s; "
        f"{md(stopped)}).",
    ]
    if c.phases:
        out += ["", *judged_table(report, c.phases)]
    return out


def judged_table(report: Report, phases: Mapping[str, PhaseVerdict]) -> list[str]:
    rows = []
    for name, p in phases.items():
        rows.append(
            [
                md(name),
                _phase_status(report.runs.get(name), p),
                md(p.metric),
                _side(p.baseline.median, p.baseline.n, p.metric),
                _side(p.current.median, p.current.n, p.metric),
                f"**{fmt_change(p.pct_change, p.raw_pct_change)}**"
                if p.pct_change is not None
                else "–",
                fmt_ci(p.ci95_pct, "pct"),
                p_text(p.p_value),
                f"±{p.noise_floor_pct:.1f}%" if p.noise_floor_pct is not None else "–",
            ]
        )
    return table(
        [
            "phase",
            "status",
            "metric",
            "base",
            "current",
            "change",
            "95% CI of change",
            "p",
            "noise floor",
        ],
        rows,
    )


def _side(median: float | None, n: int, metric: str) -> str:
    if median is None:
        return f"– (n={n})"
    return f"{value(median, metric.startswith('rss'))} (n={n})"


def _phase_status(phase: Phase | None, p: PhaseVerdict) -> str:
    if phase is not None and not phase.ok:
        return f"❌ exit {phase.exit_code}"
    return STATUS.get(p.verdict) or md(p.verdict)


def metric_details(verdict: Verdict | None) -> list[str]:
    """Every metric's own verdict (reports that judged several metrics)."""
    rows = []
    for name, p in (verdict.phases if verdict is not None else {}).items():
        for metric, m in (p.metrics or {}).items():
            rss = metric.startswith("rss")
            rows.append(
                [
                    f"{md(name)} {md(metric)}"
                    + (" (gates)" if metric in (p.gates or (p.metric,)) else ""),
                    STATUS.get(m.verdict) or md(m.verdict),
                    value(m.baseline_median, rss),
                    value(m.current_median, rss),
                    fmt_change(m.pct_change, m.raw_pct_change),
                    fmt_ci(m.ci95_pct, "pct"),
                    p_text(m.p_value),
                    f"±{m.noise_floor_pct:.1f}%" if m.noise_floor_pct is not None else "–",
                    md(m.reason),
                ]
            )
    if not rows:
        return []
    header = ["phase metric", "verdict", "base", "current", "change", "95% CI", "p"]
    return [
        "",
        "<details><summary>Every metric</summary>",
        "",
        *table([*header, "noise floor", "note"], rows),
        "",
        "</details>",
    ]
